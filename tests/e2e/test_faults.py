"""Injected faults against the real service: settings that cannot work, and a burst of concurrent clients."""

from __future__ import annotations

import concurrent.futures
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServerProcess, wait_for
from tests.e2e.test_server import upload_and_create, wait_status

pytestmark = pytest.mark.slow


def test_a_device_that_is_not_here_is_refused(server: ServerProcess) -> None:
    from transcriber.usability import cuda_device_count

    if cuda_device_count() > 0:
        pytest.skip("this machine has a GPU")
    with server.client() as http:
        response = http.post("/api/v1/settings", json={"WHISPER_DEVICE": "cuda"})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "setting_unusable"
        assert http.get("/api/v1/settings").json()["WHISPER_DEVICE"] == "auto"


def test_a_model_that_cannot_load_does_not_fail_tasks(
    server: ServerProcess, models_dir: Path, speech_file: Path
) -> None:
    """A damaged model folder passes the cheap check (its files are there) and fails to load: the
    worker keeps to the model that worked, says so, and does not crash-loop."""
    folder = models_dir / f"broken-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"this is not a model")
    (folder / "config.json").write_text("{}", encoding="utf-8")
    with server.client() as http:
        pid_before = http.get("/health").json()["worker"]["pid"]
        assert http.post("/api/v1/settings", json={"WHISPER_MODEL": folder.name}).status_code == 200
    task_id = upload_and_create(server, speech_file)
    wait_status(server, task_id, "COMPLETED", timeout=180)

    with server.client() as http:
        health = http.get("/health").json()
        assert health["ready"] is True
        assert health["worker"]["pid"] == pid_before, "the worker process must not crash-loop"
        fallback = health["settings_fallback"]
        assert fallback["in_force"]["model"] == "tiny.en"
        assert f"WHISPER_MODEL={folder.name} cannot be loaded" in fallback["reason"]
        assert "cannot load model" in fallback["reason"]
        assert http.get("/api/v1/settings").json()["fallback"] == fallback
        assert http.post("/api/v1/settings", json={"WHISPER_MODEL": None}).status_code == 200
    wait_for(
        lambda: server_health(server)["settings_fallback"] is None, timeout=60, what="the fallback to end"
    )
    fixed = upload_and_create(server, speech_file)
    wait_status(server, fixed, "COMPLETED", timeout=180)


def server_health(server: ServerProcess) -> dict[str, object]:
    with server.client() as http:
        body: dict[str, object] = http.get("/health").json()
        return body


def test_concurrent_clients_lose_nothing(server: ServerProcess, tone_bytes: bytes) -> None:
    """200 uploads from 20 clients at once, then 1,000 create_task calls: no 5xx, nothing lost."""
    statuses: list[int] = []

    def upload(i: int) -> str | None:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            response = http.post("/api/v1/upload_raw", params={"name": f"звонок-{i}.wav"}, content=tone_bytes)
            statuses.append(response.status_code)
            return str(response.json()["id"]) if response.status_code == 200 else None

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        upload_ids = [u for u in pool.map(upload, range(200)) if u]

    def create(i: int) -> str | None:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            response = http.post("/api/v1/create_task", json={"upload_id": upload_ids[i % len(upload_ids)]})
            statuses.append(response.status_code)
            return str(response.json()["task_id"]) if response.status_code == 200 else None

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        task_ids = [t for t in pool.map(create, range(1000)) if t]

    assert [s for s in statuses if s >= 500] == []
    assert statuses.count(200) == 1200
    with server.client() as http:
        listed = {f["id"] for f in http.get("/api/v1/uploads").json()["files"]}
        assert set(upload_ids) <= listed
        assert len(upload_ids) == 200
        page = http.get("/api/v1/tasks", params={"limit": 500}).json()
        assert page["total"] == 1000
        seen = set()
        for offset in (0, 500):
            chunk = http.get("/api/v1/tasks", params={"limit": 500, "offset": offset}).json()["tasks"]
            seen |= {t["task_id"] for t in chunk}
        assert seen == set(task_ids)
        http.post("/api/v1/reset")  # cancel the rest so the server stops quickly


@pytest.fixture(scope="module")
def tone_bytes(tone_wav: Path) -> bytes:
    return tone_wav.read_bytes()
