"""The rows of the service benchmark (``bench/service.py``), each against a baseline from the same run:

- ``latency``: status latency at a fixed request rate while a task is transcribing vs the worker idle;
- ``upload``:  a large WAV through ``upload_raw`` and multipart ``upload`` vs a plain disk copy, and the
  server's peak RSS growth while receiving it;
- ``tasks``:   list and create latency with many tasks in the database vs an empty database;
- ``eta``:     ``eta_seconds`` at 25/50/75 % progress vs the time the task really still took;
- ``cold``:    launch to ready and to the first phrase vs importing faster-whisper and loading the model.
"""

from __future__ import annotations

from collections.abc import Callable

from ..report import Row
from .cold import cold_row
from .context import Context, Options
from .eta import eta_row
from .latency import latency_row
from .tasks import tasks_row
from .upload import upload_row

ROWS: dict[str, Callable[[Context], Row]] = {
    "latency": latency_row,
    "upload": upload_row,
    "tasks": tasks_row,
    "eta": eta_row,
    "cold": cold_row,
}

__all__ = ["ROWS", "Context", "Options"]
