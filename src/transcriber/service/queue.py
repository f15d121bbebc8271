"""The queue: its limit on waiting tasks, its load, and how long a waiting task will take."""

from __future__ import annotations

from datetime import timedelta

from transcriber.config import LimitSettings, WorkerSettings
from transcriber.domain import TaskStatus
from transcriber.errors import QueueFull
from transcriber.estimates import pending_eta
from transcriber.store import QueueLoad, SqlTaskStore, TaskRecord

RETRY_AFTER_SECONDS = 60
"""What a client refused because the queue is full is told to wait."""


def admit(*, store: SqlTaskStore, limits: LimitSettings) -> None:
    """Refuse new work (:class:`QueueFull`, with Retry-After) while the queue is at its limit."""
    limit = limits.max_pending_tasks
    pending = store.count_by_status()[TaskStatus.PENDING]
    if pending >= limit:
        raise QueueFull(
            f"the queue is full ({pending} tasks waiting, limit {limit}); try again later",
            retry_after=RETRY_AFTER_SECONDS,
        )


def queue_load(*, store: SqlTaskStore, worker_settings: WorkerSettings) -> QueueLoad:
    """What the estimates need: the audio running tasks have left, the live workers and their speed."""
    return store.queue_load(stale_after=timedelta(seconds=worker_settings.stale_after_seconds))


def eta_seconds(
    task: TaskRecord,
    *,
    store: SqlTaskStore,
    worker_settings: WorkerSettings,
    load: QueueLoad | None = None,
) -> float | None:
    """A pending task's ETA from the queue's load (``load``, else read now); a running task's is the
    one its worker measures."""
    if task.status != TaskStatus.PENDING:
        return task.eta_seconds
    return pending_eta(task, load or queue_load(store=store, worker_settings=worker_settings))
