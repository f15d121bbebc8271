"""Webhooks end to end: the real service transcribes real speech with tiny.en and announces it to a
receiver that refuses the first delivery; the service is stopped before the retry and started again,
and the retry (same webhook-id, same body) is accepted and verifies with ``standardwebhooks``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import standardwebhooks

from tests.conftest import repo_audio
from tests.e2e.server import ServerProcess, wait_for
from tests.webhook_receiver import Receiver
from transcriber.webhooks.signing import new_secret

pytestmark = pytest.mark.slow
SECRET = new_secret()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver(statuses=[500])
    yield hook
    hook.close()


def test_a_refused_delivery_survives_a_restart(tmp_path: Path, models_dir: Path, receiver: Receiver) -> None:
    env = {"TRANSCRIBE_WEBHOOKS__SECRET": SECRET, "TRANSCRIBE_WEBHOOKS__ALLOWED_HOSTS": '["127.0.0.1"]'}
    server = ServerProcess(tmp_path / "data", models_dir, env=env).start()
    try:
        with server.client() as http, open(repo_audio("jfk.flac"), "rb") as fh:
            params = {"name": "jfk.flac", "callback_url": receiver.url}
            created = http.post("/api/v1/transcribe", params=params, content=fh.read())
            assert created.status_code == 200, created.text
            task_id = created.json()["task_id"]
        receiver.wait_for(1, timeout=120)  # the task completed and the first delivery was refused
        with server.client() as http:
            wait_for(
                lambda: http.get(f"/api/v1/tasks/{task_id}/webhooks").json()["deliveries"][0]["history"],
                timeout=10,
                what="the refused attempt to be recorded",
            )
        server.stop()  # before the retry, due about 5 s later
        refused_at = time.monotonic()
        port = server.port
        server = ServerProcess(tmp_path / "data", models_dir, env=env)
        server.port, server.url = port, f"http://127.0.0.1:{port}"
        server.start()
        first, second = receiver.wait_for(2, timeout=60)
        assert time.monotonic() - refused_at >= 3  # the retry waited for its time, not sent at start
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        assert first.body == second.body
        event = standardwebhooks.Webhook(SECRET).verify(second.body, second.headers)
        assert event["type"] == "task.completed"
        assert event["data"]["task_id"] == task_id
        assert event["data"]["duration"] == pytest.approx(11.0, abs=0.1)
        with server.client() as http:

            def delivered() -> dict[str, object] | None:
                found = http.get(f"/api/v1/tasks/{task_id}/webhooks").json()["deliveries"]
                return next((d for d in found if d["state"] == "delivered"), None)

            delivery = wait_for(delivered, timeout=10, what="the delivery to be marked delivered")
            assert [a["status"] for a in delivery["history"]] == [500, 204]
            result = http.get(f"/export/{task_id}.json")
            assert result.status_code == 200
            assert "ask not what your country" in result.text.lower()
    finally:
        server.stop()
