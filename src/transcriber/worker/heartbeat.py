"""A running task's heartbeat, kept fresh from a thread while a long stretch decodes."""

from __future__ import annotations

import logging
import threading

from transcriber.store import SqlTaskStore
from transcriber.worker.outage import DATABASE_ERRORS, one_line

log = logging.getLogger(__name__)


class TaskHeartbeat:
    """Keeps a running task's heartbeat fresh while a long segment decodes; notices cancellation."""

    def __init__(
        self,
        *,
        store: SqlTaskStore,
        worker_id: str,
        task_id: str,
        interval: float,
        cancelled: threading.Event,
    ) -> None:
        self._store = store
        self._worker_id = worker_id
        self._task_id = task_id
        self._interval = interval
        self._cancelled = cancelled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if not self._store.heartbeat_task(self._task_id, self._worker_id):
                    self._cancelled.set()
                self._store.update_worker(self._worker_id)
            except DATABASE_ERRORS as exc:
                log.warning("heartbeat not saved: %s", one_line(exc))
            except Exception:
                log.exception("heartbeat failed")
