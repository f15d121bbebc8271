"""The worker: takes tasks from the store one at a time (FIFO), transcribes them, reports progress.

A worker never lets an exception end its loop: a task that fails is marked FAILED with a message.
A saved model, device or compute type that cannot be loaded does not fail tasks: the worker runs
with settings that load and says so in its state (``fallback``); only a task's own ``model`` option,
or no model loading at all, fails a task. ``drain()`` processes the queue until it is empty, so
tests never sleep.

The engine's phrases are read in a thread of their own (``phrases.PhraseReader``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Unpack

from transcriber import recognition
from transcriber.config import WorkerSettings
from transcriber.domain import Phrase, WorkerState
from transcriber.errors import ModelUnavailable, ServiceError
from transcriber.fallback import EngineKey, SettingsFallback
from transcriber.recognition import Device, RecognitionSettings
from transcriber.storage import UploadStorage
from transcriber.store import SqlTaskStore, TaskRecord
from transcriber.store.workers import WorkerFields
from transcriber.transcription import LoadedModel, Transcriber
from transcriber.worker import calibration
from transcriber.worker.audio import AudioSource, AudioUnreachable, audio_source
from transcriber.worker.claiming import pinned, preferences
from transcriber.worker.heartbeat import TaskHeartbeat
from transcriber.worker.outage import DATABASE_ERRORS, DatabaseOutage, one_line
from transcriber.worker.phrases import PhraseReader
from transcriber.worker.progress import ProgressEstimator
from transcriber.worker.sweep import StaleSweep
from transcriber.worker.wakeup import wakeup_for

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
"""How often a running task looks at cancellation and shutdown while no phrase comes."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


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
        storage: UploadStorage | None = None,
        transcriber: Transcriber,
        base_settings: RecognitionSettings,
        settings: WorkerSettings,
        worker_id: str | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        audio: AudioSource | None = None,
        device: Device | None = None,
    ) -> None:
        self.device = device  # pinned (``worker --device``): saved settings do not move the worker off it
        self.store = store
        self.audio = audio_source(audio, storage)  # where a task's audio comes from (default: storage)
        self.transcriber = transcriber
        self.base_settings = base_settings
        self.settings = settings
        self.id = worker_id or new_worker_id()
        self.should_stop = should_stop
        self._generation = store.model_generation()
        self._sweep = StaleSweep(store=store, settings=settings, worker_id=self.id, rejoin=self._rejoin)
        self.wakeup = wakeup_for(store.engine, listen=settings.listen)  # how an idle worker waits
        self._preloaded_for: tuple[int, EngineKey] | None = None
        self.fallback = SettingsFallback(baseline=base_settings)
        self._reader: PhraseReader | None = None  # the last task's decoder, until run_once waited for it
        self._orphan: str | None = None  # a task whose outcome could not be written: given back later
        self.outage = DatabaseOutage()

    # -- lifecycle ------------------------------------------------------------------------------------

    def register(self) -> None:
        self.store.register_worker(self.id, pid=os.getpid(), host=socket.gethostname())

    def _rejoin(self) -> None:
        self.register()
        self._preloaded_for = None  # the next idle moment writes the model and state again

    def global_settings(self) -> RecognitionSettings:
        layered = recognition.layered(base=self.base_settings, saved=self.store.get_settings())
        return pinned(layered, device=self.device, models=self.settings.models)

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
            self._set_state(WorkerState.IDLE)
        except (ServiceError, ValueError) as exc:
            detail = exc.detail if isinstance(exc, ServiceError) else str(exc)
            self._set_state(WorkerState.ERROR, error=detail)

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
            if not worked and self.wakeup.wait(self.settings.poll_seconds):
                last_beat = 0.0  # woken: perhaps by new settings, so follow them now if no task came
        self.wakeup.close()
        self._until_database_answers(self._stop, attempts=5)

    def _stop(self) -> None:
        self._give_back_orphan()
        self.store.requeue_abandoned(worker_id=self.id)
        self._set_state(WorkerState.STOPPED)

    def _until_database_answers(self, step: Callable[[], None], *, attempts: int | None = None) -> None:
        """Run ``step`` once the database answers (at most ``attempts`` tries; None: until stopped)."""
        tried = 0
        while True:
            try:
                step()
            except DATABASE_ERRORS as exc:
                tried += 1
                if (attempts is not None and tried >= attempts) or (attempts is None and self.should_stop()):
                    log.warning("giving up on the database: %s", one_line(exc))
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
        self._sweep.maybe_run()
        prefs = preferences(self.settings, loaded=self.transcriber.loaded, preloaded=self._preloaded_for)
        task = self.store.claim_next(self.id, prefs)
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
            self.audio.release(task.id)
        if self.transcriber.loaded is not None:
            self._set_state(WorkerState.IDLE, current_task_id=None)
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
        except AudioUnreachable as exc:  # not the task's fault: it waits for this worker or another one
            self.store.release_task(task.id, self.id)
            log.warning("task %s: given back to the queue: %s", task.id, exc.detail)
            self._sleep(exc.pause)
        except ModelUnavailable as exc:  # the task's own model option, or no model loads at all
            self.store.fail_task(task.id, self.id, exc.detail)
            try:
                self.settings_in_force()  # ready again for the next task, if the global settings load
            except ServiceError:
                self._set_state(WorkerState.ERROR, error=exc.detail)
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
        self._load(settings)
        self._set_state(WorkerState.BUSY, current_task_id=task.id)
        cancelled = threading.Event()
        beat = TaskHeartbeat(
            store=self.store,
            worker_id=self.id,
            task_id=task.id,
            interval=self.settings.heartbeat_seconds,
            cancelled=cancelled,
        )
        beat.start()
        try:
            audio = self.audio.fetch(task.id, upload, check=lambda: self._check(cancelled))
            self._transcribe(task, settings, audio, cancelled)
        finally:
            beat.stop()

    def _transcribe(
        self, task: TaskRecord, settings: RecognitionSettings, audio: Any, cancelled: threading.Event
    ) -> None:
        started = time.monotonic()
        run = self.transcriber.transcribe(audio, settings, duration=task.upload_duration)
        loaded = self.transcriber.loaded
        estimator = ProgressEstimator(
            duration=run.duration, prior_speed=self._expected_speed(loaded), started=started
        )
        effective = recognition.public_dict(settings)
        if loaded is not None:
            effective.update(resolved_device=loaded.device, resolved_compute_type=loaded.compute_type)
        if self.fallback.note is not None:
            effective["settings_fallback"] = self.fallback.note
        saved = 0
        pending: list[Phrase] = []
        reading = estimator.read(decoded=0.0, decoding=run.progress.decoding)
        if not self.store.save_progress(
            task.id, self.id, progress=0.0, eta_seconds=reading.eta_seconds, first_index=0,
            language=run.language, duration=run.duration, effective=effective, speakers=run.speakers,
        ):  # fmt: skip
            raise TaskCancelled
        last_save = time.monotonic()
        reached = 0.0  # the end of the last phrase handed out
        reader = self._reader = PhraseReader(run.phrases)
        try:
            while (burst := reader.next_burst(timeout=POLL_SECONDS)) is not None:
                self._check(cancelled)
                pending += burst
                if burst:
                    reached = max(reached, burst[-1].end)
                now = time.monotonic()
                if now - last_save >= self.settings.progress_seconds:
                    # Between the engine's checkpoints the progress moves on as an estimate.
                    reading = estimator.read(
                        decoded=max(reached, run.progress.decoded), decoding=run.progress.decoding, now=now
                    )
                    ok = self.store.save_progress(
                        task.id, self.id, progress=reading.progress, eta_seconds=reading.eta_seconds,
                        progress_estimated=reading.estimated, first_index=saved, new_phrases=pending,
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
            redecoded_windows=run.redecoded,
            dropped_phrases=run.dropped,
            speakers=run.speakers,
        ):
            raise TaskCancelled
        if run.undecoded_seconds:
            log.warning("task %s: %.1f s of the audio could not be decoded", task.id, run.undecoded_seconds)
        if run.redecoded or run.dropped:
            log.info(
                "task %s: %d looping window(s) decoded again, %d invented phrase(s) dropped",
                task.id, run.redecoded, run.dropped,
            )  # fmt: skip
        log.info("task %s: completed, %d phrases", task.id, saved + len(pending))

    # -- helpers --------------------------------------------------------------------------------------

    def _check(self, cancelled: threading.Event) -> None:
        """Raise if the running task must stop: no longer ours (cancelled), or the worker stopping."""
        if cancelled.is_set():
            raise TaskCancelled
        if self.should_stop():
            raise WorkerStopping

    def _wait_for_decoder(self) -> None:
        """Wait until the last task's decoder has let go of the model, so it never runs for two tasks at
        once. A decoding step cannot be interrupted and a silent stretch can be long: keep beating."""
        reader, self._reader = self._reader, None
        while reader is not None and not reader.join(timeout=self.settings.heartbeat_seconds):
            with contextlib.suppress(*DATABASE_ERRORS):  # the loop reports the outage; still wait
                self.store.update_worker(self.id)

    def _expected_speed(self, loaded: LoadedModel | None) -> float | None:
        """The speed measured on this machine for the loaded model and device, if any."""
        if loaded is None:
            return None
        return self.store.measured_speed(loaded.name, device=loaded.device, compute_type=loaded.compute_type)

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
            self._set_state(WorkerState.LOADING, model=settings.model)
        loaded = self.transcriber.load(settings)
        if self.settings.calibrate:
            calibration.calibrate_unmeasured(self.store, self.transcriber, settings, loaded)
        self._set_state(
            WorkerState.IDLE,
            model=loaded.name,
            device=loaded.device,
            compute_type=loaded.compute_type,
            error=self.fallback.note,  # on a ready worker: why the saved settings are not in force
        )

    def _set_state(self, state: WorkerState, **fields: Unpack[WorkerFields]) -> None:
        self.store.update_worker(self.id, state=state, **fields)


def _task_options(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in recognition.TASK_OPTION_FIELDS}
