"""The ``Idempotency-Key`` header through the app: retries get the first answer, never a second task."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, update

from tests.conftest import FakeTranscriber, Harness
from transcriber import schema as t
from transcriber.api import create_app
from transcriber.api.state import app_state
from transcriber.clock import utcnow
from transcriber.config import Settings
from transcriber.service.idempotency import ABANDONED_AFTER

CREATE = "/api/v1/create_task"
KEY_1C = "k3y-for-1c-0123456789"
KEY_SCRIPTS = "k3y-for-scripts-abcdef"


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def tasks_total(harness: Harness) -> int:
    total: int = harness.client.get("/api/v1/tasks").json()["total"]
    return total


def uploads_count(harness: Harness) -> int:
    return len(harness.client.get("/api/v1/uploads").json()["files"])


def stored_files(harness: Harness) -> int:
    return sum(1 for p in harness.services.storage.root.iterdir() if p.is_file())


def age_keys(harness: Harness, by: timedelta) -> None:
    """Make every kept key ``by`` older, as if it had been sent that long ago."""
    keys = t.idempotency_keys
    with harness.services.store.engine.begin() as conn:
        for name, created in conn.execute(select(keys.c.key, keys.c.created_at)).all():
            conn.execute(update(keys).where(keys.c.key == name).values(created_at=created - by))


@pytest.fixture
def upload_id(harness: Harness, tone_wav: Path) -> str:
    return str(harness.upload(tone_wav)["id"])


def test_a_retried_task_creation_gets_the_first_task(harness: Harness, upload_id: str) -> None:
    headers = key()
    first = harness.client.post(CREATE, json={"upload_id": upload_id, "language": "ru"}, headers=headers)
    again = harness.client.post(CREATE, json={"language": "ru", "upload_id": upload_id}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json; charset=utf-8"
    assert tasks_total(harness) == 1
    assert harness.drain() == 1


def test_without_a_key_every_request_creates_a_task(harness: Harness, upload_id: str) -> None:
    ids = {harness.client.post(CREATE, json={"upload_id": upload_id}).json()["task_id"] for _ in range(2)}
    assert len(ids) == 2
    assert tasks_total(harness) == 2


def test_the_same_key_for_a_different_request_is_422(
    harness: Harness, upload_id: str, tone_wav: Path
) -> None:
    headers = key()
    assert harness.client.post(CREATE, json={"upload_id": upload_id}, headers=headers).status_code == 200
    other = harness.client.post(CREATE, json={"upload_id": upload_id, "language": "en"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert "new key" in other.json()["detail"]
    elsewhere = harness.client.post(
        "/api/v1/upload_raw?name=a.wav", content=tone_wav.read_bytes(), headers=headers
    )
    assert elsewhere.status_code == 422
    assert "another route" in elsewhere.json()["detail"]
    assert tasks_total(harness) == 1
    assert uploads_count(harness) == 1  # the upload received under a used key was deleted
    assert stored_files(harness) == 1


def test_a_key_in_use_is_409_until_its_claim_is_abandoned(harness: Harness, upload_id: str) -> None:
    headers = key()
    now = utcnow()
    harness.services.store.claim_idempotency_key(  # as if a request with this key were running
        scope="",
        key=headers["Idempotency-Key"],
        route=CREATE,
        fingerprint="0" * 64,
        expired_before=now - timedelta(hours=24),
        abandoned_before=now - ABANDONED_AFTER,
    )
    busy = harness.client.post(CREATE, json={"upload_id": upload_id}, headers=headers)
    assert busy.status_code == 409
    assert busy.json()["code"] == "idempotency_key_in_progress"
    assert int(busy.headers["retry-after"]) >= 1
    assert tasks_total(harness) == 0
    age_keys(harness, ABANDONED_AFTER + timedelta(seconds=1))  # its process died
    taken = harness.client.post(CREATE, json={"upload_id": upload_id}, headers=headers)
    assert taken.status_code == 200
    assert tasks_total(harness) == 1


def test_after_its_hours_a_key_is_new_again(harness: Harness, upload_id: str) -> None:
    headers = key()
    first = harness.client.post(CREATE, json={"upload_id": upload_id}, headers=headers).json()
    age_keys(harness, timedelta(hours=23))
    assert harness.client.post(CREATE, json={"upload_id": upload_id}, headers=headers).json() == first
    age_keys(harness, timedelta(hours=1, seconds=1))
    later = harness.client.post(CREATE, json={"upload_id": upload_id}, headers=headers)
    assert later.status_code == 200
    assert "idempotent-replayed" not in later.headers
    assert later.json()["task_id"] != first["task_id"]
    assert tasks_total(harness) == 2

    keys = t.idempotency_keys
    with harness.services.store.engine.begin() as conn:  # an answer from two days ago, never retried
        conn.execute(update(keys).values(created_at=utcnow() - timedelta(hours=48)))
    assert harness.client.post(CREATE, json={"upload_id": upload_id}, headers=key()).status_code == 200
    with harness.services.store.engine.connect() as conn:
        assert len(conn.execute(select(keys.c.key)).all()) == 1  # purged by the next answered request


def test_the_hours_are_a_setting(harness: Harness, upload_id: str) -> None:
    harness.services.settings.limits.idempotency_hours = 0.5
    headers = key()
    first = harness.client.post(CREATE, json={"upload_id": upload_id}, headers=headers).json()
    age_keys(harness, timedelta(minutes=31))
    assert harness.client.post(CREATE, json={"upload_id": upload_id}, headers=headers).json() != first


def test_a_failed_request_does_not_keep_its_key(harness: Harness, upload_id: str, tone_wav: Path) -> None:
    headers = key()
    missing = harness.client.post(CREATE, json={"upload_id": "nope"}, headers=headers)
    assert missing.status_code == 404
    fixed = harness.client.post(CREATE, json={"upload_id": upload_id}, headers=headers)
    assert fixed.status_code == 200
    assert "idempotent-replayed" not in fixed.headers

    headers = key()
    text = harness.client.post(
        "/api/v1/upload", files={"file": ("a.wav", b"not audio" * 100)}, headers=headers
    )
    assert text.status_code == 415
    with open(tone_wav, "rb") as fh:
        audio = harness.client.post("/api/v1/upload", files={"file": ("a.wav", fh)}, headers=headers)
    assert audio.status_code == 200
    assert "idempotent-replayed" not in audio.headers


def test_a_retried_upload_is_received_again_and_the_duplicate_deleted(
    harness: Harness, tone_wav: Path
) -> None:
    headers = key()
    answers = []
    for _ in range(2):
        with open(tone_wav, "rb") as fh:
            answers.append(
                harness.client.post("/api/v1/upload", files={"file": ("Звонок.wav", fh)}, headers=headers)
            )
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].json() == answers[0].json()
    assert answers[1].headers["idempotent-replayed"] == "true"
    assert uploads_count(harness) == 1
    assert stored_files(harness) == 1
    assert list(harness.services.storage.incoming_dir.iterdir()) == []

    with open(tone_wav, "rb") as fh:  # another name is another request
        renamed = harness.client.post("/api/v1/upload", files={"file": ("Другой.wav", fh)}, headers=headers)
    assert renamed.status_code == 422
    assert uploads_count(harness) == 1


def test_a_retried_raw_upload_is_decided_by_its_bytes(harness: Harness, tone_wav: Path) -> None:
    headers = key()
    audio = tone_wav.read_bytes()
    first = harness.client.post("/api/v1/upload_raw?name=a.wav", content=audio, headers=headers)
    again = harness.client.post("/api/v1/upload_raw?name=a.wav", content=audio, headers=headers)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = bytearray(audio)
    other[-1] ^= 1  # one sample differs: other bytes, another request
    changed = harness.client.post("/api/v1/upload_raw?name=a.wav", content=bytes(other), headers=headers)
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_key_reused"
    assert uploads_count(harness) == 1
    assert stored_files(harness) == 1


def test_a_retried_transcribe_creates_one_upload_and_one_task(harness: Harness, tone_wav: Path) -> None:
    headers = key()
    url = "/api/v1/transcribe?name=call.wav&language=ru"
    first = harness.client.post(url, content=tone_wav.read_bytes(), headers=headers)
    assert first.status_code == 200, first.text
    harness.services.settings.limits.max_pending_tasks = 1  # the queue is full now
    again = harness.client.post(url, content=tone_wav.read_bytes(), headers=headers)
    assert again.status_code == 200, again.text  # a retry is not refused for a queue it is already in
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert (tasks_total(harness), uploads_count(harness), stored_files(harness)) == (1, 1, 1)
    other_options = harness.client.post(
        "/api/v1/transcribe?name=call.wav&language=en", content=tone_wav.read_bytes(), headers=headers
    )
    assert other_options.status_code == 422
    assert (tasks_total(harness), uploads_count(harness)) == (1, 1)
    new_key = harness.client.post(url, content=tone_wav.read_bytes(), headers=key())
    assert new_key.status_code == 429  # a new request is still admitted before its file is received
    assert uploads_count(harness) == 1


def test_racing_retries_of_one_transcribe_make_one_task(harness: Harness, tone_wav: Path) -> None:
    headers = key()
    audio = tone_wav.read_bytes()
    answers: list[tuple[int, dict[str, object]]] = []
    start = threading.Barrier(6)

    def send() -> None:
        start.wait(timeout=10)
        response = harness.client.post("/api/v1/transcribe?name=a.wav", content=audio, headers=headers)
        answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 6
    assert {status for status, _ in answers} <= {200, 409}
    assert len({str(body["task_id"]) for status, body in answers if status == 200}) == 1
    assert (tasks_total(harness), uploads_count(harness), stored_files(harness)) == (1, 1, 1)


def test_transcribe_waits_for_a_running_request_with_its_key_before_receiving(
    harness: Harness, tone_wav: Path
) -> None:
    headers = key()
    now = utcnow()
    harness.services.store.claim_idempotency_key(
        scope="",
        key=headers["Idempotency-Key"],
        route="/api/v1/transcribe",
        fingerprint="0" * 64,
        expired_before=now - timedelta(hours=24),
        abandoned_before=now - ABANDONED_AFTER,
    )
    busy = harness.client.post(
        "/api/v1/transcribe?name=a.wav", content=tone_wav.read_bytes(), headers=headers
    )
    assert busy.status_code == 409
    assert busy.json()["code"] == "idempotency_key_in_progress"
    assert uploads_count(harness) == 0


@pytest.mark.parametrize(
    "value", ["", "x" * 256, "ключ", "tab\there"], ids=["empty", "too-long", "cyrillic", "control"]
)
def test_a_malformed_key_is_400_naming_the_header(harness: Harness, upload_id: str, value: str) -> None:
    response = harness.client.post(
        CREATE, json={"upload_id": upload_id}, headers={"Idempotency-Key": value.encode("utf-8")}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert "Idempotency-Key" in response.json()["detail"]
    assert tasks_total(harness) == 0


def test_the_longest_key_is_accepted(harness: Harness, upload_id: str) -> None:
    headers = {"Idempotency-Key": "~" * 255}
    first = harness.client.post(CREATE, json={"upload_id": upload_id}, headers=headers)
    assert first.status_code == 200
    assert harness.client.post(CREATE, json={"upload_id": upload_id}, headers=headers).json() == first.json()


@pytest.fixture
def secured(settings: Settings) -> Iterator[Harness]:
    settings.api_keys = SecretStr(f"1c:{KEY_1C}, scripts:{KEY_SCRIPTS}")
    app = create_app(settings, environ={})
    with TestClient(app) as client:
        yield Harness(client=client, services=app_state(app), engine=FakeTranscriber())


def test_keys_are_per_caller(secured: Harness, tone_wav: Path) -> None:
    as_1c = {"X-API-Key": KEY_1C}
    as_scripts = {"Authorization": f"Bearer {KEY_SCRIPTS}"}
    upload = secured.client.post(
        "/api/v1/upload_raw?name=a.wav", content=tone_wav.read_bytes(), headers=as_1c
    )
    body = {"upload_id": upload.json()["id"]}
    shared = key()
    mine = secured.client.post(CREATE, json=body, headers=as_1c | shared)
    theirs = secured.client.post(CREATE, json=body, headers=as_scripts | shared)
    mine_again = secured.client.post(CREATE, json=body, headers=as_1c | shared)
    assert [r.status_code for r in (mine, theirs, mine_again)] == [200, 200, 200]
    assert theirs.json()["task_id"] != mine.json()["task_id"]
    assert mine_again.json()["task_id"] == mine.json()["task_id"]
    assert secured.client.get("/api/v1/tasks", headers=as_1c).json()["total"] == 2


def test_swagger_documents_the_header_on_the_four_routes(harness: Harness) -> None:
    paths = harness.client.get("/openapi.json").json()["paths"]
    for route in ("/api/v1/upload", "/api/v1/upload_raw", "/api/v1/create_task", "/api/v1/transcribe"):
        [header] = [p for p in paths[route]["post"]["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header"
        assert "24 h" in header["description"]
        assert "Idempotent-Replayed" in paths[route]["post"]["responses"]["200"]["headers"]
