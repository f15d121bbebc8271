"""Request bodies are bounded: a small limit for JSON, the upload limit for files, both checked from
Content-Length before reading and while reading a body that has none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from transcriber.api import create_app
from transcriber.config import LimitSettings, Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    limited = settings.model_copy(
        update={"limits": LimitSettings(max_json_bytes=4096, max_upload_bytes=65536)}
    )
    with TestClient(create_app(limited, environ={})) as client:
        yield client


def chunks(total: int, size: int = 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


def test_a_json_body_over_the_limit_is_413_from_its_content_length(client: TestClient) -> None:
    body = b'{"WHISPER_PROMPT": "' + b"x" * 8000 + b'"}'
    response = client.post("/api/v1/settings", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "too_large"
    assert "TRANSCRIBE_LIMITS__MAX_JSON_BYTES" in response.json()["detail"]
    assert client.get("/api/v1/settings").json()["WHISPER_PROMPT"] == ""


def test_a_chunked_json_body_is_counted_while_it_is_read(client: TestClient) -> None:
    response = client.post(
        "/api/v1/settings", content=chunks(64 * 1024), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413, response.text


def test_a_small_json_body_is_fine(client: TestClient) -> None:
    response = client.post("/api/v1/settings", json={"WHISPER_PROMPT": "Иванов"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/api/v1/upload_raw?name=a.wav", "/api/v1/transcribe?name=a.wav"])
def test_an_upload_over_the_limit_is_413(client: TestClient, path: str) -> None:
    response = client.post(path, content=b"\0" * 70_000)
    assert response.status_code == 413, response.text
    assert "TRANSCRIBE_LIMITS__MAX_UPLOAD_BYTES" in response.json()["detail"]


def test_an_upload_under_the_upload_limit_may_exceed_the_json_limit(
    client: TestClient, tone_wav: Path
) -> None:
    data = tone_wav.read_bytes()[:60_000]  # a valid WAV header and 1.9 s of samples
    assert len(data) > 4096
    response = client.post("/api/v1/upload_raw?name=tone.wav", content=data)
    assert response.status_code == 200, response.text
