"""The persistent task store: uploads, tasks, phrases, settings and workers on SQLAlchemy Core.

Every task state change is one atomic ``UPDATE ... WHERE status IN (...) RETURNING`` statement, so the
API and any number of worker processes can share the database without read-modify-write races.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, and_, delete, func, insert, select, update

from transcriber import schema as t
from transcriber.db import WRITE
from transcriber.domain import FINISHED_STATUSES, Phrase, TaskStatus
from transcriber.errors import Conflict, NotFound

MODEL_GENERATION_KEY = "_model_generation"
MAX_ATTEMPTS = 3


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class UploadRecord:
    id: str
    original_name: str
    stored_name: str
    size: int
    duration: float | None
    format: str | None
    sha256: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TaskRecord:
    id: str
    seq: int
    upload_id: str
    status: TaskStatus
    options: dict[str, Any]
    effective: dict[str, Any] | None
    progress: float
    eta_seconds: float | None
    error: str | None
    language: str | None
    duration: float | None
    attempts: int
    worker_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    undecoded_seconds: float | None = None
    """Seconds of audio that could not be decoded (a damaged recording); None: nothing was lost."""
    source_name: str | None = None
    upload_duration: float | None = None
    queue_position: int | None = None
    audio_ahead: float | None = None
    """Seconds of audio in the pending tasks ahead of this one (pending tasks only)."""


@dataclass(frozen=True, slots=True)
class QueueLoad:
    """What a pending task's ETA is estimated from."""

    speed: float | None
    """Audio seconds transcribed per wall second, over recent completed tasks; None without history."""
    running_audio_left: float
    """Seconds of audio still to transcribe in running tasks."""
    workers: int
    """Workers that take tasks (at least 1)."""


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    id: str
    pid: int | None
    host: str | None
    state: str
    model: str | None
    device: str | None
    compute_type: str | None
    error: str | None
    current_task_id: str | None
    started_at: datetime
    heartbeat_at: datetime


def _upload(row: RowMapping) -> UploadRecord:
    return UploadRecord(**{f: row[f] for f in UploadRecord.__dataclass_fields__})


def _task(row: RowMapping, queue: tuple[int, float] | None = None) -> TaskRecord:
    values = {f: row[f] for f in TaskRecord.__dataclass_fields__ if f in row}
    values["status"] = TaskStatus(row["status"])
    values["options"] = json.loads(row["options"] or "{}")
    values["effective"] = json.loads(row["effective"]) if row["effective"] else None
    if queue is not None:
        values["queue_position"], values["audio_ahead"] = queue
    return TaskRecord(**values)


def _worker(row: RowMapping) -> WorkerRecord:
    return WorkerRecord(**{f: row[f] for f in WorkerRecord.__dataclass_fields__})


_TASK_COLUMNS = [
    *t.tasks.c,
    t.uploads.c.original_name.label("source_name"),
    t.uploads.c.duration.label("upload_duration"),
]
_WITH_UPLOAD = t.tasks.join(t.uploads, t.tasks.c.upload_id == t.uploads.c.id)
_PENDING = t.tasks.c.status == TaskStatus.PENDING.value
RECENT_TASKS_FOR_SPEED = 20
_ACTIVE = (TaskStatus.PENDING.value, TaskStatus.IN_PROGRESS.value)
_FINISHED = tuple(s.value for s in FINISHED_STATUSES)


class SqlTaskStore:
    """All persistent state of the service. Thread-safe; one instance per process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- plumbing -------------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    # -- uploads --------------------------------------------------------------------------------------

    def add_upload(
        self,
        *,
        upload_id: str,
        original_name: str,
        stored_name: str,
        size: int,
        duration: float | None,
        format: str | None,
        sha256: str | None,
    ) -> UploadRecord:
        record = UploadRecord(
            id=upload_id,
            original_name=original_name,
            stored_name=stored_name,
            size=size,
            duration=duration,
            format=format,
            sha256=sha256,
            created_at=utcnow(),
        )
        with self._write() as conn:
            conn.execute(insert(t.uploads).values(**{f: getattr(record, f) for f in record.__slots__}))
        return record

    def get_upload(self, upload_id: str) -> UploadRecord | None:
        with self._read() as conn:
            row = conn.execute(select(t.uploads).where(t.uploads.c.id == upload_id)).mappings().first()
        return _upload(row) if row else None

    def find_upload_by_stored_name(self, stored_name: str) -> UploadRecord | None:
        with self._read() as conn:
            row = (
                conn.execute(select(t.uploads).where(t.uploads.c.stored_name == stored_name))
                .mappings()
                .first()
            )
        return _upload(row) if row else None

    def list_uploads(self, *, limit: int = 1000, offset: int = 0) -> list[UploadRecord]:
        query = (
            select(t.uploads)
            .order_by(t.uploads.c.created_at.desc(), t.uploads.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self._read() as conn:
            return [_upload(r) for r in conn.execute(query).mappings()]

    def delete_upload(self, upload_id: str) -> UploadRecord:
        """Remove an upload's record if no task uses it; the caller removes the file."""
        with self._write() as conn:
            row = conn.execute(select(t.uploads).where(t.uploads.c.id == upload_id)).mappings().first()
            if row is None:
                raise NotFound(f"upload {upload_id} not found")
            used = conn.execute(
                select(func.count()).select_from(t.tasks).where(t.tasks.c.upload_id == upload_id)
            ).scalar_one()
            if used:
                raise Conflict(f"upload {upload_id} is used by {used} task(s); delete those tasks first")
            conn.execute(delete(t.uploads).where(t.uploads.c.id == upload_id))
        return _upload(row)

    # -- tasks: creation and queries ------------------------------------------------------------------

    def create_task(self, *, upload_id: str, options: Mapping[str, Any]) -> TaskRecord:
        task_id = str(uuid.uuid4())
        with self._write() as conn:
            conn.execute(
                insert(t.tasks).values(
                    id=task_id,
                    upload_id=upload_id,
                    status=TaskStatus.PENDING.value,
                    options=json.dumps(dict(options), ensure_ascii=False),
                    progress=0.0,
                    attempts=0,
                    created_at=utcnow(),
                )
            )
        task = self.get_task(task_id)
        assert task is not None
        return task

    def _task_query(self) -> Any:
        return select(*_TASK_COLUMNS).select_from(_WITH_UPLOAD)

    @staticmethod
    def _queue_places(conn: Connection, seqs: Sequence[int]) -> dict[int, tuple[int, float]]:
        """For pending tasks ``seqs``: their 0-based queue position and the audio seconds ahead."""
        if not seqs:
            return {}
        first, last = min(seqs), max(seqs)
        count, audio = conn.execute(
            select(func.count(), func.coalesce(func.sum(t.uploads.c.duration), 0.0))
            .select_from(_WITH_UPLOAD)
            .where(_PENDING, t.tasks.c.seq < first)
        ).one()
        places: dict[int, tuple[int, float]] = {}
        rows = conn.execute(
            select(t.tasks.c.seq, t.uploads.c.duration)
            .select_from(_WITH_UPLOAD)
            .where(_PENDING, t.tasks.c.seq >= first, t.tasks.c.seq <= last)
            .order_by(t.tasks.c.seq)
        )
        for seq, duration in rows:
            places[seq] = (count, float(audio))
            count += 1
            audio += duration or 0.0
        return places

    def get_task(self, task_id: str) -> TaskRecord | None:
        with self._read() as conn:
            row = conn.execute(self._task_query().where(t.tasks.c.id == task_id)).mappings().first()
            if row is None:
                return None
            pending = row["status"] == TaskStatus.PENDING.value
            places = self._queue_places(conn, [row["seq"]] if pending else [])
        return _task(row, places.get(row["seq"]))

    def list_tasks(
        self, *, statuses: Sequence[TaskStatus] | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[TaskRecord], int]:
        """A page of tasks, newest first, with queue positions for pending ones; and the total count."""
        where = t.tasks.c.status.in_([s.value for s in statuses]) if statuses else and_(True)
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(t.tasks).where(where)).scalar_one()
            rows = list(
                conn.execute(
                    self._task_query().where(where).order_by(t.tasks.c.seq.desc()).limit(limit).offset(offset)
                ).mappings()
            )
            pending_seqs = [r["seq"] for r in rows if r["status"] == TaskStatus.PENDING.value]
            places = self._queue_places(conn, pending_seqs)
        return [_task(r, places.get(r["seq"])) for r in rows], total

    def queue_load(self, *, stale_after: timedelta) -> QueueLoad:
        """The measured speed of recent tasks, the audio left in running ones, and the live workers."""
        with self._read() as conn:
            recent = conn.execute(
                select(t.tasks.c.duration, t.tasks.c.started_at, t.tasks.c.finished_at)
                .where(
                    t.tasks.c.status == TaskStatus.COMPLETED.value,
                    t.tasks.c.duration > 0,
                    t.tasks.c.started_at.is_not(None),
                )
                .order_by(t.tasks.c.finished_at.desc())
                .limit(RECENT_TASKS_FOR_SPEED)
            ).all()
            running = conn.execute(
                select(func.coalesce(t.tasks.c.duration, t.uploads.c.duration), t.tasks.c.progress)
                .select_from(_WITH_UPLOAD)
                .where(t.tasks.c.status == TaskStatus.IN_PROGRESS.value)
            ).all()
            beats = conn.execute(select(t.workers.c.heartbeat_at, t.workers.c.state)).all()
        audio = sum(d for d, _s, _f in recent)
        wall = sum((f - s).total_seconds() for _d, s, f in recent if f is not None and s is not None)
        fresh = utcnow() - stale_after
        workers = sum(1 for beat, state in beats if beat >= fresh and state in ("idle", "busy", "loading"))
        return QueueLoad(
            speed=audio / wall if audio > 0 and wall > 0 else None,
            running_audio_left=sum((d or 0.0) * (1.0 - (p or 0.0)) for d, p in running),
            workers=max(1, workers),
        )

    def count_by_status(self) -> dict[TaskStatus, int]:
        with self._read() as conn:
            rows = conn.execute(select(t.tasks.c.status, func.count()).group_by(t.tasks.c.status)).all()
        counts = dict.fromkeys(TaskStatus, 0)
        counts.update({TaskStatus(status): n for status, n in rows})
        return counts

    def get_phrases(self, task_id: str) -> list[Phrase]:
        query = (
            select(t.phrases.c.start, t.phrases.c.end, t.phrases.c.text)
            .where(t.phrases.c.task_id == task_id)
            .order_by(t.phrases.c.idx)
        )
        with self._read() as conn:
            return [Phrase(start=r.start, end=r.end, text=r.text) for r in conn.execute(query)]

    # -- tasks: client-driven transitions -------------------------------------------------------------

    def cancel_task(self, task_id: str) -> TaskRecord:
        """Cancel a pending or running task. Cancelling a cancelled task is a no-op."""
        with self._write() as conn:
            row = conn.execute(
                update(t.tasks)
                .where(t.tasks.c.id == task_id, t.tasks.c.status.in_(_ACTIVE))
                .values(status=TaskStatus.CANCELLED.value, finished_at=utcnow(), eta_seconds=None)
                .returning(t.tasks.c.id)
            ).first()
            if row is None:
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
            return len(result.all())

    def delete_task(self, task_id: str) -> None:
        """Delete a finished task and its phrases; a pending or running one must be cancelled first."""
        with self._write() as conn:
            status = conn.execute(select(t.tasks.c.status).where(t.tasks.c.id == task_id)).scalar()
            if status is None:
                raise NotFound(f"task {task_id} not found")
            if status not in _FINISHED:
                raise Conflict(f"task {task_id} is {status}; cancel it before deleting")
            conn.execute(delete(t.phrases).where(t.phrases.c.task_id == task_id))
            conn.execute(delete(t.tasks).where(t.tasks.c.id == task_id, t.tasks.c.status.in_(_FINISHED)))

    # -- tasks: worker-driven transitions -------------------------------------------------------------

    def claim_next(self, worker_id: str) -> TaskRecord | None:
        """Atomically take the oldest pending task for ``worker_id`` (FIFO)."""
        oldest = (
            select(t.tasks.c.seq)
            .where(t.tasks.c.status == TaskStatus.PENDING.value)
            .order_by(t.tasks.c.seq)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        now = utcnow()
        with self._write() as conn:
            row = conn.execute(
                update(t.tasks)
                .where(t.tasks.c.seq == oldest, t.tasks.c.status == TaskStatus.PENDING.value)
                .values(
                    status=TaskStatus.IN_PROGRESS.value,
                    worker_id=worker_id,
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
        new_phrases: Iterable[Phrase] = (),
        language: str | None = None,
        duration: float | None = None,
        effective: Mapping[str, Any] | None = None,
    ) -> bool:
        """Record progress and the phrases found since the last call. False: the task is no longer ours
        (cancelled, or taken back), and the worker should stop working on it."""
        values: dict[str, Any] = {
            "progress": max(0.0, min(1.0, progress)),
            "eta_seconds": eta_seconds,
            "heartbeat_at": utcnow(),
        }
        if language is not None:
            values["language"] = language
        if duration is not None:
            values["duration"] = duration
        if effective is not None:
            values["effective"] = json.dumps(dict(effective), ensure_ascii=False)
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
        return True

    @staticmethod
    def _insert_phrases(conn: Connection, task_id: str, first_index: int, items: Iterable[Phrase]) -> None:
        rows = [
            {"task_id": task_id, "idx": first_index + i, "start": p.start, "end": p.end, "text": p.text}
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
    ) -> bool:
        now = utcnow()
        values = {
            "status": TaskStatus.COMPLETED.value,
            "progress": 1.0,
            "eta_seconds": 0.0,
            "language": language,
            "duration": duration,
            "undecoded_seconds": undecoded_seconds or None,
            "finished_at": now,
            "heartbeat_at": now,
        }
        return self._update_owned(task_id, worker_id, values, first_index, new_phrases)

    def fail_task(self, task_id: str, worker_id: str | None, error: str) -> bool:
        condition = (
            self._owned(task_id, worker_id)
            if worker_id
            else and_(t.tasks.c.id == task_id, t.tasks.c.status.in_(_ACTIVE))
        )
        with self._write() as conn:
            done = conn.execute(
                update(t.tasks)
                .where(condition)
                .values(status=TaskStatus.FAILED.value, error=error, finished_at=utcnow(), eta_seconds=None)
                .returning(t.tasks.c.id)
            ).first()
        return done is not None

    def release_task(self, task_id: str, worker_id: str) -> bool:
        """Give a running task back to the head of the queue because its worker is shutting down
        in an orderly way; unlike a crash, this does not count as an attempt."""
        with self._write() as conn:
            done = conn.execute(
                update(t.tasks)
                .where(self._owned(task_id, worker_id))
                .values(
                    status=TaskStatus.PENDING.value,
                    worker_id=None,
                    progress=0.0,
                    eta_seconds=None,
                    heartbeat_at=None,
                    attempts=func.max(t.tasks.c.attempts - 1, 0)
                    if conn.dialect.name == "sqlite"
                    else func.greatest(t.tasks.c.attempts - 1, 0),
                )
                .returning(t.tasks.c.id)
            ).first()
            if done is not None:
                conn.execute(delete(t.phrases).where(t.phrases.c.task_id == task_id))
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
                    update(t.tasks)
                    .where(*conditions)
                    .values(
                        status=TaskStatus.PENDING.value,
                        worker_id=None,
                        progress=0.0,
                        eta_seconds=None,
                        heartbeat_at=None,
                    )
                    .returning(t.tasks.c.id)
                )
                .scalars()
                .all()
            )
            handled = [*failed, *requeued]
            if requeued:
                conn.execute(delete(t.phrases).where(t.phrases.c.task_id.in_(requeued)))
        return handled

    # -- settings -------------------------------------------------------------------------------------

    def get_settings(self) -> dict[str, Any]:
        with self._read() as conn:
            rows = conn.execute(select(t.settings.c.key, t.settings.c.value)).all()
        return {key: json.loads(value) for key, value in rows if not key.startswith("_")}

    def save_settings(self, changes: Mapping[str, Any | None], *, bump_model: bool) -> None:
        """Write setting overrides (``None`` deletes one) and, if asked, bump the model generation."""
        with self._write() as conn:
            for key, value in changes.items():
                conn.execute(delete(t.settings).where(t.settings.c.key == key))
                if value is not None:
                    conn.execute(insert(t.settings).values(key=key, value=json.dumps(value)))
            if bump_model:
                self._bump_generation(conn)

    def bump_model_generation(self) -> int:
        with self._write() as conn:
            return self._bump_generation(conn)

    @staticmethod
    def _bump_generation(conn: Connection) -> int:
        current = conn.execute(
            select(t.settings.c.value).where(t.settings.c.key == MODEL_GENERATION_KEY)
        ).scalar()
        new = (int(current) if current is not None else 0) + 1
        conn.execute(delete(t.settings).where(t.settings.c.key == MODEL_GENERATION_KEY))
        conn.execute(insert(t.settings).values(key=MODEL_GENERATION_KEY, value=str(new)))
        return new

    def model_generation(self) -> int:
        with self._read() as conn:
            value = conn.execute(
                select(t.settings.c.value).where(t.settings.c.key == MODEL_GENERATION_KEY)
            ).scalar()
        return int(value) if value is not None else 0

    # -- workers --------------------------------------------------------------------------------------

    def register_worker(self, worker_id: str, *, pid: int, host: str) -> None:
        now = utcnow()
        with self._write() as conn:
            conn.execute(delete(t.workers).where(t.workers.c.id == worker_id))
            conn.execute(
                insert(t.workers).values(
                    id=worker_id, pid=pid, host=host, state="starting", started_at=now, heartbeat_at=now
                )
            )

    def update_worker(self, worker_id: str, **fields: Any) -> None:
        fields["heartbeat_at"] = utcnow()
        with self._write() as conn:
            conn.execute(update(t.workers).where(t.workers.c.id == worker_id).values(**fields))

    def remove_worker(self, worker_id: str) -> None:
        with self._write() as conn:
            conn.execute(delete(t.workers).where(t.workers.c.id == worker_id))

    def list_workers(self) -> list[WorkerRecord]:
        with self._read() as conn:
            rows = conn.execute(select(t.workers).order_by(t.workers.c.started_at)).mappings()
            return [_worker(r) for r in rows]
