"""The worker: takes tasks from the store one at a time (FIFO), transcribes them, reports progress.

A worker never lets an exception end its loop: a task that fails is marked FAILED with a message.
A saved model, device or compute type that cannot be loaded does not fail tasks: the worker runs
with settings that load and says so in its state (``fallback``); only a task's own ``model`` option,
or no model loading at all, fails a task. ``drain()`` processes the queue until it is empty, so
tests never sleep.

The engine's phrases are read in a thread of their own (``_PhraseReader``), for two reasons. The
worker takes the phrases of one decoding window together: faster-whisper yields them in a burst once
the window is decoded, and the last one tells how far decoding has got (the first one lags by most of a
window, which made the ETA about 30 % too long). And the worker notices a cancel or a shutdown while a
long stretch decodes without a phrase; the decoding step under way cannot be interrupted, so the worker
still waits for it to end before the model is used again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from transcriber import recognition
from transcriber.config import WorkerSettings
from transcriber.domain import Phrase
from transcriber.engine import Transcriber
from transcriber.errors import ModelUnavailable, ServiceError
from transcriber.fallback import EngineKey, SettingsFallback
from transcriber.recognition import RecognitionSettings
from transcriber.storage import UploadStorage
from transcriber.store import SqlTaskStore, TaskRecord

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
"""How often a running task looks at cancellation and shutdown while no phrase comes."""

BURST_SECONDS = 0.02
"""How long to wait after a phrase for the rest of its burst (they come microseconds apart)."""

DATABASE_ERRORS = (OperationalError, InterfaceError, DBAPIError)
"""What a database that is restarting, unreachable or locked raises: the worker waits these out."""

OUTAGE_BACKOFF = (0.5, 10.0)
"""The first and the longest pause between attempts while the database cannot be reached."""


class DatabaseOutage:
    """Backoff and logging while the database is unreachable: one line when it starts, one at the end."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.pause = OUTAGE_BACKOFF[0]

    def failed(self, exc: Exception) -> float:
        """Record a failed attempt; returns how long to wait before the next one."""
        if self.since is None:
            self.since = time.monotonic()
            log.warning("database unavailable, pausing until it is back: %s", _one_line(exc))
        pause, self.pause = self.pause, min(self.pause * 2, OUTAGE_BACKOFF[1])
        return pause

    def recovered(self) -> None:
        if self.since is not None:
            log.warning("database available again after %.1f s; carrying on", time.monotonic() - self.since)
        self.since = None
        self.pause = OUTAGE_BACKOFF[0]


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@dataclass
class ProgressClock:
    """Progress as decoded audio over total audio, and an ETA from the running task's own speed."""

    duration: float
    started: float = field(default_factory=time.monotonic)

    def progress(self, position: float) -> float:
        if self.duration <= 0:
            return 0.0
        return max(0.0, min(1.0, position / self.duration))

    def eta(self, position: float) -> float | None:
        elapsed = time.monotonic() - self.started
        if position <= 0 or elapsed <= 0 or self.duration <= 0:
            return None
        speed = position / elapsed  # audio seconds per wall second
        return max(0.0, round((self.duration - position) / speed, 1))


class TaskCancelled(Exception):
    """The task stopped being ours (cancelled by a client, or taken back)."""


class WorkerStopping(Exception):
    """The worker was asked to stop while a task was running."""


class Worker:
    """One worker; in production it runs alone in its own process, started by the supervisor."""

    def __init__(
        self,
        *,
        store: SqlTaskStore,
        storage: UploadStorage,
        transcriber: Transcriber,
        base_settings: RecognitionSettings,
        settings: WorkerSettings,
        worker_id: str | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.store = store
        self.storage = storage
        self.transcriber = transcriber
        self.base_settings = base_settings
        self.settings = settings
        self.id = worker_id or new_worker_id()
        self.should_stop = should_stop
        self._generation = store.model_generation()
        self._last_stale_check = 0.0
        self._preloaded_for: tuple[int, EngineKey] | None = None
        self.fallback = SettingsFallback(baseline=base_settings)
        self._reader: _PhraseReader | None = None  # the last task's decoder, until run_once waited for it
        self._orphan: str | None = None  # a task whose outcome could not be written: given back later
        self.outage = DatabaseOutage()

    # -- lifecycle ------------------------------------------------------------------------------------

    def register(self) -> None:
        self.store.register_worker(self.id, pid=os.getpid(), host=socket.gethostname())

    def global_settings(self) -> RecognitionSettings:
        return recognition.layered(base=self.base_settings, saved=self.store.get_settings())

    def settings_in_force(self) -> RecognitionSettings:
        """The global settings, with their model loaded; if the saved model, device or compute type
        cannot be loaded, ones that load take their place (see ``fallback``)."""
        self._follow_generation()
        return self.fallback.choose(self.global_settings(), load=self._load)

    def preload(self) -> None:
        """Load the globally configured model so the first task starts at once; errors are reported
        through the worker's state, not raised."""
        try:
            settings = self.global_settings()
            self._preloaded_for = (self.store.model_generation(), settings.engine_key())
            self.settings_in_force()
            self._set_state("idle")
        except (ServiceError, ValueError) as exc:
            detail = exc.detail if isinstance(exc, ServiceError) else str(exc)
            self._set_state("error", error=detail)

    def follow_settings(self) -> None:
        """While idle: load the model again after a settings change or a reset, so the next task
        starts at once and /health shows what will be used. A failed load is retried only after
        the next change, never in a loop."""
        try:
            wanted = (self.store.model_generation(), self.global_settings().engine_key())
        except ServiceError:
            return
        if wanted != self._preloaded_for:
            self.preload()

    def run_forever(self) -> None:
        """Take tasks until ``should_stop``. A database outage (a PostgreSQL restart, a long SQLite lock)
        only pauses the loop: every step is retried with a growing pause, and nothing ends it."""
        self._until_database_answers(self.register)
        self._until_database_answers(self.preload)
        last_beat = 0.0
        while not self.should_stop():
            try:
                self._give_back_orphan()
                worked = self.run_once()
                if not worked:
                    now = time.monotonic()
                    if now - last_beat >= self.settings.heartbeat_seconds:
                        self.store.update_worker(self.id)
                        self.follow_settings()
                        last_beat = now
            except DATABASE_ERRORS as exc:
                self._sleep(self.outage.failed(exc))
                continue
            self.outage.recovered()
            if not worked:
                time.sleep(self.settings.poll_seconds)
        self._until_database_answers(self._stop, attempts=5)

    def _stop(self) -> None:
        self._give_back_orphan()
        self.store.requeue_abandoned(worker_id=self.id)
        self._set_state("stopped")

    def _until_database_answers(self, step: Callable[[], None], *, attempts: int | None = None) -> None:
        """Run ``step`` once the database answers (at most ``attempts`` tries; None: until stopped)."""
        tried = 0
        while True:
            try:
                step()
            except DATABASE_ERRORS as exc:
                tried += 1
                if (attempts is not None and tried >= attempts) or (attempts is None and self.should_stop()):
                    log.warning("giving up on the database: %s", _one_line(exc))
                    return
                self._sleep(self.outage.failed(exc))
                continue
            self.outage.recovered()
            return

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.should_stop() and time.monotonic() < deadline:
            time.sleep(min(0.1, seconds))

    def _give_back_orphan(self) -> None:
        """Hand back, without spending an attempt, a task whose outcome could not be written because the
        database went away mid-task: it runs again from the start instead of waiting to become stale."""
        if self._orphan is not None:
            self.store.release_task(self._orphan, self.id)
            log.warning("task %s: given back to the queue after the database outage", self._orphan)
            self._orphan = None

    def drain(self) -> int:
        """Process tasks until none is pending; returns how many were taken."""
        count = 0
        while self.run_once():
            count += 1
        return count

    # -- one task -------------------------------------------------------------------------------------

    def run_once(self) -> bool:
        """Take one task and run it to its end; False if none was pending. A database error while
        claiming propagates (nothing was taken); one during the task leaves the task to be given back."""
        self._requeue_stale()
        task = self.store.claim_next(self.id)
        if task is None:
            return False
        log.info("task %s: started (attempt %d)", task.id, task.attempts)
        try:
            self._run_claimed(task)
        except DATABASE_ERRORS:
            self._orphan = task.id  # its progress or result could not be saved: give it back later
            raise
        finally:
            self._wait_for_decoder()
        if self.transcriber.loaded is not None:
            self._set_state("idle", current_task_id=None)
        return True

    def _run_claimed(self, task: TaskRecord) -> None:
        try:
            self._process(task)
        except DATABASE_ERRORS:
            raise
        except TaskCancelled:
            log.info("task %s: stopped, no longer ours (cancelled)", task.id)
        except WorkerStopping:
            self.store.release_task(task.id, self.id)
            log.info("task %s: given back to the queue, the worker is stopping", task.id)
        except ModelUnavailable as exc:  # the task's own model option, or no model loads at all
            self.store.fail_task(task.id, self.id, exc.detail)
            try:
                self.settings_in_force()  # ready again for the next task, if the global settings load
            except ServiceError:
                self._set_state("error", error=exc.detail)
        except ServiceError as exc:
            self.store.fail_task(task.id, self.id, exc.detail)
        except Exception as exc:
            log.exception("task %s: failed", task.id)
            self.store.fail_task(task.id, self.id, f"transcription failed: {type(exc).__name__}: {exc}")

    def _process(self, task: TaskRecord) -> None:
        settings = recognition.layered(
            base=self.settings_in_force(), task=recognition.task_overrides(_task_options(task.options))
        )
        upload = self.store.get_upload(task.upload_id)
        if upload is None:
            raise ServiceError("the uploaded file of this task no longer exists")
        audio = self.storage.path_of(upload.stored_name)
        if not audio.is_file():
            raise ServiceError(f"the uploaded file {upload.original_name!r} is missing from storage")
        self._load(settings)
        self._set_state("busy", current_task_id=task.id)
        cancelled = threading.Event()
        beat = _Heartbeat(self, task.id, cancelled)
        beat.start()
        try:
            self._transcribe(task, settings, audio, cancelled)
        finally:
            beat.stop()

    def _transcribe(
        self, task: TaskRecord, settings: RecognitionSettings, audio: Any, cancelled: threading.Event
    ) -> None:
        run = self.transcriber.transcribe(audio, settings, duration=task.upload_duration)
        clock = ProgressClock(duration=run.duration)
        effective = recognition.public_dict(settings)
        loaded = self.transcriber.loaded
        if loaded is not None:
            effective.update(resolved_device=loaded.device, resolved_compute_type=loaded.compute_type)
        if self.fallback.note is not None:
            effective["settings_fallback"] = self.fallback.note
        saved = 0
        pending: list[Phrase] = []
        last_save = 0.0
        if not self.store.save_progress(
            task.id, self.id, progress=0.0, eta_seconds=None, first_index=0,
            language=run.language, duration=run.duration, effective=effective,
        ):  # fmt: skip
            raise TaskCancelled
        reader = self._reader = _PhraseReader(run.phrases)
        try:
            while (burst := reader.next_burst(timeout=POLL_SECONDS)) is not None:
                if cancelled.is_set():
                    raise TaskCancelled
                if self.should_stop():
                    raise WorkerStopping
                pending += burst
                now = time.monotonic()
                if burst and now - last_save >= self.settings.progress_seconds:
                    position = burst[-1].end
                    ok = self.store.save_progress(
                        task.id, self.id, progress=clock.progress(position), eta_seconds=clock.eta(position),
                        first_index=saved, new_phrases=pending,
                    )  # fmt: skip
                    if not ok:
                        raise TaskCancelled
                    saved += len(pending)
                    pending = []
                    last_save = now
        finally:
            reader.stop()
        if not self.store.complete_task(
            task.id,
            self.id,
            first_index=saved,
            new_phrases=pending,
            language=run.language,
            duration=run.duration,
            undecoded_seconds=round(run.undecoded_seconds, 3),
        ):
            raise TaskCancelled
        if run.undecoded_seconds:
            log.warning("task %s: %.1f s of the audio could not be decoded", task.id, run.undecoded_seconds)
        log.info("task %s: completed, %d phrases", task.id, saved + len(pending))

    # -- helpers --------------------------------------------------------------------------------------

    def _wait_for_decoder(self) -> None:
        """Wait until the last task's decoder has let go of the model, so it never runs for two tasks at
        once. A decoding step cannot be interrupted and a silent stretch can be long: keep beating."""
        reader, self._reader = self._reader, None
        while reader is not None and not reader.join(timeout=self.settings.heartbeat_seconds):
            with contextlib.suppress(*DATABASE_ERRORS):  # the loop reports the outage; still wait
                self.store.update_worker(self.id)

    def _follow_generation(self) -> None:
        """After a settings change or a reset: load the model afresh, and try again what failed."""
        generation = self.store.model_generation()
        if generation != self._generation:
            self.transcriber.unload()
            self._generation = generation
            self.fallback.forget_failures()

    def _load(self, settings: RecognitionSettings) -> None:
        """Load ``settings``' model; callers have followed the generation (``settings_in_force``)."""
        current = self.transcriber.loaded
        if current is None or current.name != settings.model:
            self._set_state("loading", model=settings.model)
        loaded = self.transcriber.load(settings)
        self._set_state(
            "idle",
            model=loaded.name,
            device=loaded.device,
            compute_type=loaded.compute_type,
            error=self.fallback.note,  # on a ready worker: why the saved settings are not in force
        )

    def _set_state(self, state: str, **fields: Any) -> None:
        self.store.update_worker(self.id, state=state, **fields)

    def _requeue_stale(self) -> None:
        now = time.monotonic()
        if now - self._last_stale_check < self.settings.stale_after_seconds / 4:
            return
        self._last_stale_check = now
        stale = timedelta(seconds=self.settings.stale_after_seconds)
        for task_id in self.store.requeue_abandoned(stale_after=stale):
            log.warning("task %s: its worker stopped sending heartbeats; taken back", task_id)


def _task_options(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in recognition.TASK_OPTION_FIELDS}


class _PhraseReader:
    """Pulls a run's phrases in a thread of its own and hands them to the worker thread in bursts."""

    def __init__(self, phrases: Iterator[Phrase]) -> None:
        self._phrases = phrases
        # Phrase, the decoder's exception, or None at the end; never bounded, so the decoder never waits.
        self._queue: queue.Queue[Phrase | BaseException | None] = queue.Queue()
        self._stop = threading.Event()
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="decoder", daemon=True)
        self._thread.start()

    def next_burst(self, timeout: float) -> list[Phrase] | None:
        """The phrases decoded since the last call ([] if none came within ``timeout``), or None once
        all have been read; raises what the decoder raised."""
        if self._ended:
            return None
        try:
            items = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        if isinstance(items[0], Phrase):
            time.sleep(BURST_SECONDS)
            while not self._queue.empty():  # this thread is the only reader
                items.append(self._queue.get_nowait())
        burst: list[Phrase] = []
        for item in items:
            if isinstance(item, BaseException):
                raise item
            if item is None:
                self._ended = True
                return burst or None
            burst.append(item)
        return burst

    def stop(self) -> None:
        """Stop at the next phrase: a decoding step under way cannot be interrupted."""
        self._stop.set()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the decoder to end; True once it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            for phrase in self._phrases:
                self._queue.put(phrase)
                if self._stop.is_set():
                    break
            close = getattr(self._phrases, "close", None)
            if close is not None:
                close()  # a generator stopped early lets go of the model now, not when collected
        except BaseException as exc:  # noqa: BLE001 - re-raised in the worker thread, which fails the task
            self._queue.put(exc)
        finally:
            self._queue.put(None)


class _Heartbeat:
    """Keeps a running task's heartbeat fresh while a long segment decodes; notices cancellation."""

    def __init__(self, worker: Worker, task_id: str, cancelled: threading.Event) -> None:
        self._worker = worker
        self._task_id = task_id
        self._cancelled = cancelled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        interval = self._worker.settings.heartbeat_seconds
        while not self._stop.wait(interval):
            try:
                if not self._worker.store.heartbeat_task(self._task_id, self._worker.id):
                    self._cancelled.set()
                self._worker.store.update_worker(self._worker.id)
            except DATABASE_ERRORS as exc:
                log.warning("heartbeat not saved: %s", _one_line(exc))
            except Exception:
                log.exception("heartbeat failed")
