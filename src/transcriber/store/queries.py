"""Creating tasks and reading them: pages, queue places, the queue's load, phrases."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select

from transcriber import schema as t
from transcriber.clock import utcnow
from transcriber.domain import TAKES_TASKS, Phrase, TaskStatus
from transcriber.store.base import PENDING, WITH_UPLOAD, StoreBase
from transcriber.store.records import QueueLoad, TaskRecord, task_record, words_from_json
from transcriber.store.wakeups import Wake, wake_workers

RECENT_TASKS_FOR_SPEED = 20


class TaskQueries(StoreBase):
    def create_task(self, *, upload_id: str, options: Mapping[str, Any]) -> TaskRecord:
        task_id = str(uuid.uuid4())
        with self._write() as conn:
            conn.execute(
                insert(t.tasks).values(
                    id=task_id,
                    upload_id=upload_id,
                    status=TaskStatus.PENDING.value,
                    options=json.dumps(dict(options), ensure_ascii=False),
                    model=options.get("model") or None,  # for the workers' model affinity (claims)
                    progress=0.0,
                    attempts=0,
                    created_at=utcnow(),
                )
            )
            wake_workers(conn, Wake.TASK)
        task = self.get_task(task_id)
        assert task is not None
        return task

    @staticmethod
    def _queue_places(conn: Connection, seqs: Sequence[int]) -> dict[int, tuple[int, float]]:
        """For pending tasks ``seqs``: their 0-based queue position and the audio seconds ahead."""
        if not seqs:
            return {}
        first, last = min(seqs), max(seqs)
        count, audio = conn.execute(
            select(func.count(), func.coalesce(func.sum(t.uploads.c.duration), 0.0))
            .select_from(WITH_UPLOAD)
            .where(PENDING, t.tasks.c.seq < first)
        ).one()
        places: dict[int, tuple[int, float]] = {}
        rows = conn.execute(
            select(t.tasks.c.seq, t.uploads.c.duration)
            .select_from(WITH_UPLOAD)
            .where(PENDING, t.tasks.c.seq >= first, t.tasks.c.seq <= last)
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
        return task_record(row, places.get(row["seq"]))

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
        return [task_record(r, places.get(r["seq"])) for r in rows], total

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
                .select_from(WITH_UPLOAD)
                .where(t.tasks.c.status == TaskStatus.IN_PROGRESS.value)
            ).all()
            beats = conn.execute(select(t.workers.c.heartbeat_at, t.workers.c.state)).all()
        audio = sum(d for d, _s, _f in recent)
        wall = sum((f - s).total_seconds() for _d, s, f in recent if f is not None and s is not None)
        fresh = utcnow() - stale_after
        workers = sum(1 for beat, state in beats if beat >= fresh and state in TAKES_TASKS)
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
            select(
                t.phrases.c.start,
                t.phrases.c.end,
                t.phrases.c.text,
                t.phrases.c.words,
                t.phrases.c.language,
                t.phrases.c.speaker,
            )
            .where(t.phrases.c.task_id == task_id)
            .order_by(t.phrases.c.idx)
        )
        with self._read() as conn:
            return [
                Phrase(
                    start=r.start,
                    end=r.end,
                    text=r.text,
                    words=words_from_json(r.words),
                    language=r.language,
                    speaker=r.speaker,
                )
                for r in conn.execute(query)
            ]
