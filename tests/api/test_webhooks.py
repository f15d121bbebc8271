"""Webhooks through the app: a task's callback_url checked when it is created, its end delivered to a
real receiver by the app's own sender, signed (verified with ``standardwebhooks``), attempts visible,
redelivery."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.conftest import FakeTranscriber, Harness
from tests.webhook_receiver import Receiver
from transcriber.api import create_app
from transcriber.api.state import app_state
from transcriber.config import Settings, WebhookSettings
from transcriber.webhooks.signing import new_secret

SECRET = new_secret()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


@pytest.fixture
def hooked(settings: Settings) -> Iterator[Harness]:
    settings.webhooks = WebhookSettings(secret=SecretStr(SECRET), allowed_hosts=["127.0.0.0/8"])
    app = create_app(settings, environ={})
    with TestClient(app) as client:
        yield Harness(client=client, services=app_state(app), engine=FakeTranscriber())


def create(harness: Harness, path: Path, **options: Any) -> str:
    upload = harness.upload(path)
    created = harness.client.post("/api/v1/create_task", json={"upload_id": upload["id"], **options})
    assert created.status_code == 200, created.text
    return str(created.json()["task_id"])


def deliveries(harness: Harness, task_id: str) -> list[dict[str, Any]]:
    response = harness.client.get(f"/api/v1/tasks/{task_id}/webhooks")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["deliveries"]
    return found


def wait_for_state(harness: Harness, task_id: str, state: str, attempts: int) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        (delivery,) = deliveries(harness, task_id)
        if delivery["state"] == state and delivery["attempts"] == attempts and delivery["history"]:
            return delivery
        time.sleep(0.05)
    raise AssertionError(f"delivery not {state} after {attempts} attempts: {deliveries(harness, task_id)}")


def test_a_completed_task_is_announced_signed(hooked: Harness, receiver: Receiver, tone_wav: Path) -> None:
    task_id = create(hooked, tone_wav, callback_url=receiver.url)
    assert hooked.drain() == 1
    (got,) = receiver.wait_for(1)
    assert got.path == "/hooks/transcriber"
    event = standardwebhooks.Webhook(SECRET).verify(got.body, got.headers)
    assert event["type"] == "task.completed"
    assert event["data"]["task_id"] == task_id
    assert event["data"]["status"] == "COMPLETED"
    assert event["data"]["links"]["result"] == f"/export/{task_id}.json"
    assert got.headers["content-type"] == "application/json"
    delivery = wait_for_state(hooked, task_id, "delivered", 1)
    assert delivery["id"] == got.headers["webhook-id"]
    assert delivery["history"][0]["status"] == 204


def test_a_refused_delivery_is_retried_with_the_same_id(
    hooked: Harness, receiver: Receiver, tone_wav: Path
) -> None:
    receiver.statuses = [503]
    task_id = create(hooked, tone_wav, callback_url=receiver.url)
    hooked.client.post(f"/api/v1/cancel/{task_id}")
    failed = wait_for_state(hooked, task_id, "pending", 1)
    assert failed["last_status"] == 503
    assert failed["history"][0]["error"] == "no"  # the start of the receiver's answer
    assert failed["next_attempt_at"] is not None
    # the first retry comes about 5 s later by itself; redelivery sends it now
    again = hooked.client.post(f"/api/v1/tasks/{task_id}/webhooks/{failed['id']}/redeliver")
    assert again.status_code == 200, again.text
    wait_for_state(hooked, task_id, "delivered", 2)
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == failed["id"]
    assert first.body == second.body
    assert standardwebhooks.Webhook(SECRET).verify(second.body, second.headers)["type"] == "task.cancelled"


def test_a_redirect_is_not_followed(hooked: Harness, receiver: Receiver, tone_wav: Path) -> None:
    receiver.statuses = [302]
    receiver.headers = {"Location": "http://169.254.169.254/latest/meta-data"}
    task_id = create(hooked, tone_wav, callback_url=receiver.url)
    hooked.client.post(f"/api/v1/cancel/{task_id}")
    delivery = wait_for_state(hooked, task_id, "pending", 1)
    assert delivery["last_status"] == 302
    assert "not followed" in delivery["last_error"]
    assert len(receiver.received) == 1


def test_callback_urls_outside_the_allowed_hosts_are_refused(hooked: Harness, tone_wav: Path) -> None:
    upload = hooked.upload(tone_wav)
    for url in ("http://192.168.1.10/hook", "file:///etc/passwd", "http://user:pw@127.0.0.1/"):
        response = hooked.client.post(
            "/api/v1/create_task", json={"upload_id": upload["id"], "callback_url": url}
        )
        assert response.status_code == 422, url
        assert response.json()["key"] == "callback_url"
    with open(tone_wav, "rb") as fh:
        response = hooked.client.post(
            "/api/v1/transcribe",
            params={"name": "a.wav", "callback_url": "http://10.0.0.1/x"},
            content=fh.read(),
        )
    assert response.status_code == 422
    assert hooked.client.get("/api/v1/tasks").json()["total"] == 0


def test_transcribe_takes_a_callback_in_the_query(
    hooked: Harness, receiver: Receiver, tone_wav: Path
) -> None:
    with open(tone_wav, "rb") as fh:
        response = hooked.client.post(
            "/api/v1/transcribe", params={"name": "a.wav", "callback_url": receiver.url}, content=fh.read()
        )
    assert response.status_code == 200, response.text
    assert hooked.drain() == 1
    (got,) = receiver.wait_for(1)
    assert (
        standardwebhooks.Webhook(SECRET).verify(got.body, got.headers)["data"]["task_id"]
        == (response.json()["task_id"])
    )


def test_without_a_secret_webhooks_are_off(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    response = harness.client.post(
        "/api/v1/create_task", json={"upload_id": upload["id"], "callback_url": "http://127.0.0.1/x"}
    )
    assert response.status_code == 422
    assert "TRANSCRIBE_WEBHOOKS__SECRET" in response.json()["detail"]


def test_unknown_deliveries_are_404(hooked: Harness, tone_wav: Path) -> None:
    assert hooked.client.get("/api/v1/tasks/nope/webhooks").status_code == 404
    task_id = create(hooked, tone_wav)
    assert deliveries(hooked, task_id) == []
    assert hooked.client.post(f"/api/v1/tasks/{task_id}/webhooks/msg_x/redeliver").status_code == 404


def test_deliveries_and_attempts_are_in_the_metrics(
    hooked: Harness, receiver: Receiver, tone_wav: Path
) -> None:
    from tests.api.test_metrics import scrape, value

    receiver.statuses = [500]
    task_id = create(hooked, tone_wav, callback_url=receiver.url)
    hooked.client.post(f"/api/v1/cancel/{task_id}")
    failed = wait_for_state(hooked, task_id, "pending", 1)
    hooked.client.post(f"/api/v1/tasks/{task_id}/webhooks/{failed['id']}/redeliver")
    wait_for_state(hooked, task_id, "delivered", 2)
    metrics = scrape(hooked.client.get("/metrics").text)
    assert value(metrics["transcriber_webhook_deliveries"], state="delivered") == 1
    assert value(metrics["transcriber_webhook_deliveries"], state="pending") == 0
    attempts = metrics["transcriber_webhook_attempts"]
    assert value(attempts, "transcriber_webhook_attempts_total", outcome="accepted") == 1
    assert value(attempts, "transcriber_webhook_attempts_total", outcome="failed") == 1
