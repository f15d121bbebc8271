"""Task state changes: each is one atomic ``UPDATE ... WHERE status IN (...) RETURNING``.

Client-driven (cancel, delete) and worker-driven (claim, progress, complete, fail, release, requeue)
transitions; a worker may change a task only while it owns it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from transcriber import schema as t
from transcriber.clock import utcnow
from transcriber.domain import Phrase, Speaker, TaskStatus
from transcriber.errors import Conflict, NotFound
from transcriber.speakers import renamed
from transcriber.speakers import to_json as speakers_json
from transcriber.store.base import ACTIVE, BACK_TO_PENDING, FINISHED
from transcriber.store.claims import ClaimPreferences, eligible, order
from transcriber.store.outbox import announce
from transcriber.store.queries import TaskQueries
from transcriber.store.records import TaskRecord, words_json
from transcriber.store.wakeups import Wake, wake_workers

MAX_ATTEMPTS = 3


class TaskTransitions(TaskQueries):
    def cancel_task(self, task_id: str) -> TaskRecord:
        """Cancel a pending or running task. Cancelling a cancelled task is a no-op."""
        with self._write() as conn:
            row = conn.execute(
                update(t.tasks)
                .where(t.tasks.c.id == task_id, t.tasks.c.status.in_(ACTIVE))
                .values(status=TaskStatus.CANCELLED.value, finished_at=utcnow(), eta_seconds=None)
                .returning(t.tasks.c.id)
            ).first()
            if row is not None:
                announce(conn, [row.id])
            else:
                status = conn.execute(select(t.tasks.c.status).where(t.tasks.c.id == task_id)).scalar()
                if status is None:
                    raise NotFound(f"task {task_id} not found")
                if status != TaskStatus.CANCELLED.value:
                    raise Conflict(f"task {task_id} is already {status} and cannot be cancelled")
        task = self.get_task(task_id)
        assert task is not None
        return task

    def cancel_pending(self) -> int:
        """Cancel every pending task (history is kept). Returns how many were cancelled."""
        with self._write() as conn:
            result = conn.execute(
                update(t.tasks)
                .where(t.tasks.c.status == TaskStatus.PENDING.value)
                .values(status=TaskStatus.CANCELLED.value, finished_at=utcnow())
                .returning(t.tasks.c.id)
            )
            cancelled = result.scalars().all()
            announce(conn, cancelled)
            return len(cancelled)

    def delete_task(self, task_id: str) -> None:
        """Delete a finished task and its phrases; a pending or running one must be cancelled first."""
        with self._write() as conn:
            status = conn.execute(select(t.tasks.c.status).where(t.tasks.c.id == task_id)).scalar()
            if status is None:
                raise NotFound(f"task {task_id} not found")
            if status not in FINISHED:
                raise Conflict(f"task {task_id} is {status}; cancel it before deleting")
            conn.execute(delete(t.phrases).where(t.phrases.c.task_id == task_id))
            deliveries = select(t.webhook_deliveries.c.id).where(t.webhook_deliveries.c.task_id == task_id)
            conn.execute(delete(t.webhook_attempts).where(t.webhook_attempts.c.delivery_id.in_(deliveries)))
            conn.execute(delete(t.webhook_deliveries).where(t.webhook_deliveries.c.task_id == task_id))
            conn.execute(delete(t.tasks).where(t.tasks.c.id == task_id, t.tasks.c.status.in_(FINISHED)))

    def claim_next(self, worker_id: str, prefs: ClaimPreferences | None = None) -> TaskRecord | None:
        """Atomically take the first pending task for ``worker_id`` (FIFO unless ``prefs`` say otherwise:
        see ``claims``), noting the worker's host from its record (none for an unregistered worker)."""
        prefs = prefs or ClaimPreferences()
        now = utcnow()
        first = (
            select(t.tasks.c.seq)
            .where(eligible(prefs))
            .order_by(*order(prefs, now))
            .limit(1)
            .with_for_update(skip_locked=True, of=t.tasks)
            .scalar_subquery()
        )
        host = select(t.workers.c.host).where(t.workers.c.id == worker_id).scalar_subquery()
        with self._write() as conn:
            row = conn.execute(
                update(t.tasks)
                .where(t.tasks.c.seq == first, t.tasks.c.status == TaskStatus.PENDING.value)
                .values(
                    status=TaskStatus.IN_PROGRESS.value,
                    worker_id=worker_id,
                    worker_host=host,
                    started_at=now,
                    heartbeat_at=now,
                    progress=0.0,
                    eta_seconds=None,
                    attempts=t.tasks.c.attempts + 1,
                )
                .returning(t.tasks.c.id)
            ).first()
            if row is None:
                return None
            conn.execute(delete(t.phrases).where(t.phrases.c.task_id == row.id))
        return self.get_task(row.id)

    def _owned(self, task_id: str, worker_id: str) -> Any:
        return and_(
            t.tasks.c.id == task_id,
            t.tasks.c.worker_id == worker_id,
            t.tasks.c.status == TaskStatus.IN_PROGRESS.value,
        )

    def save_progress(
        self,
        task_id: str,
        worker_id: str,
        *,
        progress: float,
        eta_seconds: float | None,
        first_index: int,
        progress_estimated: bool = False,
        new_phrases: Iterable[Phrase] = (),
        language: str | None = None,
        duration: float | None = None,
        effective: Mapping[str, Any] | None = None,
        speakers: Sequence[Speaker] = (),
    ) -> bool:
        """Record progress and the phrases found since the last call. False: the task is no longer ours
        (cancelled, or taken back), and the worker should stop working on it."""
        values: dict[str, Any] = {
            "progress": max(0.0, min(1.0, progress)),
            "progress_estimated": progress_estimated,
            "eta_seconds": eta_seconds,
            "heartbeat_at": utcnow(),
        }
        if language is not None:
            values["language"] = language
        if duration is not None:
            values["duration"] = duration
        if effective is not None:
            values["effective"] = json.dumps(dict(effective), ensure_ascii=False)
        if speakers:
            values["speakers"] = speakers_json(speakers)
        return self._update_owned(task_id, worker_id, values, first_index, new_phrases)

    def _update_owned(
        self,
        task_id: str,
        worker_id: str,
        values: Mapping[str, Any],
        first_index: int,
        new_phrases: Iterable[Phrase],
    ) -> bool:
        """Update a task only while ``worker_id`` runs it, and append its new phrases, atomically."""
        with self._write() as conn:
            done = conn.execute(
                update(t.tasks)
                .where(self._owned(task_id, worker_id))
                .values(**values)
                .returning(t.tasks.c.id)
            ).first()
            if done is None:
                return False
            self._insert_phrases(conn, task_id, first_index, new_phrases)
            if values.get("status") == TaskStatus.COMPLETED.value:
                announce(conn, [task_id])
        return True

    @staticmethod
    def _insert_phrases(conn: Connection, task_id: str, first_index: int, items: Iterable[Phrase]) -> None:
        rows = [
            {
                "task_id": task_id,
                "idx": first_index + i,
                "start": p.start,
                "end": p.end,
                "text": p.text,
                "words": words_json(p.words),
                "language": p.language,
                "speaker": p.speaker,
            }
            for i, p in enumerate(items)
        ]
        if rows:
            conn.execute(insert(t.phrases), rows)

    def complete_task(
        self,
        task_id: str,
        worker_id: str,
        *,
        first_index: int,
        new_phrases: Iterable[Phrase] = (),
        language: str | None,
        duration: float | None,
        undecoded_seconds: float | None = None,
        redecoded_windows: int = 0,
        dropped_phrases: int = 0,
        speakers: Sequence[Speaker] = (),
    ) -> bool:
        now = utcnow()
        values: dict[str, Any] = {
            "status": TaskStatus.COMPLETED.value,
            "progress": 1.0,
            "progress_estimated": False,
            "eta_seconds": 0.0,
            "language": language,
            "duration": duration,
            "undecoded_seconds": undecoded_seconds or None,
            "redecoded_windows": redecoded_windows or None,
            "dropped_phrases": dropped_phrases or None,
            "finished_at": now,
            "heartbeat_at": now,
        }
        if speakers:
            values["speakers"] = speakers_json(speakers)
        return self._update_owned(task_id, worker_id, values, first_index, new_phrases)

    def rename_speakers(self, task_id: str, changes: Mapping[str, str | None]) -> TaskRecord:
        """Give a task's speakers the names ``changes`` says (by id; None: the default name back).
        A compare-and-set on the stored list: a rename that lands in between is not overwritten, the
        caller is told to try again (409)."""
        task = self.get_task(task_id)
        if task is None:
            raise NotFound(f"task {task_id} not found")
        stored = speakers_json(task.speakers)
        names = speakers_json(renamed(task.speakers, changes))
        with self._write() as conn:
            done = conn.execute(
                update(t.tasks)
                .where(t.tasks.c.id == task_id, t.tasks.c.speakers == stored)
                .values(speakers=names)
                .returning(t.tasks.c.id)
            ).first()
        if done is None:
            raise Conflict("the task's speakers changed meanwhile; read the task again and retry")
        updated = self.get_task(task_id)
        assert updated is not None
        return updated

    def fail_task(self, task_id: str, worker_id: str | None, error: str) -> bool:
        condition = (
            self._owned(task_id, worker_id)
            if worker_id
            else and_(t.tasks.c.id == task_id, t.tasks.c.status.in_(ACTIVE))
        )
        with self._write() as conn:
            done = conn.execute(
                update(t.tasks)
                .where(condition)
                .values(status=TaskStatus.FAILED.value, error=error, finished_at=utcnow(), eta_seconds=None)
                .returning(t.tasks.c.id)
            ).first()
            if done is not None:
                announce(conn, [task_id])
        return done is not None

    def release_task(self, task_id: str, worker_id: str) -> bool:
        """Give a running task back to the head of the queue because its worker is shutting down
        in an orderly way; unlike a crash, this does not count as an attempt."""
        with self._write() as conn:
            done = conn.execute(
                update(t.tasks)
                .where(self._owned(task_id, worker_id))
                .values(
                    **BACK_TO_PENDING,
                    attempts=func.max(t.tasks.c.attempts - 1, 0)
                    if conn.dialect.name == "sqlite"
                    else func.greatest(t.tasks.c.attempts - 1, 0),
                )
                .returning(t.tasks.c.id)
            ).first()
            if done is not None:
                conn.execute(delete(t.phrases).where(t.phrases.c.task_id == task_id))
                wake_workers(conn, Wake.TASK)
        return done is not None

    def heartbeat_task(self, task_id: str, worker_id: str) -> bool:
        with self._write() as conn:
            done = conn.execute(
                update(t.tasks)
                .where(self._owned(task_id, worker_id))
                .values(heartbeat_at=utcnow())
                .returning(t.tasks.c.id)
            ).first()
        return done is not None

    def requeue_abandoned(
        self, *, worker_id: str | None = None, stale_after: timedelta | None = None
    ) -> list[str]:
        """Give back tasks left IN_PROGRESS by a worker that died: those of ``worker_id``, or those
        whose heartbeat is older than ``stale_after``. A task that has already been tried
        ``MAX_ATTEMPTS`` times fails instead of looping forever. Returns the ids handled."""
        conditions = [t.tasks.c.status == TaskStatus.IN_PROGRESS.value]
        if worker_id is not None:
            conditions.append(t.tasks.c.worker_id == worker_id)
        if stale_after is not None:
            conditions.append(t.tasks.c.heartbeat_at < utcnow() - stale_after)
        if worker_id is None and stale_after is None:
            raise ValueError("name a worker or a staleness limit")
        message = (
            f"The worker process stopped {MAX_ATTEMPTS} times while transcribing this file "
            "(a crash or running out of memory). Check the file, or try a smaller model."
        )
        with self._write() as conn:
            failed = (
                conn.execute(
                    update(t.tasks)
                    .where(*conditions, t.tasks.c.attempts >= MAX_ATTEMPTS)
                    .values(
                        status=TaskStatus.FAILED.value, error=message, finished_at=utcnow(), eta_seconds=None
                    )
                    .returning(t.tasks.c.id)
                )
                .scalars()
                .all()
            )
            requeued = (
                conn.execute(
                    update(t.tasks).where(*conditions).values(**BACK_TO_PENDING).returning(t.tasks.c.id)
                )
                .scalars()
                .all()
            )
            announce(conn, failed)
            handled = [*failed, *requeued]
            if requeued:
                conn.execute(delete(t.phrases).where(t.phrases.c.task_id.in_(requeued)))
                wake_workers(conn, Wake.TASK)
        return handled
