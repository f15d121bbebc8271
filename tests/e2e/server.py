"""A real service process on a free local port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll until ``predicate`` returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class ServerProcess:
    """``python -m transcriber serve`` with its own data directory; stopped by ``stop()``."""

    def __init__(
        self,
        data_dir: Path,
        models_dir: Path,
        *,
        env: dict[str, str] | None = None,
        ready_path: str = "/health/ready",
    ) -> None:
        self.data_dir = data_dir
        self.models_dir = models_dir
        self.extra_env = env or {}
        self.ready_path = ready_path
        """What answers 200 once the service is up: ``/health`` for one without a worker of its own."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    def start(self) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WHISPER_", "TRANSCRIBE_"))} | {
            "WHISPER_MODEL": "tiny.en",
            "TRANSCRIBE_MODEL_CACHE_DIR": str(self.models_dir),
            "TRANSCRIBE_WORKER__HEARTBEAT_SECONDS": "0.5",
            "TRANSCRIBE_WORKER__CANCEL_GRACE_SECONDS": "3",
            "TRANSCRIBE_WORKER__RESTART_BACKOFF_SECONDS": "0.2",
            "TRANSCRIBE_WORKER__CPU_THREADS": "2",
            "HF_HUB_OFFLINE": "1",
            **self.extra_env,
        }
        command = [sys.executable, "-m", "transcriber", "serve", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir)]
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(self.ready, timeout=120, what=f"the server to be ready (log: {self.log_path})")
        return self

    def ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"server exited early:\n{self.log()}")
        try:
            return httpx.get(f"{self.url}{self.ready_path}", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-5000:]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL the service (its worker notices the parent is gone and stops by itself)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)
