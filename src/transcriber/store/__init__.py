"""The persistent task store: uploads, tasks, phrases, settings, speeds, workers, the webhook
outbox, idempotency keys and monitoring figures on SQLAlchemy Core.

Every task state change is one atomic ``UPDATE ... WHERE status IN (...) RETURNING`` statement, so the
API and any number of worker processes can share the database without read-modify-write races. One
facade, :class:`SqlTaskStore`, over one module per aggregate.
"""

from __future__ import annotations

from transcriber.store.idempotency import Claimed, IdempotencyRecord, IdempotencyState, IdempotencyStore
from transcriber.store.outbox import Attempt, Delivery, OutboxStore
from transcriber.store.records import (
    QueueLoad,
    QueueStats,
    RealtimeFactors,
    TaskRecord,
    UploadRecord,
    WorkerRecord,
)
from transcriber.store.settings import SettingsStore
from transcriber.store.speeds import SpeedStore
from transcriber.store.stats import StatsStore
from transcriber.store.transitions import MAX_ATTEMPTS, TaskTransitions
from transcriber.store.uploads import UploadStore
from transcriber.store.workers import WorkerStore

__all__ = [
    "MAX_ATTEMPTS",
    "Attempt",
    "Claimed",
    "Delivery",
    "IdempotencyRecord",
    "IdempotencyState",
    "QueueLoad",
    "QueueStats",
    "RealtimeFactors",
    "SqlTaskStore",
    "TaskRecord",
    "UploadRecord",
    "WorkerRecord",
]


class SqlTaskStore(
    UploadStore,
    TaskTransitions,
    SettingsStore,
    SpeedStore,
    WorkerStore,
    OutboxStore,
    IdempotencyStore,
    StatsStore,
):
    """All persistent state of the service. Thread-safe; one instance per process."""
