"""Which pending task a worker takes: FIFO, unless the worker says otherwise.

Two rules, both off by default so that one worker behaves exactly as before:

- **Model affinity.** A worker may run only some models (``TRANSCRIBE_WORKER__MODELS``); a task that
  names another model is left to a worker that may run it. Among the tasks it may run, a worker takes
  first those that need no reload: the model it holds, or no model named when its default is the model
  it holds. A task for another model waits at most ``affinity_seconds`` for a worker that holds its
  model; after that it is taken in FIFO order by any worker that may run it, so nothing waits forever
  while a worker is free. A CPU box with ``base`` and a GPU box with ``large-v3`` share one queue
  without unloading each other's models back and forth.
- **Short tasks first.** A worker with ``short_seconds`` > 0 takes tasks of at most that many seconds
  of audio (the upload's probed duration) before longer ones; with one such worker among several, a
  two-minute call is not stuck behind hours of recordings. Unknown durations count as long.

The queue position and ETA shown to clients stay FIFO estimates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, false, or_, select

from transcriber import schema as t
from transcriber.domain import TaskStatus


@dataclass(frozen=True)
class ClaimPreferences:
    """A worker's rules for taking a task (the defaults: any task, oldest first)."""

    models: tuple[str, ...] = ()
    """The models the worker may run; empty: any."""

    loaded: str | None = None
    """The model the worker holds now: its tasks need no reload."""

    default: str | None = None
    """The model the worker runs for a task that names none."""

    affinity_seconds: float = 120.0
    """How long a task for another model waits for a worker that holds it."""

    short_seconds: float = 0.0
    """> 0: tasks with at most this much audio go first."""


def eligible(prefs: ClaimPreferences) -> Any:
    """The pending tasks this worker may take."""
    pending = t.tasks.c.status == TaskStatus.PENDING.value
    if not prefs.models:
        return pending
    return and_(pending, or_(t.tasks.c.model.is_(None), t.tasks.c.model.in_(prefs.models)))


def order(prefs: ClaimPreferences, now: datetime) -> list[Any]:
    """The order in which it takes them: short first (if asked), then no reload, then FIFO."""
    keys: list[Any] = []
    if prefs.short_seconds > 0:
        duration = select(t.uploads.c.duration).where(t.uploads.c.id == t.tasks.c.upload_id).scalar_subquery()
        keys.append(case((and_(duration.is_not(None), duration <= prefs.short_seconds), 0), else_=1))
    if prefs.loaded is not None:
        unnamed = t.tasks.c.model.is_(None) if prefs.default == prefs.loaded else false()
        waited = t.tasks.c.created_at <= now - timedelta(seconds=prefs.affinity_seconds)
        keys.append(case((or_(t.tasks.c.model == prefs.loaded, unnamed, waited), 0), else_=1))
    keys.append(t.tasks.c.seq)
    return keys
