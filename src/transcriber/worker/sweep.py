"""What every worker does now and then for the others: take back the tasks of workers that stopped
sending heartbeats, and forget workers that have been silent for long."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from transcriber.config import WorkerSettings
from transcriber.store import SqlTaskStore

log = logging.getLogger(__name__)


class StaleSweep:
    """Runs at most every quarter of ``stale_after_seconds``; cheap enough to ask before every claim."""

    def __init__(
        self, *, store: SqlTaskStore, settings: WorkerSettings, worker_id: str, rejoin: Callable[[], None]
    ) -> None:
        self._store = store
        self._settings = settings
        self._worker_id = worker_id
        self._rejoin = rejoin
        self._last = 0.0

    def maybe_run(self) -> None:
        now = time.monotonic()
        if now - self._last < self._settings.stale_after_seconds / 4:
            return
        self._last = now
        if not self._store.update_worker(self._worker_id):
            # Forgotten by another worker while this one was silent (suspended, a long outage).
            log.warning(
                "worker %s: its record was removed while it was silent; registering again", self._worker_id
            )
            self._rejoin()
        stale = timedelta(seconds=self._settings.stale_after_seconds)
        for task_id in self._store.requeue_abandoned(stale_after=stale):
            log.warning("task %s: its worker stopped sending heartbeats; taken back", task_id)
        silent = timedelta(seconds=self._settings.forget_after_seconds)
        for worker_id in self._store.forget_silent_workers(silent_for=silent):
            # Its tasks are normally back already (their heartbeats are as old); make sure.
            for task_id in self._store.requeue_abandoned(worker_id=worker_id):
                log.warning("task %s: taken back from the silent worker %s", task_id, worker_id)
            log.warning(
                "worker %s: no heartbeat for %.0f s; removed from the list", worker_id, silent.total_seconds()
            )
