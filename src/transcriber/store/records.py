"""What the store returns: immutable records of uploads, tasks, queue load and workers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from transcriber.domain import Speaker, TaskStatus, Word, WorkerState
from transcriber.speakers import from_json as speakers_from_json


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
    redecoded_windows: int | None = None
    """Decoding windows decoded again because their text looped; None: none."""
    dropped_phrases: int | None = None
    """Phrases dropped as invented text (over silence or noise); None: none."""
    progress_estimated: bool = False
    """``progress`` is past the last real checkpoint: estimated from the expected speed."""
    speakers: tuple[Speaker, ...] = ()
    """Who speaks, in a task split by speaker (their phrases carry the ids); empty otherwise."""
    worker_host: str | None = None
    """The host of the worker that took the task (with ``worker_id``); None while pending."""
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
class QueueStats:
    """The pending tasks, for monitoring."""

    depth: int
    """How many tasks wait."""
    audio_seconds: float
    """Seconds of audio in them (as measured at upload)."""
    oldest_created_at: datetime | None
    """When the task that has waited longest was created; None for an empty queue."""


@dataclass(frozen=True, slots=True)
class RealtimeFactors:
    """Completed tasks of one model on one device, by processing seconds per audio second."""

    model: str
    device: str
    counts: tuple[int, ...]
    """How many tasks fall in each bucket: ``counts[i]`` at most ``bounds[i]`` and over the bound
    before; the last one over every bound (not cumulative)."""
    total: float
    """The sum of the tasks' real-time factors."""


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    id: str
    pid: int | None
    host: str | None
    state: WorkerState
    model: str | None
    device: str | None
    compute_type: str | None
    error: str | None
    current_task_id: str | None
    started_at: datetime
    heartbeat_at: datetime


def upload_record(row: RowMapping) -> UploadRecord:
    return UploadRecord(**{f: row[f] for f in UploadRecord.__dataclass_fields__})


def task_record(row: RowMapping, queue: tuple[int, float] | None = None) -> TaskRecord:
    values = {f: row[f] for f in TaskRecord.__dataclass_fields__ if f in row}
    values["status"] = TaskStatus(row["status"])
    values["options"] = json.loads(row["options"] or "{}")
    values["effective"] = json.loads(row["effective"]) if row["effective"] else None
    values["speakers"] = speakers_from_json(row["speakers"])
    if queue is not None:
        values["queue_position"], values["audio_ahead"] = queue
    return TaskRecord(**values)


def worker_record(row: RowMapping) -> WorkerRecord:
    values = {f: row[f] for f in WorkerRecord.__dataclass_fields__}
    values["state"] = WorkerState(row["state"])
    return WorkerRecord(**values)


def words_json(words: tuple[Word, ...]) -> str | None:
    """A phrase's words as stored: ``[[start, end, word, probability], ...]``; None for no words.
    Times keep whole milliseconds and probabilities three decimals (what the API shows)."""
    if not words:
        return None
    rows = [[round(w.start, 3), round(w.end, 3), w.word, round(w.probability, 3)] for w in words]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def words_from_json(text: str | None) -> tuple[Word, ...]:
    """The words stored by :func:`words_json` (none for NULL)."""
    if not text:
        return ()
    return tuple(Word(float(a), float(b), str(w), float(p)) for a, b, w, p in json.loads(text))
