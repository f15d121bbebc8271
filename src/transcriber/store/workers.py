"""Worker processes' records: state, loaded model, heartbeat."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict, Unpack

from sqlalchemy import delete, insert, select, update

from transcriber import schema as t
from transcriber.clock import utcnow
from transcriber.domain import WorkerState
from transcriber.store.base import StoreBase
from transcriber.store.records import WorkerRecord, worker_record


class WorkerFields(TypedDict, total=False):
    """What a worker may change about its record besides its state."""

    model: str | None
    device: str | None
    compute_type: str | None
    error: str | None
    current_task_id: str | None


class WorkerStore(StoreBase):
    def register_worker(self, worker_id: str, *, pid: int, host: str) -> None:
        now = utcnow()
        with self._write() as conn:
            conn.execute(delete(t.workers).where(t.workers.c.id == worker_id))
            conn.execute(
                insert(t.workers).values(
                    id=worker_id,
                    pid=pid,
                    host=host,
                    state=WorkerState.STARTING,
                    started_at=now,
                    heartbeat_at=now,
                )
            )

    def update_worker(
        self, worker_id: str, *, state: WorkerState | None = None, **fields: Unpack[WorkerFields]
    ) -> bool:
        """Change the worker's record; every update renews its heartbeat, one with nothing else only
        that. False: there is no such record (it was forgotten, see :meth:`forget_silent_workers`)."""
        values: dict[str, object] = {**fields, "heartbeat_at": utcnow()}
        if state is not None:
            values["state"] = state
        with self._write() as conn:
            done = conn.execute(
                update(t.workers)
                .where(t.workers.c.id == worker_id)
                .values(**values)
                .returning(t.workers.c.id)
            ).first()
        return done is not None

    def remove_worker(self, worker_id: str) -> None:
        with self._write() as conn:
            conn.execute(delete(t.workers).where(t.workers.c.id == worker_id))

    def forget_silent_workers(self, *, silent_for: timedelta) -> list[str]:
        """Delete the records of workers without a heartbeat for ``silent_for``; returns their ids."""
        with self._write() as conn:
            gone = conn.execute(
                delete(t.workers)
                .where(t.workers.c.heartbeat_at < utcnow() - silent_for)
                .returning(t.workers.c.id)
            )
            return list(gone.scalars().all())

    def list_workers(self) -> list[WorkerRecord]:
        with self._read() as conn:
            rows = conn.execute(select(t.workers).order_by(t.workers.c.started_at)).mappings()
            return [worker_record(r) for r in rows]
