"""Webhooks: signatures checked by the Standard Webhooks reference library, the retry schedule, which
hosts a webhook may go to, and the task's options."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks
from pydantic import SecretStr, ValidationError

from transcriber.config import WebhookSettings
from transcriber.errors import InvalidSettings
from transcriber.service.callbacks import with_callback
from transcriber.webhooks import schedule
from transcriber.webhooks.events import payload
from transcriber.webhooks.signing import new_secret, parse_secret, signed_headers
from transcriber.webhooks.targets import TargetRefused, Targets


def test_a_signature_verifies_with_the_reference_library() -> None:
    secret = new_secret()
    body = json.dumps({"type": "task.completed", "data": {"task_id": "t1"}}).encode()
    timestamp = int(datetime.now(UTC).timestamp())
    headers = signed_headers(parse_secret(secret), "msg_1", timestamp, body)
    assert standardwebhooks.Webhook(secret).verify(body, headers) == {
        "type": "task.completed",
        "data": {"task_id": "t1"},
    }
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_secret()).verify(body, headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body + b" ", headers)


@pytest.mark.parametrize(
    ("secret", "message"),
    [("abc", "starts with whsec_"), ("whsec_!!!", "base64"), ("whsec_" + "QUFB", "24 to 64 bytes")],
)
def test_a_bad_secret_is_refused_at_start(secret: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WebhookSettings(secret=SecretStr(secret))


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "300.1.2.3", "", "two words"])
def test_allowed_hosts_are_checked_at_start(entry: str) -> None:
    with pytest.raises(ValidationError, match="host name"):
        WebhookSettings(allowed_hosts=[entry])


def test_retries_start_soon_grow_and_stop_at_the_deadline() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    deadline = now + timedelta(hours=24)
    first = schedule.next_attempt(1, now=now, deadline=deadline)
    assert first is not None
    assert timedelta(seconds=4) <= first - now <= timedelta(seconds=6)
    pauses = [schedule.next_attempt(n, now=now, deadline=deadline) for n in range(1, 12)]
    seconds = [(p - now).total_seconds() for p in pauses if p is not None]
    spread = (1 - schedule.JITTER) / (1 + schedule.JITTER)  # equal pauses may come out in either order
    assert all(later >= earlier * spread for earlier, later in itertools.pairwise(seconds))
    assert seconds[-1] > 3 * 3600
    late = deadline - timedelta(seconds=1)
    assert schedule.next_attempt(9, now=late, deadline=deadline) == deadline  # one last try at the end
    assert schedule.next_attempt(9, now=deadline, deadline=deadline) is None


def hooks(**kwargs: object) -> WebhookSettings:
    return WebhookSettings(secret=SecretStr(new_secret()), **kwargs)  # type: ignore[arg-type]


def test_targets_are_allowed_names_and_networks_only() -> None:
    targets = Targets(hooks(allowed_hosts=["1c.example.local", "10.20.0.0/16", "::1"]))
    targets.check("https://1C.example.local/hs/stt/webhook")
    targets.check("http://10.20.3.4:8080/x")
    targets.check("http://[::1]:9000/x")
    refused = {
        "http://10.21.0.1/x": "not among the hosts",
        "http://169.254.169.254/latest/meta-data": "not among the hosts",
        "ftp://1c.example.local/x": "http:// or https://",
        "http://user:pw@1c.example.local/x": "user name or password",
        "http:///x": "no host",
        "http://1c.example.local:99999/x": "valid URL",
        "http://1c.example.local/" + "a" * 3000: "longer than",
    }
    for url, message in refused.items():
        with pytest.raises(TargetRefused, match=message):
            targets.check(url)


def test_a_name_allowed_through_a_network_is_pinned_to_the_checked_address() -> None:
    target = Targets(hooks(allowed_hosts=["127.0.0.0/8"])).target("http://localhost:8123/hook?a=1")
    assert target.url == "http://127.0.0.1:8123/hook?a=1"
    assert target.headers == {"Host": "localhost:8123"}
    with pytest.raises(TargetRefused, match="not among"):
        Targets(hooks(allowed_hosts=["10.0.0.0/8"])).target("http://localhost/hook")


def test_the_default_url_is_applied_and_its_host_allowed() -> None:
    settings = hooks(url="http://erp.local/hook")
    assert with_callback({"language": "ru"}, settings) == {
        "language": "ru",
        "callback_url": "http://erp.local/hook",
    }
    assert with_callback({"callback_url": "http://erp.local/other"}, settings)["callback_url"].endswith(
        "other"
    )
    assert with_callback({"callback_url": ""}, settings) == {}  # this task: no webhook
    with pytest.raises(InvalidSettings, match="not among") as caught:
        with_callback({"callback_url": "http://10.0.0.1/"}, settings)
    assert caught.value.key == "callback_url"


def test_without_a_secret_a_callback_is_refused_and_no_default_applies() -> None:
    off = WebhookSettings(url="http://erp.local/hook", allowed_hosts=["erp.local"])
    assert with_callback({}, off) == {}
    with pytest.raises(InvalidSettings, match="TRANSCRIBE_WEBHOOKS__SECRET"):
        with_callback({"callback_url": "http://erp.local/hook"}, off)


def test_the_payload_links_to_the_result_not_the_transcript() -> None:
    finished = datetime(2026, 12, 7, 12, 0, 1, tzinfo=UTC)
    task = {"id": "t1", "status": "COMPLETED", "duration": 11.0, "language": "en", "finished_at": finished}
    event, body = payload(task, now=finished)
    document = json.loads(body)
    assert event == "task.completed"
    assert document["type"] == "task.completed"
    assert document["timestamp"] == "2026-12-07T12:00:01Z"
    assert document["data"]["links"] == {"status": "/api/v1/status/t1", "result": "/export/t1.json"}
    assert "phrases" not in document["data"]
    failed = payload({"id": "t2", "status": "FAILED", "error": "damaged"}, now=finished)
    assert failed[0] == "task.failed"
    assert json.loads(failed[1])["data"]["links"]["result"] is None


def test_the_cli_makes_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    from transcriber.cli import main

    assert main(["webhook-secret"]) == 0
    secret = capsys.readouterr().out.strip()
    assert len(parse_secret(secret)) == 32
    WebhookSettings(secret=SecretStr(secret))  # accepted as the setting
