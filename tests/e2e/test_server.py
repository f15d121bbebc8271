"""End to end: the real service process, the real tiny.en model, real speech, over HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import wave
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import JFK_TEXT
from tests.e2e.server import ServerProcess, wait_for

pytestmark = pytest.mark.slow


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z']+", text.lower()))


def pcm16k(path: Path) -> np.ndarray:
    """Decode any audio to 16 kHz mono int16 with PyAV."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks)


@pytest.fixture(scope="session")
def long_speech(speech_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The speech repeated with short pauses: about two minutes, long enough to interrupt."""
    samples = pcm16k(speech_file)
    pause = np.zeros(8000, dtype=np.int16)
    repeats = max(3, int(120 * 16000 / (len(samples) + len(pause))))
    data = np.concatenate([np.concatenate([samples, pause]) for _ in range(repeats)])
    path = tmp_path_factory.mktemp("long") / "long speech.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(data.tobytes())
    return path


def upload_and_create(server: ServerProcess, path: Path, name: str | None = None) -> str:
    with server.client() as http, open(path, "rb") as fh:
        upload = http.post("/api/v1/upload", files={"file": (name or path.name, fh)})
        assert upload.status_code == 200, upload.text
        created = http.post("/api/v1/create_task", json={"file_path": upload.json()["stored_path"]})
        assert created.status_code == 200, created.text
        return str(created.json()["task_id"])


def status_of(server: ServerProcess, task_id: str) -> dict[str, object]:
    with server.client() as http:
        response = http.get(f"/api/v1/status/{task_id}")
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body


def wait_status(server: ServerProcess, task_id: str, wanted: str, timeout: float = 300) -> dict[str, object]:
    def check() -> dict[str, object] | None:
        status = status_of(server, task_id)
        assert status["status"] != "FAILED", status
        return status if status["status"] == wanted else None

    result: dict[str, object] = wait_for(check, timeout=timeout, what=f"task {task_id} to be {wanted}")
    return result


def test_real_speech_end_to_end_and_restart_loses_nothing(server: ServerProcess, speech_file: Path) -> None:
    task_id = upload_and_create(server, speech_file, name="Речь президента.flac")
    status = wait_status(server, task_id, "COMPLETED")
    phrases = status["results"]["phrases"]  # type: ignore[index]
    text = " ".join(p["text"] for p in phrases)
    assert JFK_TEXT in words(text)
    assert all(0 <= p["start"] <= p["end"] <= status["duration"] + 0.5 for p in phrases)  # type: ignore[operator]

    with server.client() as http:
        srt = http.get(f"/export/{task_id}.srt")
        assert srt.status_code == 200
        assert "Речь президента.srt" in srt.headers["content-disposition"].encode("latin-1").decode(
            "utf-8"
        ) or ("%D0%A0%D0%B5%D1%87%D1%8C" in srt.headers["content-disposition"])
        assert "-->" in srt.text
        document = json.loads(http.get(f"/export/{task_id}.json").content)
        assert JFK_TEXT in words(document["text"])
        # word timings by default, the same in the status and the JSON export (whole milliseconds)
        said = [w["word"] for p in phrases for w in p["words"]]
        assert words("".join(said)) == words(text)
        exported = [w for p in document["phrases"] for w in p["words"]]
        assert [w["word"] for w in exported] == said
        assert [w["start"] for w in exported] == [round(w["start"], 3) for p in phrases for w in p["words"]]

    server.stop()
    server.start()
    again = status_of(server, task_id)
    assert again["status"] == "COMPLETED"
    assert again["results"] == status["results"]
    with server.client() as http:
        assert http.get(f"/export/{task_id}.txt").status_code == 200
        assert len(http.get("/api/v1/uploads").json()["files"]) == 1


def worker_pid(server: ServerProcess) -> int:
    with server.client() as http:
        worker = http.get("/health").json()["worker"]
    assert worker is not None
    return int(worker["pid"])


@pytest.fixture
def sequential_server(tmp_path: Path, models_dir: Path) -> Iterator[ServerProcess]:
    """Sequential decoding: phrases, and progress, come every 30-second window (batches of 8 would
    finish the 2-minute file in one step), so a kill lands in the middle of the task."""
    process = ServerProcess(tmp_path / "data", models_dir, env={"WHISPER_BATCH_SIZE": "0"}).start()
    try:
        yield process
    finally:
        process.stop()


def test_killed_worker_is_restarted_and_task_completes(
    sequential_server: ServerProcess, long_speech: Path
) -> None:
    server = sequential_server
    task_id = upload_and_create(server, long_speech)
    wait_for(
        lambda: (s := status_of(server, task_id))["status"] == "IN_PROGRESS" and float(s["progress"]) > 0,  # type: ignore[arg-type]
        timeout=120,
        what="the task to make progress",
        interval=0.1,
    )
    old_pid = worker_pid(server)
    assert os.getpriority(os.PRIO_PROCESS, old_pid) == 10, "the worker runs at a lower priority than the API"
    os.kill(old_pid, signal.SIGKILL)
    status = wait_status(server, task_id, "COMPLETED")
    assert worker_pid(server) != old_pid

    phrases = status["results"]["phrases"]  # type: ignore[index]
    starts = [p["start"] for p in phrases]
    assert starts == sorted(starts), "phrases from the killed run were kept beside the re-run's"
    assert words(" ".join(p["text"] for p in phrases)).count("your country") >= 6
    assert float(phrases[-1]["end"]) > float(status["duration"]) * 0.8  # type: ignore[arg-type]


def test_cancel_running_task_frees_the_worker(
    server: ServerProcess, long_speech: Path, speech_file: Path
) -> None:
    long_task = upload_and_create(server, long_speech)
    wait_status(server, long_task, "IN_PROGRESS", timeout=120)
    with server.client() as http:
        response = http.post(f"/api/v1/cancel/{long_task}")
    assert response.status_code == 200
    assert response.json()["status"] == "CANCELLED"
    short_task = upload_and_create(server, speech_file)
    wait_status(server, short_task, "COMPLETED", timeout=120)
    assert status_of(server, long_task)["status"] == "CANCELLED"


def test_service_killed_mid_task_completes_after_restart(server: ServerProcess, long_speech: Path) -> None:
    task_id = upload_and_create(server, long_speech)
    pending_id = upload_and_create(server, long_speech)
    wait_status(server, task_id, "IN_PROGRESS", timeout=120)
    worker = worker_pid(server)
    server.kill()
    wait_for(lambda: not _alive(worker), timeout=30, what="the orphaned worker to stop")
    server.start()
    wait_status(server, task_id, "COMPLETED")
    wait_status(server, pending_id, "COMPLETED")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
