"""Figures for monitoring (``GET /metrics``): each one query, cheap on a table of 100k tasks.

Tasks, queue and workers are read from the database on every scrape: the workers are other processes
(later other machines), so no process holds the figures in memory. The real-time factors are counted
into buckets by the database, so a scrape reads one row per model, device and bucket, not per task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Dialect, Float, case, cast, func, literal, select

from transcriber import schema as t
from transcriber.domain import TaskStatus
from transcriber.store.base import PENDING, WITH_UPLOAD, StoreBase
from transcriber.store.records import QueueStats, RealtimeFactors

UNKNOWN = "unknown"
"""The model or device label of a task that did not record it."""


def _effective_text(dialect: str, key: str) -> Any:
    """A string field of the task's ``effective`` settings (a JSON document in a text column)."""
    if dialect == "sqlite":
        value = func.json_extract(t.tasks.c.effective, f"$.{key}")
    else:
        value = func.json_extract_path_text(cast(t.tasks.c.effective, JSON), key)
    return func.coalesce(value, UNKNOWN)


def _processing_seconds(dialect: str) -> Any:
    """From the last claim to completion (an earlier attempt's time is not in it)."""
    started, finished = t.tasks.c.started_at, t.tasks.c.finished_at
    if dialect == "sqlite":  # timestamps are text there; julianday keeps whole milliseconds
        return (func.julianday(finished) - func.julianday(started)) * 86400.0
    return cast(func.extract("epoch", finished - started), Float)


class StatsStore(StoreBase):
    def queue_stats(self) -> QueueStats:
        with self._read() as conn:
            depth, audio, oldest = conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(t.uploads.c.duration), 0.0),
                    func.min(t.tasks.c.created_at),
                )
                .select_from(WITH_UPLOAD)
                .where(PENDING)
            ).one()
        return QueueStats(depth=int(depth), audio_seconds=float(audio), oldest_created_at=oldest)

    def completed_audio_seconds(self) -> float:
        """Seconds of audio in the completed tasks that are still kept."""
        with self._read() as conn:
            total = conn.execute(
                select(func.coalesce(func.sum(t.tasks.c.duration), 0.0)).where(
                    t.tasks.c.status == TaskStatus.COMPLETED.value
                )
            ).scalar_one()
        return float(total)

    def realtime_factors(self, bounds: Sequence[float]) -> list[RealtimeFactors]:
        """Completed tasks by model and device (as they ran), counted into the buckets ``bounds``
        (ascending upper bounds) of processing seconds per audio second."""
        with self._read() as conn:
            rows = conn.execute(_bucketed_factors(conn.dialect, bounds)).all()
        grouped: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
        for model, device, index, count, total in rows:
            counts, sums = grouped.setdefault((model, device), ([0] * (len(bounds) + 1), []))
            counts[int(index)] += int(count)
            sums.append(float(total))
        return [
            RealtimeFactors(model=model, device=device, counts=tuple(counts), total=sum(sums))
            for (model, device), (counts, sums) in grouped.items()
        ]


def _bucketed_factors(dialect: Dialect, bounds: Sequence[float]) -> Any:
    """``model, device, bucket, count, sum`` of the completed tasks' real-time factors."""
    factors: Any = select(
        _effective_text(dialect.name, "WHISPER_MODEL").label("model"),
        _effective_text(dialect.name, "resolved_device").label("device"),
        (_processing_seconds(dialect.name) / t.tasks.c.duration).label("factor"),
    ).where(
        t.tasks.c.status == TaskStatus.COMPLETED.value,
        t.tasks.c.duration > 0,
        t.tasks.c.started_at.is_not(None),
        t.tasks.c.finished_at.is_not(None),
    )
    # Computed once per task: inlined, the factor would be computed again for each bucket's test and
    # the JSON read twice (half the time of the query on SQLite). SQLite 3.35 and PostgreSQL 12 know
    # MATERIALIZED; the version is known once the connection is open.
    version = dialect.server_version_info or (0,)
    if version >= ((3, 35) if dialect.name == "sqlite" else (12,)):
        factors = factors.cte("factors").prefix_with("MATERIALIZED")
    else:
        factors = factors.subquery()
    whens = [(factors.c.factor <= bound, literal(i)) for i, bound in enumerate(bounds)]
    bucket = case(*whens, else_=literal(len(bounds))).label("bucket")
    return (
        select(factors.c.model, factors.c.device, bucket, func.count(), func.sum(factors.c.factor))
        .group_by(factors.c.model, factors.c.device, bucket)
        .order_by(factors.c.model, factors.c.device)
    )
