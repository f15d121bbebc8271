"""The supervisor: runs the worker in its own process and keeps it running.

It restarts a worker that dies (with a growing pause if it keeps dying at once), gives back the task
a dead worker held, and ends a worker that keeps transcribing a task a client has cancelled.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

from transcriber.clock import utcnow
from transcriber.config import REMOTE_WORKER_FIELDS, Settings
from transcriber.domain import TaskStatus
from transcriber.store import SqlTaskStore

log = logging.getLogger(__name__)

STABLE_AFTER_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 60.0


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this machine."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_environment(settings: Settings) -> dict[str, str]:
    """The environment of a worker process: ours, plus the service settings as ``TRANSCRIBE_*``."""
    env = dict(os.environ)
    env.update(
        TRANSCRIBE_DATA_DIR=str(settings.data_dir.resolve()),
        TRANSCRIBE_DATABASE_URL=settings.resolved_database_url,
        TRANSCRIBE_LOG_LEVEL=settings.log_level,
        TRANSCRIBE_WORKER=settings.worker.model_dump_json(exclude=set(REMOTE_WORKER_FIELDS)),
        TRANSCRIBE_LIMITS=settings.limits.model_dump_json(),
        PYTHONUNBUFFERED="1",
    )
    if settings.model_cache_dir is not None:
        env["TRANSCRIBE_MODEL_CACHE_DIR"] = str(settings.model_cache_dir.resolve())
    for key in [k for k in env if k.startswith("TRANSCRIBE_WORKER__") or k.startswith("TRANSCRIBE_LIMITS__")]:
        del env[key]
    return env


def reap_dead_local_workers(store: SqlTaskStore) -> list[str]:
    """Take back tasks of workers on this host whose process no longer exists (e.g. after the whole
    service was killed), so they run again at once instead of after the staleness limit."""
    host = socket.gethostname()
    handled: list[str] = []
    for worker in store.list_workers():
        if worker.host == host and worker.pid is not None and not pid_alive(worker.pid):
            handled += store.requeue_abandoned(worker_id=worker.id)
            store.remove_worker(worker.id)
    return handled


class WorkerSupervisor:
    """Starts ``transcriber worker`` as a child process and watches it from a thread."""

    def __init__(self, settings: Settings, store: SqlTaskStore) -> None:
        self.settings = settings
        self.store = store
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._worker_id: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-supervisor", daemon=True)
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def start(self) -> None:
        for task_id in reap_dead_local_workers(self.store):
            log.warning("task %s: left running by a worker that is gone; queued again", task_id)
        self._spawn()
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with self._lock:
            process = self._process
            if process is None:
                return
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
            self._forget(process)

    def kill_worker(self) -> None:
        """End the worker at once; the supervisor restarts it and gives its task back."""
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._process.kill()

    def _spawn(self) -> None:
        self._worker_id = f"{socket.gethostname()}-{os.getpid()}-w{self.restarts}"
        command = [
            sys.executable,
            "-m",
            "transcriber",
            "worker",
            "--worker-id",
            self._worker_id,
            "--parent-pid",
            str(os.getpid()),
        ]
        flags = 0
        if sys.platform == "win32" and self.settings.worker.nice > 0:
            flags = subprocess.BELOW_NORMAL_PRIORITY_CLASS  # type: ignore[attr-defined]
        self._process = subprocess.Popen(command, env=worker_environment(self.settings), creationflags=flags)
        self._started_at = time.monotonic()
        log.info("worker process %d started", self._process.pid)

    def _forget(self, process: subprocess.Popen[bytes]) -> None:
        if self._worker_id is None:
            return
        for task_id in self.store.requeue_abandoned(worker_id=self._worker_id):
            log.warning("task %s: its worker (pid %d) stopped; queued again", task_id, process.pid)
        self.store.remove_worker(self._worker_id)

    def _run(self) -> None:
        backoff = self.settings.worker.restart_backoff_seconds
        while not self._stop.wait(0.5):
            try:
                with self._lock:
                    process = self._process
                    assert process is not None
                    code = process.poll()
                    if code is None:
                        self._watch_cancelled()
                        continue
                    log.error("worker process %d exited with code %s", process.pid, code)
                    self._forget(process)
                    quick_death = time.monotonic() - self._started_at < STABLE_AFTER_SECONDS
                backoff = (
                    min(backoff * 2, MAX_BACKOFF_SECONDS)
                    if quick_death
                    else self.settings.worker.restart_backoff_seconds
                )
                if self._stop.wait(backoff if quick_death else 0):
                    return
                with self._lock:
                    self.restarts += 1
                    self._spawn()
            except Exception:
                log.exception("supervisor check failed")

    def _watch_cancelled(self) -> None:
        """Kill a worker that still holds a task cancelled longer ago than the grace period."""
        if self._worker_id is None:
            return
        worker = next((w for w in self.store.list_workers() if w.id == self._worker_id), None)
        if worker is None or worker.current_task_id is None:
            return
        task = self.store.get_task(worker.current_task_id)
        if task is None or task.status != TaskStatus.CANCELLED or task.finished_at is None:
            return
        grace = timedelta(seconds=self.settings.worker.cancel_grace_seconds)
        if utcnow() - task.finished_at > grace and self._process is not None:
            log.warning("worker still busy with cancelled task %s; restarting it", task.id)
            self._process.kill()
