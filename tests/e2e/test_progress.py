"""Progress and ETA of a real task with the defaults: they move from the first seconds (issue 12).

A real service with the bundled ``base`` model and default settings (batched decoding) on about
2.5 minutes of real speech, polled as the UI and 1C poll it. The batched pipeline decodes 4 minutes of
audio per batch, so before the change such a file showed progress 0 and no ETA until it was done.
"""

from __future__ import annotations

import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import repo_audio
from tests.e2e.server import ServerProcess
from tests.e2e.test_server import pcm16k, upload_and_create

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def call_of_150_seconds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's real recordings one after another with short pauses, 150 s in all."""
    clips = [pcm16k(repo_audio(name)) for name in ("multilingual.mp3", "jfk.flac", "hotwords.mp3")]
    pause = np.zeros(12000, dtype=np.int16)
    parts: list[np.ndarray] = []
    while sum(len(p) for p in parts) < 150 * 16000:
        for clip in clips:
            parts += [clip, pause]
    samples = np.concatenate(parts)[: 150 * 16000]
    path = tmp_path_factory.mktemp("progress") / "call.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(samples.tobytes())
    return path


@pytest.fixture
def default_server(tmp_path: Path, models_dir: Path) -> Iterator[ServerProcess]:
    """The service as installed: the bundled base model, batched decoding, a fresh data folder."""
    process = ServerProcess(tmp_path / "data", models_dir, env={"WHISPER_MODEL": "base"}).start()
    try:
        yield process
    finally:
        process.stop()


def _samples_until_done(server: ServerProcess, task_id: str, timeout: float = 600) -> list[dict[str, object]]:
    samples: list[dict[str, object]] = []
    deadline = time.monotonic() + timeout
    with server.client() as http:
        while time.monotonic() < deadline:
            body = http.get(f"/api/v1/status/{task_id}").json()
            samples.append(body)
            assert body["status"] != "FAILED", body
            if body["status"] == "COMPLETED":
                return samples
            time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not complete in {timeout:.0f} s: {samples[-1]}")


def test_progress_and_eta_move_from_the_first_seconds(
    default_server: ServerProcess, call_of_150_seconds: Path
) -> None:
    # The worker has calibrated base when it loaded it, so even this first task on a fresh
    # installation has an ETA.
    task_id = upload_and_create(default_server, call_of_150_seconds)
    samples = _samples_until_done(default_server, task_id)
    running = [s for s in samples if s["status"] == "IN_PROGRESS" and s["duration"] is not None]
    assert running, "the task was never seen running"

    progress = [float(s["progress"]) for s in running]  # type: ignore[arg-type]
    assert progress == sorted(progress), f"progress went back: {progress}"
    distinct = sorted(set(progress))
    assert len(distinct) >= 5, f"progress took only {distinct}"
    assert distinct[0] < 0.25, "the first progress seen was already past a quarter"

    early = [s for s in running if float(s["progress"]) < 0.25]  # type: ignore[arg-type]
    assert early
    assert all(s["eta_seconds"] is not None for s in early), f"no ETA early on: {early[:3]}"
    assert any(s["progress_estimated"] for s in running), "progress never moved between checkpoints"

    done = samples[-1]
    assert (done["progress"], done["progress_estimated"], done["eta_seconds"]) == (1.0, False, 0.0)
