"""End to end: a worker on "another machine". The API runs ``serve --no-worker`` on PostgreSQL; a separate
``transcriber worker --server ... --database-url ...`` process with its own data folder (nothing shared
with the API's) fetches the audio over HTTP with its key and transcribes the real speech with tiny.en."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import JFK_TEXT
from tests.e2e.server import ServerProcess, wait_for

pytestmark = pytest.mark.slow

KEY = "e2e-worker-key-0123456789"


@pytest.fixture
def api(tmp_path: Path, models_dir: Path, postgres: Any) -> Iterator[ServerProcess]:
    database = postgres.new_database()
    env = {
        "TRANSCRIBE_DATABASE_URL": database,
        "TRANSCRIBE_WORKER__ENABLED": "false",
        "TRANSCRIBE_API_KEYS": f"remote:{KEY}",
    }
    process = ServerProcess(tmp_path / "api-data", models_dir, env=env, ready_path="/health")
    process.start()
    try:
        yield process
    finally:
        process.stop()


def start_worker(api: ServerProcess, data_dir: Path, models_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHISPER_", "TRANSCRIBE_"))} | {
        "WHISPER_MODEL": "tiny.en",
        "TRANSCRIBE_MODEL_CACHE_DIR": str(models_dir),
        "TRANSCRIBE_WORKER__API_KEY": KEY,
        "TRANSCRIBE_WORKER__CPU_THREADS": "2",
        "TRANSCRIBE_WORKER__HEARTBEAT_SECONDS": "0.5",
        "HF_HUB_OFFLINE": "1",
    }
    database = api.extra_env["TRANSCRIBE_DATABASE_URL"]
    command = [sys.executable, "-m", "transcriber", "worker", "--database-url", database]
    command += ["--server", api.url, "--data-dir", str(data_dir)]
    log = open(data_dir.parent / "worker.log", "ab")  # noqa: SIM115 - handed to the child process
    try:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


def test_a_worker_on_another_machine_fetches_the_audio_and_transcribes_it(
    api: ServerProcess, tmp_path: Path, models_dir: Path, speech_file: Path
) -> None:
    worker_dir = tmp_path / "worker-data"
    worker = start_worker(api, worker_dir, models_dir)
    log = tmp_path / "worker.log"
    http = httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    try:
        ready = wait_for(
            lambda: worker.poll() is None and http.get("/health/ready").status_code == 200,
            timeout=180,
            what="the remote worker to be ready",
        )
        assert ready, log.read_text(errors="replace")
        with open(speech_file, "rb") as fh:
            upload = http.post("/api/v1/upload", files={"file": (speech_file.name, fh)})
        assert upload.status_code == 200, upload.text
        task_id = http.post("/api/v1/create_task", json={"upload_id": upload.json()["id"]}).json()["task_id"]

        def finished() -> dict[str, Any] | None:
            assert worker.poll() is None, log.read_text(errors="replace")
            status: dict[str, Any] = http.get(f"/api/v1/status/{task_id}").json()
            return status if status["status"] in ("COMPLETED", "FAILED") else None

        status = wait_for(finished, timeout=240, what=f"task {task_id} to finish")
        assert status["status"] == "COMPLETED", (status, log.read_text(errors="replace"))
        text = " ".join(
            re.findall(r"[a-z']+", " ".join(p["text"] for p in status["results"]["phrases"]).lower())
        )
        assert JFK_TEXT in text

        written = log.read_text(errors="replace")
        assert f"audio fetched from {api.url}" in written
        assert KEY not in written + api.log()
        assert list((worker_dir / "fetched").iterdir()) == []  # the copy is gone with the task
        assert not (worker_dir / "uploads").exists()  # nothing read from a local upload folder
        assert {w["host"] for w in http.get("/health").json()["workers"]}  # the remote worker is listed
    finally:
        http.close()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
