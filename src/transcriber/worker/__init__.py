"""The worker: takes tasks from the store, transcribes them, reports progress.

``loop`` is the worker itself, ``audio`` and ``fetch`` give it a task's audio (the upload folder, or
the API over HTTP for a worker on another machine), ``phrases`` reads the engine's phrases in a thread of
their own, ``heartbeat`` keeps a running task's heartbeat fresh, ``progress`` computes progress and ETA,
``outage`` waits out a database that cannot be reached, ``wakeup`` is how an idle worker waits (LISTEN
on PostgreSQL), ``sweep`` takes back the tasks of silent workers and forgets long-silent ones, and
``supervisor`` runs the worker as a child process of ``transcriber serve``.
"""

from transcriber.worker.loop import Worker, new_worker_id
from transcriber.worker.progress import ProgressEstimator, ProgressReading

__all__ = ["ProgressEstimator", "ProgressReading", "Worker", "new_worker_id"]
