"""The audio of a running task for a worker on another machine: only running tasks, behind the keys,
with ``Range`` and the whole file's SHA-256 (``Repr-Digest``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, update

from tests.conftest import FakeTranscriber, Harness
from transcriber import schema as t
from transcriber.api import create_app
from transcriber.api.state import app_state
from transcriber.audio_transfer import AUDIO_PATH, repr_digest, sha256_of_digest
from transcriber.config import Settings

KEY = "worker-key-0123456789abc"


@pytest.fixture
def secured(settings: Settings) -> Iterator[Harness]:
    settings.api_keys = SecretStr(f"workers:{KEY}")
    app = create_app(settings, environ={})
    with TestClient(app, headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield Harness(client=client, services=app_state(app), engine=FakeTranscriber())


def pending_task(h: Harness, path: Path) -> str:
    upload = h.upload(path)
    created = h.client.post("/api/v1/create_task", json={"upload_id": upload["id"]})
    assert created.status_code == 200, created.text
    return str(created.json()["task_id"])


def running_task(h: Harness, path: Path) -> str:
    task_id = pending_task(h, path)
    claimed = h.services.store.claim_next("remote-worker")
    assert claimed is not None
    assert claimed.id == task_id
    return task_id


def audio_url(task_id: str) -> str:
    return AUDIO_PATH.format(task_id=task_id)


def test_the_running_tasks_audio_comes_whole_with_its_length_and_checksum(
    secured: Harness, tone_wav: Path
) -> None:
    data = tone_wav.read_bytes()
    task_id = running_task(secured, tone_wav)
    response = secured.client.get(audio_url(task_id))
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "application/octet-stream"
    assert sha256_of_digest(response.headers["repr-digest"]) == hashlib.sha256(data).hexdigest()


def test_a_range_gives_the_rest_of_the_file_with_the_whole_files_checksum(
    secured: Harness, tone_wav: Path
) -> None:
    data = tone_wav.read_bytes()
    task_id = running_task(secured, tone_wav)
    whole = secured.client.get(audio_url(task_id)).headers["repr-digest"]
    rest = secured.client.get(audio_url(task_id), headers={"Range": "bytes=1000-"})
    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"
    assert rest.headers["content-length"] == str(len(data) - 1000)
    assert rest.content == data[1000:]
    assert rest.headers["repr-digest"] == whole
    head = secured.client.get(audio_url(task_id), headers={"Range": "bytes=0-9"})
    assert (head.status_code, head.content) == (206, data[:10])


@pytest.mark.parametrize("wanted", ["bytes={size}-", "bytes={size}-{beyond}"])
def test_a_range_past_the_end_is_416_with_the_files_length(
    secured: Harness, tone_wav: Path, wanted: str
) -> None:
    size = tone_wav.stat().st_size
    task_id = running_task(secured, tone_wav)
    response = secured.client.get(
        audio_url(task_id), headers={"Range": wanted.format(size=size, beyond=size + 10)}
    )
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"


def test_only_a_running_task_is_served(secured: Harness, tone_wav: Path) -> None:
    store = secured.services.store
    pending = pending_task(secured, tone_wav)
    refused = secured.client.get(audio_url(pending))
    assert refused.status_code == 409
    assert refused.json()["code"] == "task_not_running"
    assert "PENDING" in refused.json()["detail"]

    assert store.claim_next("remote-worker") is not None
    assert secured.client.get(audio_url(pending)).status_code == 200
    store.cancel_task(pending)
    assert secured.client.get(audio_url(pending)).json()["code"] == "task_not_running"

    done = pending_task(secured, tone_wav)
    assert secured.drain() == 1
    assert secured.client.get(f"/api/v1/status/{done}").json()["status"] == "COMPLETED"
    assert secured.client.get(audio_url(done)).status_code == 409


@pytest.mark.parametrize("task_id", ["no-such-task", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd"])
def test_an_unknown_task_is_404_and_no_path_is_taken_from_the_client(secured: Harness, task_id: str) -> None:
    response = secured.client.get(f"/api/v1/worker/tasks/{task_id}/audio")
    assert response.status_code == 404


def test_a_running_task_whose_file_is_gone_is_404(secured: Harness, tone_wav: Path) -> None:
    task_id = running_task(secured, tone_wav)
    for stored in secured.services.storage.root.glob("*.wav"):
        stored.unlink()
    response = secured.client.get(audio_url(task_id))
    assert response.status_code == 404
    assert "missing from the storage" in response.json()["detail"]


def test_the_audio_needs_an_api_key(secured: Harness, tone_wav: Path) -> None:
    task_id = running_task(secured, tone_wav)
    bare = TestClient(secured.client.app)
    assert bare.get(audio_url(task_id)).status_code == 401
    wrong = bare.get(audio_url(task_id), headers={"Authorization": "Bearer not-the-worker-key-000"})
    assert wrong.status_code == 401
    assert bare.get(audio_url(task_id), headers={"X-API-Key": KEY}).status_code == 200


def test_an_upload_recorded_without_a_checksum_gets_one_computed_once(
    secured: Harness, tone_wav: Path
) -> None:
    store = secured.services.store
    task_id = running_task(secured, tone_wav)
    upload_id = secured.client.get(f"/api/v1/tasks/{task_id}").json()["upload_id"]
    with store.engine.begin() as conn:
        conn.execute(update(t.uploads).where(t.uploads.c.id == upload_id).values(sha256=None))
    expected = hashlib.sha256(tone_wav.read_bytes()).hexdigest()

    response = secured.client.get(audio_url(task_id))
    assert response.headers["repr-digest"] == repr_digest(expected)
    with store.engine.connect() as conn:
        kept = conn.execute(select(t.uploads.c.sha256).where(t.uploads.c.id == upload_id)).scalar_one()
    assert kept == expected
    store.record_upload_sha256(upload_id, "0" * 64)  # never replaces a recorded checksum
    upload = store.get_upload(upload_id)
    assert upload is not None
    assert upload.sha256 == expected


def test_the_endpoint_is_in_the_openapi_document(secured: Harness) -> None:
    operation = secured.client.get("/openapi.json").json()["paths"][AUDIO_PATH]["get"]
    assert {"200", "206", "401", "404", "409", "416"} <= set(operation["responses"])
    assert "Repr-Digest" in operation["responses"]["206"]["headers"]
    assert operation["tags"] == ["workers"]


@pytest.mark.parametrize(
    "value",
    [None, "", "sha-256=abc", "sha-256=:not base64:", "sha-256=:AAAA:", "sha-512=:AAAA:"],
)
def test_a_missing_or_malformed_digest_carries_no_checksum(value: str | None) -> None:
    assert sha256_of_digest(value) is None


def test_the_digest_round_trips_among_other_algorithms() -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    assert sha256_of_digest(repr_digest(sha)) == sha
    assert sha256_of_digest(f"sha-512=:AAAA:, {repr_digest(sha)}") == sha
