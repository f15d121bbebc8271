"""What every part of the store shares: its engine, read and write transactions, and the task query."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, select

from transcriber import schema as t
from transcriber.db import WRITE
from transcriber.domain import FINISHED_STATUSES, TaskStatus

TASK_COLUMNS = [
    *t.tasks.c,
    t.uploads.c.original_name.label("source_name"),
    t.uploads.c.duration.label("upload_duration"),
]
WITH_UPLOAD = t.tasks.join(t.uploads, t.tasks.c.upload_id == t.uploads.c.id)
PENDING = t.tasks.c.status == TaskStatus.PENDING.value
RECENT_TASKS_FOR_SPEED = 20
ACTIVE = (TaskStatus.PENDING.value, TaskStatus.IN_PROGRESS.value)
FINISHED = tuple(s.value for s in FINISHED_STATUSES)

BACK_TO_PENDING: dict[str, Any] = {
    "status": TaskStatus.PENDING.value,
    "worker_id": None,
    "worker_host": None,
    "progress": 0.0,
    "progress_estimated": False,
    "eta_seconds": None,
    "heartbeat_at": None,
}
"""What a task taken back from its worker is reset to (its phrases are deleted beside)."""


class StoreBase:
    """The engine and its transactions; every aggregate of the store builds on these."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @staticmethod
    def _task_query() -> Any:
        return select(*TASK_COLUMNS).select_from(WITH_UPLOAD)
