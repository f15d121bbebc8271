"""The worker loop with a scripted engine on a real SQLite store: progress, cancellation, shutdown."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FakeTranscriber, Harness
from tests.e2e.server import wait_for
from transcriber.domain import Phrase, TaskStatus
from transcriber.engine import TranscriptionRun
from transcriber.recognition import RecognitionSettings
from transcriber.worker import ProgressClock, Worker


def test_progress_clock() -> None:
    clock = ProgressClock(duration=100.0, started=time.monotonic() - 10)
    assert clock.progress(25) == 0.25
    assert clock.progress(150) == 1.0
    assert clock.progress(-1) == 0.0
    assert clock.eta(0) is None
    eta = clock.eta(25)  # 25 s of audio in ~10 s: 75 s of audio left takes ~30 s
    assert eta is not None
    assert 25 <= eta <= 35
    assert ProgressClock(duration=0).progress(5) == 0.0


class Observing(FakeTranscriber):
    """Records what the store shows about the task each time the next phrase is about to come."""

    def __init__(self, harness: Harness, phrases: list[Phrase]) -> None:
        super().__init__(phrases=phrases, duration=phrases[-1].end)
        self.harness = harness
        self.seen: list[tuple[float, int]] = []

    def transcribe(self, audio: Path, settings: RecognitionSettings) -> TranscriptionRun:
        run = super().transcribe(audio, settings)

        def observe() -> Iterator[Phrase]:
            for phrase in run.phrases:
                task = self.harness.services.store.list_tasks()[0][0]
                self.seen.append((task.progress, len(self.harness.services.store.get_phrases(task.id))))
                yield phrase

        return TranscriptionRun(run.language, run.language_probability, run.duration, observe())


def _worker(harness: Harness, engine: FakeTranscriber, **settings: float) -> Worker:
    worker = Worker(
        store=harness.services.store,
        storage=harness.services.storage,
        transcriber=engine,
        base_settings=RecognitionSettings(),
        settings=harness.services.settings.worker.model_copy(update={"progress_seconds": 0.0, **settings}),
        worker_id="w-test",
    )
    worker.register()
    return worker


def _task(harness: Harness, audio: Path) -> str:
    upload = harness.upload(audio)
    return str(harness.client.post("/api/v1/create_task", json={"upload_id": upload["id"]}).json()["task_id"])


def test_phrases_and_progress_are_saved_as_they_come(harness: Harness, tone_wav: Path) -> None:
    task_id = _task(harness, tone_wav)
    engine = Observing(harness, [Phrase(i * 10.0, i * 10.0 + 10, f"phrase {i}") for i in range(5)])
    assert _worker(harness, engine).run_once()
    assert [saved for _, saved in engine.seen] == [0, 1, 2, 3, 4]
    assert [progress for progress, _ in engine.seen] == [0.0, 0.2, 0.4, 0.6, 0.8]
    task = harness.services.store.get_task(task_id)
    assert task is not None
    assert task.status == TaskStatus.COMPLETED
    assert task.effective is not None
    assert task.effective["WHISPER_MODEL"] == "base"
    assert [p.text for p in harness.services.store.get_phrases(task_id)] == [f"phrase {i}" for i in range(5)]


def test_heartbeat_notices_cancel_during_a_long_segment(harness: Harness, tone_wav: Path) -> None:
    task_id = _task(harness, tone_wav)
    gate = threading.Event()
    engine = FakeTranscriber(before_phrase=gate)
    worker = _worker(harness, engine, heartbeat_seconds=0.05)
    store = harness.services.store
    saves: list[float] = []
    original = store.save_progress

    def counting(*args: object, **kwargs: object) -> bool:
        saves.append(time.monotonic())
        return original(*args, **kwargs)  # type: ignore[arg-type]

    store.save_progress = counting  # type: ignore[method-assign]
    thread = threading.Thread(target=worker.run_once)
    thread.start()
    wait_for(
        lambda: (t := store.get_task(task_id)) and t.status == TaskStatus.IN_PROGRESS,
        timeout=10,
        what="start",
    )
    wait_for(lambda: saves, timeout=10, what="the first save")
    store.cancel_task(task_id)
    time.sleep(0.3)  # several heartbeats pass while the "segment" is still decoding
    gate.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(saves) == 1, "the worker tried to save after the heartbeat saw the cancel"
    assert store.get_phrases(task_id) == []
    assert [w.state for w in store.list_workers()] == ["idle"]


def test_stop_mid_task_gives_the_task_back(harness: Harness, tone_wav: Path) -> None:
    task_id = _task(harness, tone_wav)
    gate = threading.Event()
    stop = threading.Event()
    worker = _worker(harness, FakeTranscriber(before_phrase=gate))
    worker.should_stop = stop.is_set
    thread = threading.Thread(target=worker.run_forever)
    thread.start()
    store = harness.services.store
    wait_for(
        lambda: (t := store.get_task(task_id)) and t.status == TaskStatus.IN_PROGRESS,
        timeout=10,
        what="start",
    )
    stop.set()
    gate.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    task = store.get_task(task_id)
    assert task is not None
    assert task.status == TaskStatus.PENDING
    assert task.queue_position == 0
    assert task.attempts == 0, "an orderly stop must not count as a failed attempt"
    assert [w.state for w in store.list_workers()] == ["stopped"]


def test_task_of_a_silent_worker_is_taken_back_and_completed(harness: Harness, tone_wav: Path) -> None:
    task_id = _task(harness, tone_wav)
    store = harness.services.store
    assert store.claim_next("ghost") is not None  # a worker that then died without a trace
    worker = _worker(harness, FakeTranscriber(), stale_after_seconds=0.05)
    time.sleep(0.1)
    assert worker.drain() == 1
    task = store.get_task(task_id)
    assert task is not None
    assert task.status == TaskStatus.COMPLETED
    assert task.attempts == 2


@pytest.mark.parametrize("error", [RuntimeError("boom"), MemoryError(), ValueError("bad")])
def test_any_exception_fails_the_task_not_the_loop(
    harness: Harness, tone_wav: Path, error: Exception
) -> None:
    task_id = _task(harness, tone_wav)
    worker = _worker(harness, FakeTranscriber(fail_with=error))
    assert worker.run_once()
    task = harness.services.store.get_task(task_id)
    assert task is not None
    assert task.status == TaskStatus.FAILED
    assert type(error).__name__ in (task.error or "")


def test_idle_worker_follows_settings_and_does_not_retry_a_failing_load(harness: Harness) -> None:
    engine = FakeTranscriber()
    worker = _worker(harness, engine)
    worker.preload()
    worker.follow_settings()
    assert engine.loads == 1
    harness.client.post("/api/v1/settings", json={"WHISPER_MODEL": "tiny.en"})
    worker.follow_settings()
    assert engine.loaded is not None
    assert engine.loaded.name == "tiny.en"
    assert harness.client.get("/health").json()["model"] == "tiny.en"

    engine.unavailable = "cannot load"
    harness.client.post("/api/v1/reset")
    worker.follow_settings()
    attempts = engine.load_calls
    worker.follow_settings()
    worker.follow_settings()
    assert engine.load_calls == attempts
    assert harness.client.get("/health").json()["worker"]["state"] == "error"
