"""Database tables (SQLAlchemy Core). Alembic migrations in ``transcriber/migrations`` create them.

The same schema runs on SQLite (embedded default) and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC, returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("original_name", String(1000), nullable=False),
    Column("stored_name", String(200), nullable=False, unique=True),
    Column("size", BigInteger, nullable=False),
    Column("duration", Float, nullable=True),
    Column("format", String(100), nullable=True),
    Column("sha256", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("upload_id", String(32), ForeignKey("uploads.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("options", Text, nullable=False, default="{}"),
    # The model the task names (options' "model"), NULL for the configured one: workers that may run
    # only some models pick their tasks by it (store/claims.py).
    Column("model", String(500), nullable=True),
    Column("effective", Text, nullable=True),
    Column("progress", Float, nullable=False, default=0.0),
    Column("eta_seconds", Float, nullable=True),
    # The progress is an estimate past the last real checkpoint (audio not yet known to be decoded).
    Column("progress_estimated", Boolean, nullable=False, default=False, server_default=false()),
    Column("error", Text, nullable=True),
    Column("language", String(20), nullable=True),
    Column("duration", Float, nullable=True),
    # Seconds of audio that could not be decoded (damaged stretches skipped); null: nothing was lost.
    Column("undecoded_seconds", Float, nullable=True),
    # Decoding windows decoded again because their text looped, and phrases dropped as invented
    # text over silence or noise (NULL: none, or a task from before 0007).
    Column("redecoded_windows", Integer, nullable=True),
    Column("dropped_phrases", Integer, nullable=True),
    # Who speaks, in a task split by speaker: a JSON list of {id, name, channel}; NULL otherwise.
    Column("speakers", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("worker_id", String(64), nullable=True),
    # The host of the worker that took the task (kept with worker_id once the worker is gone).
    Column("worker_host", String(255), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("heartbeat_at", UtcDateTime, nullable=True),
    Index("ix_tasks_status_seq", "status", "seq"),
    Index("ix_tasks_upload_id", "upload_id"),
)

phrases = Table(
    "phrases",
    metadata,
    Column("task_id", String(36), ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("start", Float, nullable=False),
    Column("end", Float, nullable=False),
    Column("text", Text, nullable=False),
    # The phrase's words as a JSON list of [start, end, word, probability] (file time, seconds);
    # NULL when the engine gave no word timings (word timestamps off, or a task from before 0006).
    Column("words", Text, nullable=True),
    # The language detected for the phrase's window (ISO code) in a task that detects it per window;
    # NULL otherwise (the task's language applies).
    Column("language", String(16), nullable=True),
    # Who said the phrase (a stable id: S1, S2...) in a task split by speaker; NULL otherwise.
    Column("speaker", String(32), nullable=True),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

recognition_state = Table(
    "recognition_state",
    metadata,
    # One row (id 1). Saving a setting that changes the model bumps the generation; each worker
    # compares it with the one it loaded and reloads when it is behind.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("model_generation", Integer, nullable=False),
)

engine_speeds = Table(
    "engine_speeds",
    metadata,
    # A worker's calibration when it loaded a model that no task had measured on this machine yet:
    # the first tasks' ETA comes from it until completed tasks give a real speed.
    Column("model", String(500), primary_key=True),
    Column("device", String(20), primary_key=True),
    Column("compute_type", String(30), primary_key=True),
    Column("audio_seconds", Float, nullable=False),
    Column("wall_seconds", Float, nullable=False),
    Column("measured_at", UtcDateTime, nullable=False),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("pid", Integer, nullable=True),
    Column("host", String(255), nullable=True),
    Column("state", String(20), nullable=False),
    Column("model", String(500), nullable=True),
    Column("device", String(20), nullable=True),
    Column("compute_type", String(30), nullable=True),
    Column("error", Text, nullable=True),
    Column("current_task_id", String(36), nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
)

ui_sessions = Table(
    "ui_sessions",
    metadata,
    # SHA-256 of the opaque token in the browser's cookie: the token itself is never stored.
    Column("token_hash", String(64), primary_key=True),
    Column("key_name", String(200), nullable=False),
    # Which secret the session was opened with (a hash prefix): a rotated key ends its sessions.
    Column("key_fingerprint", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # The outbox: one row per event to announce, written in the same transaction as the task's change of
    # state, so no event is lost and none is sent for a change that did not happen. ``id`` is the
    # Standard Webhooks ``webhook-id``: the same on every attempt, for the receiver to drop repeats.
    Column("id", String(40), primary_key=True),
    Column("task_id", String(36), ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("event", String(40), nullable=False),
    Column("url", Text, nullable=False),
    # The JSON body, fixed when the event happened: every attempt sends (and signs) the same bytes.
    Column("payload", Text, nullable=False),
    # pending: to be sent at next_attempt_at (also the lease of the sender that took it); delivered;
    # failed: given up at expires_at (NULL: the retry window after created_at; a redelivery sets it).
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Index("ix_webhook_deliveries_state_next", "state", "next_attempt_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    # Each try of a delivery, for the task's page: when, what the receiver answered, how long it took.
    Column(
        "delivery_id",
        String(40),
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("number", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("status", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # Who sent the key: the API key's name, or "" when no keys are configured. Keys are per caller.
    Column("scope", String(200), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("route", String(100), nullable=False),
    # SHA-256 (hex) of what the request asked for: the route, its parameters, the uploaded bytes.
    Column("fingerprint", String(64), nullable=False),
    # pending: a request holds the key and is running; done: its response is below.
    Column("state", String(10), nullable=False),
    # Which request holds a pending key (a random token): only it may finish or release the claim.
    Column("claim", String(32), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("response", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)
