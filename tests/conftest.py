"""Shared fixtures: real audio, a session-wide model cache, app clients, and a fake engine for fast tests."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from transcriber.api import create_app
from transcriber.api.state import AppState, app_state
from transcriber.config import Settings, WorkerSettings
from transcriber.decoding import DecodeReport, pcm_blocks
from transcriber.domain import Phrase
from transcriber.errors import ModelUnavailable
from transcriber.recognition import RecognitionSettings
from transcriber.transcription import LoadedModel, TranscriptionRun
from transcriber.worker import Worker

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"
"""The recordings the suite needs, carried by the repository (see ``tests/data/SOURCES.md``)."""
SHARED_AUDIO = ROOT.parent / "shared" / "audio"
"""Optional extra recordings beside the project: they may add cases, never be required."""
JFK_TEXT = "ask not what your country can do for you"


def repo_audio(name: str) -> Path:
    """One of the repository's own recordings (``tests/data``); a missing one is an error, not a skip."""
    path = TEST_DATA / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the repository")
    return path


def espeak(text: str, out: Path, *, voice: str = "en-us", speed: int = 150) -> Path:
    """Speak ``text`` into a WAV with espeak-ng; skips the test when espeak-ng is missing."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed")
    subprocess.run([exe, "-v", voice, "-s", str(speed), "-w", str(out), text], check=True)
    return out


@pytest.fixture(scope="session")
def speech_file() -> Path:
    """Real English speech containing JFK_TEXT: the repository's own ``jfk.flac``."""
    return repo_audio("jfk.flac")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the whole session, so bundled models are assembled once."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def settings(tmp_path: Path, models_dir: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        model_cache_dir=models_dir,
        # The fake engines have no speed to measure; real_harness and the e2e servers calibrate.
        worker=WorkerSettings(enabled=False, heartbeat_seconds=0.2, poll_seconds=0.05, calibrate=False),
        allowed_hosts=["testserver"],  # the Host header Starlette's TestClient sends
    )


@dataclass
class FakeTranscriber:
    """A stand-in engine for fast API and worker tests: yields scripted phrases."""

    phrases: list[Phrase] = field(
        default_factory=lambda: [Phrase(0.0, 1.5, "Привет, мир."), Phrase(1.5, 3.0, "Second phrase.")]
    )
    duration: float = 3.0
    language: str = "ru"
    fail_with: Exception | None = None
    unavailable: str | None = None
    before_phrase: threading.Event | None = None
    decode: bool = False
    """Decode the audio for real (``decoding.pcm_blocks``) and report its length and what was lost."""
    seen_settings: list[RecognitionSettings] = field(default_factory=list)
    loads: int = 0
    load_calls: int = 0
    _loaded: LoadedModel | None = None

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def load(self, settings: RecognitionSettings) -> LoadedModel:
        self.load_calls += 1
        if self.unavailable:
            raise ModelUnavailable(self.unavailable)
        if self._loaded is None or self._loaded.name != settings.model:
            self.loads += 1
            self._loaded = LoadedModel(settings.model, "/fake", "cpu", "int8", True)
        return self._loaded

    def unload(self) -> None:
        self._loaded = None

    def transcribe(
        self,
        audio: Path,
        settings: RecognitionSettings,
        *,
        duration: float | None = None,
        guard_loops: bool = True,
    ) -> TranscriptionRun:
        self.load(settings)
        self.seen_settings.append(settings)
        assert audio.is_file()

        def generate() -> Iterator[Phrase]:
            if self.decode:
                report = DecodeReport()
                for _block in pcm_blocks(audio, report=report):
                    pass
                run.duration, run.undecoded_seconds = report.decoded_seconds, report.lost_seconds
            for phrase in self.phrases:
                if self.before_phrase is not None:
                    self.before_phrase.wait(timeout=10)
                if self.fail_with is not None:
                    raise self.fail_with
                yield phrase

        run = TranscriptionRun(
            language=self.language, language_probability=0.99, duration=self.duration, phrases=iter(())
        )
        run.phrases = generate()
        return run


@dataclass
class Harness:
    """An app under TestClient plus an in-process worker drained on demand (no sleeping)."""

    client: TestClient
    services: AppState
    engine: Any

    def worker(self) -> Worker:
        worker = Worker(
            store=self.services.store,
            storage=self.services.storage,
            transcriber=self.engine,
            base_settings=self.services.baseline,
            settings=self.services.settings.worker,
            worker_id="test-worker",
        )
        worker.register()
        return worker

    def drain(self) -> int:
        return self.worker().drain()

    def upload(self, path: Path, name: str | None = None) -> dict[str, object]:
        with open(path, "rb") as fh:
            response = self.client.post("/api/v1/upload", files={"file": (name or path.name, fh)})
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    def transcribe(self, path: Path, **options: Any) -> dict[str, Any]:
        """Upload ``path``, create its task (with task ``options``), run the worker until the queue is
        empty; the task's status."""
        upload = self.upload(path)
        created = self.client.post("/api/v1/create_task", json={"upload_id": upload["id"], **options})
        assert created.status_code == 200, created.text
        task_id = created.json()["task_id"]
        assert self.drain() == 1
        status: dict[str, Any] = self.client.get(f"/api/v1/status/{task_id}").json()
        return status


@contextmanager
def real_harness(settings: Settings, models_dir: Path) -> Iterator[Harness]:
    """A :class:`Harness` with the real engine on the bundled ``tiny.en`` (beam 1, the fastest)."""
    from transcriber.engine import WhisperTranscriber
    from transcriber.model_catalog import ModelCatalog

    settings.worker = WorkerSettings(enabled=False)
    app = create_app(settings, environ={"WHISPER_MODEL": "tiny.en", "WHISPER_BEAM": "1"})
    with TestClient(app) as client:
        engine = WhisperTranscriber(ModelCatalog(models_dir), cpu_threads=2)
        yield Harness(client=client, services=app_state(app), engine=engine)


@pytest.fixture
def harness(settings: Settings) -> Iterator[Harness]:
    app = create_app(settings, environ={})
    with TestClient(app) as client:
        yield Harness(client=client, services=app_state(app), engine=FakeTranscriber())


@pytest.fixture(scope="session")
def tone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of a 440 Hz tone as 16-bit mono WAV (valid audio, no speech)."""
    import math
    import struct
    import wave

    path = tmp_path_factory.mktemp("audio") / "tone.wav"
    rate = 16000
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(rate * 2)
        )
        out.writeframes(frames)
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    """A PostgreSQL cluster for the session; ``postgres.new_database()`` gives a fresh database URL."""
    from tests.postgres import start_cluster

    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
