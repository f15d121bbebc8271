"""The worker loop with a scripted engine on a real SQLite store: progress, cancellation, shutdown."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from tests.conftest import FakeTranscriber, Harness, repo_audio
from tests.e2e.server import wait_for
from tests.test_decoding import damaged
from transcriber import schema as t
from transcriber.clock import utcnow
from transcriber.decoding import DecodeLimits
from transcriber.domain import Phrase, TaskStatus
from transcriber.engine import WhisperTranscriber
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings
from transcriber.store import SqlTaskStore
from transcriber.transcription import TranscriptionRun
from transcriber.worker import Worker


class Scripted(FakeTranscriber):
    """A fake engine whose phrases come from ``decode()``, a generator written by the test."""

    def __init__(self, decode: Callable[[], Iterator[Phrase]], duration: float) -> None:
        super().__init__(duration=duration)
        self.decode = decode

    def transcribe(
        self,
        audio: Path,
        settings: RecognitionSettings,
        *,
        duration: float | None = None,
        guard_loops: bool = True,
    ) -> TranscriptionRun:
        run = super().transcribe(audio, settings)
        return TranscriptionRun(run.language, run.language_probability, run.duration, self.decode())


class Silent(Scripted):
    """One phrase, then a long silence (until ``resume`` is set, 30 s at most), then two more phrases.
    Records which phrases the worker pulled and whether the generator was closed."""

    def __init__(self) -> None:
        super().__init__(self._decode, duration=60.0)
        self.resume = threading.Event()
        self.pulled: list[str] = []
        self.closed = False

    def _decode(self) -> Iterator[Phrase]:
        try:
            for phrase in [
                Phrase(0.0, 10.0, "before"),
                Phrase(40.0, 50.0, "after"),
                Phrase(50.0, 60.0, "later"),
            ]:
                if phrase.text == "after":
                    self.resume.wait(timeout=30)
                self.pulled.append(phrase.text)
                yield phrase
        finally:
            self.closed = True


def _record_saves(store: SqlTaskStore) -> list[tuple[float, list[Phrase]]]:
    """Wrap ``store.save_progress`` to record the progress and the new phrases of each call."""
    saves: list[tuple[float, list[Phrase]]] = []
    original = store.save_progress

    def recording(task_id: str, worker_id: str, **kwargs: Any) -> bool:
        saves.append((kwargs["progress"], list(kwargs.get("new_phrases", ()))))
        return original(task_id, worker_id, **kwargs)

    store.save_progress = recording  # type: ignore[method-assign]
    return saves


def _wait_saved(store: SqlTaskStore, task_id: str, count: int) -> None:
    wait_for(
        lambda: len(store.get_phrases(task_id)) >= count,
        timeout=10,
        what=f"{count} saved phrases",
        interval=0.01,
    )


def _decoders() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "decoder"]


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


@pytest.mark.parametrize("size", [1, 4])
def test_progress_is_saved_at_the_last_phrase_of_each_burst(
    harness: Harness, tone_wav: Path, size: int
) -> None:
    """faster-whisper yields the phrases of a window together once the window is decoded: the saved
    position is the burst's last phrase, which is where decoding really is, not its first."""
    task_id = _task(harness, tone_wav)
    store = harness.services.store
    phrases = [Phrase(i * 10.0, i * 10.0 + 10, f"phrase {i}") for i in range(12)]
    bursts = [phrases[i : i + size] for i in range(0, len(phrases), size)]

    def decode() -> Iterator[Phrase]:
        saved = 0
        for burst in bursts:
            for phrase in burst:
                yield phrase
                time.sleep(0)  # microseconds apart, letting the worker thread run in between
            saved += len(burst)
            _wait_saved(store, task_id, saved)  # the next window decodes once this burst is saved

    saves = _record_saves(store)
    assert _worker(harness, Scripted(decode, duration=120.0)).run_once()
    task = store.get_task(task_id)
    assert task is not None
    assert task.status == TaskStatus.COMPLETED, task.error
    assert [[p.text for p in new] for _, new in saves] == [[]] + [[p.text for p in b] for b in bursts]
    assert [progress * 120 for progress, _ in saves] == pytest.approx([0.0] + [b[-1].end for b in bursts])
    assert store.get_phrases(task_id) == phrases
    assert task.effective is not None
    assert task.effective["WHISPER_MODEL"] == "base"


def test_heartbeat_notices_cancel_during_a_long_segment(
    harness: Harness, tone_wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = _task(harness, tone_wav)
    gate = threading.Event()
    engine = FakeTranscriber(before_phrase=gate)
    worker = _worker(harness, engine, heartbeat_seconds=0.05)
    store = harness.services.store
    saves = _record_saves(store)
    # The heartbeat thread refuses the task (heartbeat_task is False), sets the cancel flag, then renews
    # the worker's record: once that renewal comes after a refusal, the flag is certainly set.
    refused, noticed = threading.Event(), threading.Event()
    heartbeat_task, update_worker = store.heartbeat_task, store.update_worker

    def watched_heartbeat(*args: Any, **kwargs: Any) -> bool:
        alive = heartbeat_task(*args, **kwargs)
        if not alive:
            refused.set()
        return alive

    def watched_update(*args: Any, **kwargs: Any) -> None:
        update_worker(*args, **kwargs)
        if refused.is_set():
            noticed.set()

    monkeypatch.setattr(store, "heartbeat_task", watched_heartbeat)
    monkeypatch.setattr(store, "update_worker", watched_update)
    thread = threading.Thread(target=worker.run_once)
    thread.start()
    wait_for(
        lambda: (t := store.get_task(task_id)) and t.status == TaskStatus.IN_PROGRESS,
        timeout=10,
        what="start",
    )
    wait_for(lambda: saves, timeout=10, what="the first save")
    store.cancel_task(task_id)
    assert noticed.wait(10), "no heartbeat saw the cancel while the segment was still decoding"
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


def test_cancel_during_a_silence_stops_the_task_before_the_next_phrase(
    harness: Harness, tone_wav: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="transcriber.worker")
    task_id = _task(harness, tone_wav)
    engine = Silent()
    store = harness.services.store
    thread = threading.Thread(target=_worker(harness, engine, heartbeat_seconds=0.05).run_once)
    thread.start()
    try:
        _wait_saved(store, task_id, 1)
        store.cancel_task(task_id)
        wait_for(lambda: "no longer ours" in caplog.text, timeout=10, what="the worker to stop the task")
        assert engine.pulled == ["before"], "the silence is not over yet"
        assert thread.is_alive(), "the worker must wait until the decoder lets go of the model"
    finally:
        engine.resume.set()  # the decoder reaches its next phrase
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert not _decoders()
    assert engine.pulled == ["before", "after"], "the decoder went on after the cancel"
    assert engine.closed
    task = store.get_task(task_id)
    assert task is not None
    assert task.status == TaskStatus.CANCELLED
    assert [p.text for p in store.get_phrases(task_id)] == ["before"]
    assert [w.state for w in store.list_workers()] == ["idle"]


def test_stop_during_a_silence_gives_the_task_back_at_once(harness: Harness, tone_wav: Path) -> None:
    task_id = _task(harness, tone_wav)
    engine = Silent()
    stop = threading.Event()
    worker = _worker(harness, engine)
    worker.should_stop = stop.is_set
    store = harness.services.store
    thread = threading.Thread(target=worker.run_forever)
    thread.start()
    try:
        _wait_saved(store, task_id, 1)
        stop.set()
        wait_for(
            lambda: (t := store.get_task(task_id)) and t.status == TaskStatus.PENDING,
            timeout=10,
            what="the task to be given back",
            interval=0.05,
        )
        assert engine.pulled == ["before"], "the silence is not over yet"
        assert thread.is_alive(), "the worker must wait until the decoder lets go of the model"
    finally:
        engine.resume.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert not _decoders()
    assert engine.pulled == ["before", "after"]
    task = store.get_task(task_id)
    assert task is not None
    assert task.status == TaskStatus.PENDING
    assert task.attempts == 0
    assert store.get_phrases(task_id) == []
    assert [w.state for w in store.list_workers()] == ["stopped"]


def test_an_error_in_the_middle_of_decoding_fails_the_task(harness: Harness, tone_wav: Path) -> None:
    task_id = _task(harness, tone_wav)

    def decode() -> Iterator[Phrase]:
        yield Phrase(0.0, 10.0, "first")
        yield Phrase(10.0, 20.0, "second")
        raise RuntimeError("the decoder broke at 20 s")

    assert _worker(harness, Scripted(decode, duration=60.0)).run_once()
    assert not _decoders()
    task = harness.services.store.get_task(task_id)
    assert task is not None
    assert task.status == TaskStatus.FAILED
    assert task.error == "transcription failed: RuntimeError: the decoder broke at 20 s"


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


def test_a_long_silent_worker_leaves_the_list_and_its_task_runs_here(
    harness: Harness, tone_wav: Path
) -> None:
    """Who ran what: the status and the task list name the worker and its host; a worker silent for
    ``forget_after_seconds`` is not in /health and the next sweep deletes it, its task taken back."""
    task_id = _task(harness, tone_wav)
    store = harness.services.store
    store.register_worker("ghost", pid=1, host="elsewhere")
    assert store.claim_next("ghost") is not None
    assert harness.client.get(f"/api/v1/status/{task_id}").json()["worker_host"] == "elsewhere"
    hour_ago = utcnow() - timedelta(hours=1)
    with store.engine.begin() as conn:
        conn.execute(update(t.workers).values(heartbeat_at=hour_ago))
        conn.execute(update(t.tasks).values(heartbeat_at=hour_ago))
    assert [w["id"] for w in harness.client.get("/health").json()["workers"]] == []  # hidden at once
    worker = _worker(harness, FakeTranscriber())
    assert worker.drain() == 1
    assert [w.id for w in store.list_workers()] == ["w-test"]  # the ghost's record is deleted
    status = harness.client.get(f"/api/v1/status/{task_id}").json()
    assert (status["status"], status["worker_id"], status["worker_host"]) == (
        "COMPLETED", "w-test", socket.gethostname(),
    )  # fmt: skip
    [listed] = harness.client.get("/api/v1/tasks").json()["tasks"]
    assert (listed["worker_id"], listed["worker_host"]) == ("w-test", socket.gethostname())
    [row] = harness.client.get("/health").json()["workers"]
    assert (row["id"], row["host"], row["state"]) == ("w-test", socket.gethostname(), "idle")
    assert row["heartbeat_at"] >= row["started_at"]


def test_a_forgotten_worker_registers_again(harness: Harness) -> None:
    worker = _worker(harness, FakeTranscriber())
    harness.services.store.remove_worker("w-test")  # another worker's sweep, after a long silence
    assert worker.run_once() is False
    assert [w.id for w in harness.services.store.list_workers()] == ["w-test"]


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


# -- the real engine on recordings that are damaged or longer than the limit ---------------------------


@pytest.fixture
def real_engine(models_dir: Path) -> Callable[..., WhisperTranscriber]:
    def make(**limits: Any) -> WhisperTranscriber:
        return WhisperTranscriber(ModelCatalog(models_dir), cpu_threads=2, limits=DecodeLimits(**limits))

    return make


def _tiny_en(harness: Harness) -> None:
    harness.services.store.save_settings({"WHISPER_MODEL": "tiny.en", "WHISPER_BEAM": 1}, bump_model=False)


@pytest.mark.slow
def test_decoding_past_the_longest_duration_fails_the_task_naming_the_limit(
    harness: Harness, real_engine: Callable[..., WhisperTranscriber]
) -> None:
    # The upload was admitted (its length could not be known, or the limit was lowered since): the
    # worker stops decoding at the limit. Before: the whole file was decoded and transcribed.
    _tiny_en(harness)
    task_id = _task(harness, repo_audio("jfk.flac"))  # 11 s
    harness.engine = real_engine(max_seconds=5.0)
    assert harness.drain() == 1
    task = harness.services.store.get_task(task_id)
    assert task is not None
    assert task.status == TaskStatus.FAILED
    assert task.error is not None
    assert "longer than the limit of 5.0 s (TRANSCRIBE_LIMITS__MAX_DURATION_SECONDS)" in task.error
    assert harness.services.store.get_phrases(task_id) == []


@pytest.mark.slow
def test_a_damaged_mp3_is_transcribed_to_its_end_with_a_warning(
    harness: Harness, real_engine: Callable[..., WhisperTranscriber], tmp_path: Path
) -> None:
    # Before: COMPLETED with duration 29.9 and phrases up to 29 s, nothing said about the rest.
    _tiny_en(harness)
    path = damaged(repo_audio("multilingual.mp3"), tmp_path / "bad.mp3", size=64)
    task_id = _task(harness, path)
    harness.engine = real_engine(max_seconds=3600.0)
    assert harness.drain() == 1
    status = harness.client.get(f"/api/v1/status/{task_id}").json()
    assert status["status"] == "COMPLETED", status["error"]
    assert status["duration"] > 59.5
    assert max(p["end"] for p in status["results"]["phrases"]) > 45.0
    [warning] = status["warnings"]
    assert warning["code"] == "undecodable_audio"
    assert 0.0 < warning["seconds"] < 0.1
