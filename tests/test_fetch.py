"""A worker on another machine fetches tasks' audio over real HTTP from the real app (uvicorn in a
thread), through a TCP proxy that cuts or damages answers: resuming with ``Range``, the checksum,
bounded retries, cancellation, the cache's clean-up, and what the worker loop does with each outcome."""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from pydantic import SecretStr

from tests.conftest import FakeTranscriber
from tests.conversations import RATE, write_wav
from tests.e2e.server import free_port, wait_for
from transcriber.api import create_app
from transcriber.api.state import AppState, app_state
from transcriber.config import Settings
from transcriber.domain import TaskStatus
from transcriber.errors import ServiceError
from transcriber.recognition import RecognitionSettings
from transcriber.store import UploadRecord
from transcriber.worker import Worker
from transcriber.worker.audio import AudioUnreachable
from transcriber.worker.fetch import RemoteAudio
from transcriber.worker.supervisor import worker_environment

KEY = "remote-worker-key-0123456789"


@dataclass
class Api:
    url: str
    port: int
    services: AppState

    def running_task(self, path: Path) -> tuple[str, UploadRecord]:
        """Upload ``path``, create its task and claim it as a remote worker would."""
        task_id = self.pending_task(path)
        claimed = self.services.store.claim_next("remote-worker")
        assert claimed is not None
        assert claimed.id == task_id
        upload = self.services.store.get_upload(claimed.upload_id)
        assert upload is not None
        return task_id, upload

    def pending_task(self, path: Path) -> str:
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as http, open(path, "rb") as fh:
            upload = http.post("/api/v1/upload", files={"file": (path.name, fh)})
            assert upload.status_code == 200, upload.text
            created = http.post("/api/v1/create_task", json={"upload_id": upload.json()["id"]})
            assert created.status_code == 200, created.text
            return str(created.json()["task_id"])


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    """The real app behind a real HTTP server in a thread, with an API key."""
    settings.api_keys = SecretStr(f"workers:{KEY}")
    app = create_app(settings, environ={})
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=30, what="the API to start")
    try:
        yield Api(url=f"http://127.0.0.1:{port}", port=port, services=app_state(app))
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class CuttingProxy:
    """A TCP proxy in front of the API. Connection n follows ``plan[n]``: ``("cut", k)`` ends the answer
    after k bytes of its body, ``("flip", k)`` damages the body's byte k; later connections pass. The
    requests' ``Range`` headers are recorded."""

    upstream: int
    plan: list[tuple[str, int]]
    ranges: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, name="proxy", daemon=True).start()

    def close(self) -> None:
        self.sock.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            action = self.plan.pop(0) if self.plan else ("pass", 0)
            threading.Thread(target=self._relay, args=(client, action), daemon=True).start()

    def _relay(self, client: socket.socket, action: tuple[str, int]) -> None:
        with client, socket.create_connection(("127.0.0.1", self.upstream)) as upstream:
            request = b""
            while b"\r\n\r\n" not in request:
                if not (chunk := client.recv(65536)):
                    return
                request += chunk
            head, _, rest = request.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            ranges = [
                line.split(b":", 1)[1].strip().decode()
                for line in lines
                if line.lower().startswith(b"range:")
            ]
            self.ranges.append(ranges[0] if ranges else None)
            kept = [line for line in lines if not line.lower().startswith(b"connection:")]
            upstream.sendall(b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n" + rest)
            answer = b""
            while chunk := upstream.recv(65536):
                answer += chunk
            header, _, body = answer.partition(b"\r\n\r\n")
            kind, at = action
            if kind == "cut":
                body = body[:at]
            elif kind == "flip":
                body = body[:at] + bytes([body[at] ^ 0xFF]) + body[at + 1 :]
            client.sendall(header + b"\r\n\r\n" + body)


@pytest.fixture
def proxy(api: Api, request: pytest.FixtureRequest) -> Iterator[CuttingProxy]:
    made = CuttingProxy(upstream=api.port, plan=list(getattr(request, "param", [])))
    yield made
    made.close()


@pytest.fixture(scope="session")
def long_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 s of a 16 kHz tone: about 1 MB, so an answer can be cut in the middle."""
    path = tmp_path_factory.mktemp("fetch") / "long tone.wav"
    return write_wav(0.25 * np.sin(2 * np.pi * 330 * np.arange(30 * RATE) / RATE), path)


OPENED: list[RemoteAudio] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPENED:
        OPENED.pop().close()


def remote(url: str, tmp_path: Path, *, key: str | None = KEY, **kwargs: Any) -> RemoteAudio:
    """A client with short pauses, closed after the test."""
    fast: dict[str, Any] = {"backoff": (0.01, 0.05), "unreachable_pause": 0.01}
    audio = RemoteAudio(server_url=url, api_key=key, cache_dir=tmp_path / "fetched", **(fast | kwargs))
    OPENED.append(audio)
    return audio


def keep_going() -> None:
    """A ``check`` for a task that is never cancelled."""


# -- resuming and checking ----------------------------------------------------------------------------


@pytest.mark.parametrize("proxy", [[("cut", 100_000), ("cut", 200_000)]], indirect=True)
def test_a_download_cut_twice_resumes_with_range_and_arrives_whole(
    api: Api, proxy: CuttingProxy, long_wav: Path, tmp_path: Path
) -> None:
    task_id, upload = api.running_task(long_wav)
    audio = remote(proxy.url, tmp_path)
    path = audio.fetch(task_id, upload, check=keep_going)
    assert path.read_bytes() == long_wav.read_bytes()
    assert proxy.ranges == [None, "bytes=100000-", "bytes=300000-"]
    assert path == tmp_path / "fetched" / f"{task_id}.wav"
    assert [p.name for p in (tmp_path / "fetched").iterdir()] == [path.name]  # no partial copy is left

    audio.release(task_id)
    assert list((tmp_path / "fetched").iterdir()) == []


@pytest.mark.parametrize("proxy", [[("flip", 5000)]], indirect=True)
def test_a_damaged_copy_is_fetched_again_from_the_start(
    api: Api, proxy: CuttingProxy, long_wav: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    task_id, upload = api.running_task(long_wav)
    path = remote(proxy.url, tmp_path).fetch(task_id, upload, check=keep_going)
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(long_wav.read_bytes()).digest()
    assert proxy.ranges == [None, None]
    assert "damaged" in caplog.text


@pytest.mark.parametrize("proxy", [[("flip", 10), ("cut", 50_000), ("flip", 700_000)]], indirect=True)
def test_a_copy_damaged_every_time_fails_with_a_clear_error(
    api: Api, proxy: CuttingProxy, long_wav: Path, tmp_path: Path
) -> None:
    task_id, upload = api.running_task(long_wav)
    with pytest.raises(ServiceError, match="arrived damaged 2 times"):
        remote(proxy.url, tmp_path).fetch(task_id, upload, check=keep_going)
    assert proxy.ranges == [None, None, "bytes=50000-"]  # the second copy was resumed, then damaged
    assert list((tmp_path / "fetched").iterdir()) == []


# -- what a failure means -----------------------------------------------------------------------------


def test_an_api_that_does_not_answer_is_given_up_after_bounded_attempts(
    api: Api, long_wav: Path, tmp_path: Path
) -> None:
    task_id, upload = api.running_task(long_wav)
    audio = remote(f"http://127.0.0.1:{free_port()}", tmp_path, attempts=3)
    with pytest.raises(AudioUnreachable, match=r"ConnectError.*3 attempt\(s\) in a row") as raised:
        audio.fetch(task_id, upload, check=keep_going)
    assert raised.value.pause == 0.01


def test_a_refused_key_is_not_the_tasks_fault_and_is_never_logged(
    api: Api, long_wav: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    task_id, upload = api.running_task(long_wav)
    with pytest.raises(AudioUnreachable, match=r"refused this worker's API key.*TRANSCRIBE_WORKER__API_KEY"):
        remote(api.url, tmp_path, key="a-wrong-key-for-this-api-0000").fetch(
            task_id, upload, check=keep_going
        )
    with pytest.raises(AudioUnreachable, match="401"):
        remote(api.url, tmp_path, key=None).fetch(task_id, upload, check=keep_going)
    assert "a-wrong-key-for-this-api-0000" not in caplog.text


def test_a_task_that_is_not_running_fails_with_the_apis_reason(
    api: Api, long_wav: Path, tmp_path: Path
) -> None:
    task_id = api.pending_task(long_wav)
    upload = api.services.store.get_upload(api.services.store.get_task(task_id).upload_id)  # type: ignore[union-attr]
    assert upload is not None
    with pytest.raises(ServiceError, match=r"\(409\).*PENDING"):
        remote(api.url, tmp_path).fetch(task_id, upload, check=keep_going)


class Stop(Exception):
    pass


def test_a_cancel_between_attempts_ends_the_download(api: Api, long_wav: Path, tmp_path: Path) -> None:
    task_id, upload = api.running_task(long_wav)
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise Stop

    audio = remote(f"http://127.0.0.1:{free_port()}", tmp_path, backoff=(5.0, 5.0), attempts=100)
    with pytest.raises(Stop):
        audio.fetch(task_id, upload, check=check)  # would wait 5 s between attempts without the check


@pytest.mark.parametrize("proxy", [[("pass", 0)]], indirect=True)
def test_a_cancel_while_streaming_ends_the_download_and_release_removes_the_part(
    api: Api, proxy: CuttingProxy, long_wav: Path, tmp_path: Path
) -> None:
    task_id, upload = api.running_task(long_wav)
    fetched = tmp_path / "fetched"
    calls = 0

    def check() -> None:  # called before the attempt, then after each piece that arrives
        nonlocal calls
        calls += 1
        if calls == 3:
            raise Stop

    audio = remote(proxy.url, tmp_path)
    with pytest.raises(Stop):
        audio.fetch(task_id, upload, check=check)
    assert [p.suffix for p in fetched.iterdir()] == [".part"]
    audio.release(task_id)
    assert list(fetched.iterdir()) == []


def test_stale_copies_are_removed_at_start_except_those_of_running_tasks(
    api: Api, long_wav: Path, tmp_path: Path
) -> None:
    running, _ = api.running_task(long_wav)
    pending = api.pending_task(long_wav)
    fetched = tmp_path / "fetched"
    fetched.mkdir()
    for name in (f"{running}.wav", f"{running}.wav.part", f"{pending}.wav.part", "junk", "x.wav"):
        (fetched / name).write_bytes(b"left over")
    removed = remote(api.url, tmp_path).remove_stale(api.services.store)
    assert removed == 3
    assert sorted(p.name for p in fetched.iterdir()) == sorted([f"{running}.wav", f"{running}.wav.part"])


def test_a_supervised_worker_never_gets_the_remote_settings(settings: Settings, monkeypatch: Any) -> None:
    monkeypatch.setenv("TRANSCRIBE_WORKER__SERVER_URL", "http://elsewhere:8000")
    settings.worker.server_url = "http://elsewhere:8000"
    settings.worker.api_key = SecretStr(KEY)
    env = worker_environment(settings)
    assert "TRANSCRIBE_WORKER__SERVER_URL" not in env
    assert "server_url" not in env["TRANSCRIBE_WORKER"]
    assert "api_key" not in env["TRANSCRIBE_WORKER"]
    assert KEY not in str(env)


# -- the worker loop with a remote source ---------------------------------------------------------------


@dataclass
class SeeingTranscriber(FakeTranscriber):
    """A fake engine that records the bytes of each file it is given."""

    seen: list[tuple[Path, bytes]] = field(default_factory=list)

    def transcribe(self, audio: Path, settings: RecognitionSettings, **kwargs: Any) -> Any:
        self.seen.append((audio, audio.read_bytes()))
        return super().transcribe(audio, settings, **kwargs)


def remote_worker(api: Api, audio: RemoteAudio, engine: FakeTranscriber) -> Worker:
    worker = Worker(
        store=api.services.store,
        audio=audio,
        transcriber=engine,
        base_settings=api.services.baseline,
        settings=api.services.settings.worker,
        worker_id="remote-loop",
    )
    worker.register()
    return worker


@pytest.mark.parametrize("proxy", [[("cut", 300_000)]], indirect=True)
def test_a_remote_worker_transcribes_the_fetched_copy_and_removes_it(
    api: Api, proxy: CuttingProxy, long_wav: Path, tmp_path: Path
) -> None:
    task_id = api.pending_task(long_wav)
    engine = SeeingTranscriber()
    assert remote_worker(api, remote(proxy.url, tmp_path), engine).drain() == 1
    task = api.services.store.get_task(task_id)
    assert task is not None
    assert task.status == TaskStatus.COMPLETED
    assert [data for _, data in engine.seen] == [long_wav.read_bytes()]
    assert engine.seen[0][0].parent == tmp_path / "fetched"
    assert list((tmp_path / "fetched").iterdir()) == []  # removed once the task is over


def test_an_unreachable_api_gives_the_task_back_without_spending_an_attempt(
    api: Api, long_wav: Path, tmp_path: Path
) -> None:
    task_id = api.pending_task(long_wav)
    audio = remote(f"http://127.0.0.1:{free_port()}", tmp_path, attempts=2)
    worker = remote_worker(api, audio, FakeTranscriber())
    assert worker.run_once()
    task = api.services.store.get_task(task_id)
    assert task is not None
    assert (task.status, task.attempts, task.worker_id) == (TaskStatus.PENDING, 0, None)


def test_a_task_whose_file_the_api_lost_fails_with_a_clear_error(
    api: Api, long_wav: Path, tmp_path: Path
) -> None:
    task_id = api.pending_task(long_wav)
    for stored in api.services.storage.root.glob("*.wav"):
        stored.unlink()
    assert remote_worker(api, remote(api.url, tmp_path), FakeTranscriber()).run_once()
    task = api.services.store.get_task(task_id)
    assert task is not None
    assert task.status == TaskStatus.FAILED
    assert task.error is not None
    assert "(404)" in task.error
    assert "missing from the storage" in task.error
    assert list((tmp_path / "fetched").iterdir()) == []
