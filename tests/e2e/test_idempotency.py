"""End to end: a retried ``transcribe`` with its ``Idempotency-Key`` over HTTP, across a restart."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import JFK_TEXT
from tests.e2e.server import ServerProcess
from tests.e2e.test_server import wait_status, words

pytestmark = pytest.mark.slow


def test_a_retried_transcribe_makes_one_task_even_after_a_restart(
    server: ServerProcess, speech_file: Path
) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    url = "/api/v1/transcribe?name=Речь.flac"
    audio = speech_file.read_bytes()
    with server.client() as http:
        first = http.post(url, content=audio, headers=headers)
        assert first.status_code == 200, first.text
        again = http.post(url, content=audio, headers=headers)
        assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    task_id = first.json()["task_id"]
    status = wait_status(server, task_id, "COMPLETED")
    assert JFK_TEXT in words(" ".join(p["text"] for p in status["results"]["phrases"]))  # type: ignore[index]

    server.stop()
    server.start()  # the kept answer is in the database, not in the process
    with server.client() as http:
        after = http.post(url, content=audio, headers=headers)
        assert after.status_code == 200, after.text
        assert after.json()["task_id"] == task_id
        assert after.headers["idempotent-replayed"] == "true"
        assert http.get("/api/v1/tasks").json()["total"] == 1
        assert len(http.get("/api/v1/uploads").json()["files"]) == 1
