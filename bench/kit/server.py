"""The service under test: ``python -m transcriber serve --port P --data-dir D`` in a subprocess on a
free port of 127.0.0.1, with the model from a warm cache, offline, on defaults (plus whatever
``TRANSCRIBE_*`` settings a benchmark adds), stopped with SIGTERM; and the API calls the benchmarks make.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from .errors import BenchError
from .settings import COMPUTE_TYPE, DEVICE

POLL_SECONDS = 0.05


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_environment(model: str, models_dir: Path) -> dict[str, str]:
    """Our environment without any WHISPER_*/TRANSCRIBE_* setting, so the service runs on defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHISPER_", "TRANSCRIBE_"))}
    return env | {
        "WHISPER_MODEL": model,
        "WHISPER_DEVICE": DEVICE,
        "WHISPER_COMPUTE_TYPE": COMPUTE_TYPE,
        "TRANSCRIBE_MODEL_CACHE_DIR": str(models_dir),
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }


class Server:
    """``transcriber serve`` on a free port with its own data directory under ``work``."""

    def __init__(
        self, work: Path, model: str, models_dir: Path, env: Mapping[str, str] | None = None
    ) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.data_dir = work / "data"
        self.log_path = work / "server.log"
        self.env = server_environment(model, models_dir) | dict(env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def __enter__(self) -> Server:
        command = [sys.executable, "-m", "transcriber", "serve", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.client.close()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    def wait_ready(self, timeout: float = 300) -> dict[str, Any]:
        """Wait for ``/health/ready`` to answer 200 (a worker has loaded the model); return the report."""
        return dict(self.wait_for("/health/ready", timeout, "was not ready").json())

    def wait_for(self, path: str, timeout: float, failure: str, poll: float = 0.2) -> httpx.Response:
        """Poll ``path`` until it answers 200 (raises if the service exits or ``timeout`` passes)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"the service exited early; its log:\n{self.log_tail()}")
            try:
                answer = self.client.get(path, timeout=2)
                if answer.status_code == 200:
                    return answer
            except httpx.TransportError:
                pass
            time.sleep(poll)
        raise BenchError(f"the service {failure} after {timeout:.0f} s; its log:\n{self.log_tail()}")

    @staticmethod
    def ok(answer: httpx.Response) -> dict[str, Any]:
        """The JSON body of a 200 answer; anything else stops the benchmark with the answer's text."""
        if answer.status_code != 200:
            raise BenchError(
                f"{answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text}"
            )
        return dict(answer.json())

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def wait_api(self, timeout: float = 120) -> float:
        """Wait until ``/health`` answers 200 (the API is up, with or without a worker)."""
        self.wait_for("/health", timeout, "API did not come up", poll=POLL_SECONDS)
        return time.perf_counter()

    def upload(self, path: Path) -> dict[str, Any]:
        with open(path, "rb") as fh:
            return self.ok(self.client.post("/api/v1/upload", files={"file": (path.name, fh)}))

    def create_task(self, stored_path: str) -> str:
        answer = self.ok(self.client.post("/api/v1/create_task", json={"file_path": stored_path}))
        return str(answer["task_id"])

    def status(self, task_id: str) -> dict[str, Any]:
        return self.ok(self.client.get(f"/api/v1/status/{task_id}"))

    def cancel(self, task_id: str) -> None:
        self.client.post(f"/api/v1/cancel/{task_id}")

    def delete_upload(self, upload_id: str) -> None:
        self.ok(self.client.delete(f"/api/v1/uploads/{upload_id}"))

    def wait_status(self, task_id: str, timeout: float, *, min_progress: float = 0.0) -> dict[str, Any]:
        """Poll until the task is finished, or running with at least ``min_progress`` (if > 0)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status(task_id)
            if status["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
                return status
            if min_progress > 0 and status["status"] == "IN_PROGRESS" and status["progress"] >= min_progress:
                return status
            time.sleep(POLL_SECONDS)
        raise BenchError(f"task {task_id} did not get there in {timeout:.0f} s; log:\n{self.log_tail()}")

    def wait_worker_idle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            worker = self.client.get("/health").json().get("worker") or {}
            if worker.get("state") == "idle" and not worker.get("current_task_id"):
                return
            time.sleep(POLL_SECONDS * 4)
        raise BenchError(f"the worker did not become idle in {timeout:.0f} s")
