"""GET /metrics on the real app: scraped and parsed with prometheus_client's own parser."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pydantic import SecretStr

from tests.conftest import FakeTranscriber, Harness
from transcriber.api import create_app
from transcriber.api.metrics import StoreCollector
from transcriber.api.state import app_state
from transcriber.config import MetricsSettings, Settings, WorkerSettings
from transcriber.db import create_db_engine
from transcriber.store import SqlTaskStore

KEY = "k3y-for-metrics-0123456789"


def scrape(text: str) -> dict[str, list[Sample]]:
    """Every sample by metric family name."""
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(samples: list[Sample], name: str | None = None, **labels: str) -> float:
    found = [
        s.value for s in samples if (name is None or s.name == name) and labels.items() <= s.labels.items()
    ]
    assert len(found) == 1, (name, labels, samples)
    return found[0]


def create(harness: Harness, upload_id: object) -> str:
    response = harness.client.post("/api/v1/create_task", json={"upload_id": upload_id})
    assert response.status_code == 200, response.text
    task_id: str = response.json()["task_id"]
    return task_id


def test_a_scrape_shows_tasks_queue_audio_speed_workers_and_latency(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    done = create(harness, upload["id"])
    harness.worker().run_once()
    harness.engine.fail_with = RuntimeError("decoder exploded")
    failed = create(harness, upload["id"])
    harness.worker().run_once()
    create(harness, upload["id"])  # left pending
    assert harness.client.get(f"/api/v1/status/{done}").json()["status"] == "COMPLETED"
    assert harness.client.get(f"/api/v1/status/{failed}").json()["status"] == "FAILED"
    effective = harness.services.store.get_task(done)
    assert effective is not None
    assert effective.effective is not None
    model = effective.effective["WHISPER_MODEL"]

    response = harness.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    metrics = scrape(response.text)

    tasks = metrics["transcriber_tasks"]
    assert {s.labels["status"]: s.value for s in tasks} == {
        "PENDING": 1, "IN_PROGRESS": 0, "COMPLETED": 1, "FAILED": 1, "CANCELLED": 0,
    }  # fmt: skip
    assert value(metrics["transcriber_queue_depth"]) == 1
    assert value(metrics["transcriber_queue_audio_seconds"]) == pytest.approx(2.0, abs=0.05)  # the tone
    assert 0 <= value(metrics["transcriber_queue_oldest_pending_seconds"]) < 60
    # the fake engine says each recording is 3 s long: only the completed one counts
    assert value(metrics["transcriber_audio_seconds"], "transcriber_audio_seconds_total") == 3.0
    factor = metrics["transcriber_realtime_factor"]
    engine = {"model": model, "device": "cpu"}
    assert value(factor, "transcriber_realtime_factor_count", **engine) == 1
    assert value(factor, "transcriber_realtime_factor_bucket", le="+Inf", **engine) == 1
    assert value(factor, "transcriber_realtime_factor_sum", **engine) >= 0
    assert value(metrics["transcriber_workers"], state="idle") == 1
    assert value(metrics["transcriber_workers"], state="busy") == 0
    info = value(
        metrics["transcriber_worker_info"], worker="test-worker", device="cpu", model=model, state="idle"
    )
    assert info == 1
    assert 0 <= value(metrics["transcriber_worker_heartbeat_age_seconds"], worker="test-worker") < 60
    assert value(metrics["transcriber_database_up"]) == 1
    assert "process_cpu_seconds" in metrics or "python_info" in metrics

    latency = metrics["transcriber_http_request_duration_seconds"]
    status_route = {"method": "GET", "route": "/api/v1/status/{task_id}", "status": "2xx"}
    assert value(latency, "transcriber_http_request_duration_seconds_count", **status_route) == 2
    assert not any(done in s.labels.get("route", "") for s in latency)


def test_routes_are_labelled_by_template_and_unknown_paths_share_one_label(harness: Harness) -> None:
    assert harness.client.get("/api/v1/status/no-such-task").status_code == 404
    for path in ("/no/such/path", "/another/one"):
        assert harness.client.get(path).status_code == 404
    assert harness.client.delete("/health").status_code == 405
    latency = scrape(harness.client.get("/metrics").text)["transcriber_http_request_duration_seconds"]
    counts = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in latency
        if s.name.endswith("_count")
    }
    assert counts[("GET", "/api/v1/status/{task_id}", "4xx")] == 1
    assert counts[("GET", "<unmatched>", "4xx")] == 2
    assert counts[("DELETE", "/health", "4xx")] == 1
    assert not any("no-such" in route or "/no/" in route for _m, route, _s in counts)


def test_a_streamed_export_is_timed_to_its_end(harness: Harness, tone_wav: Path) -> None:
    status = harness.transcribe(tone_wav)
    assert harness.client.get(f"/export/{status['task_id']}.srt").status_code == 200
    latency = scrape(harness.client.get("/metrics").text)["transcriber_http_request_duration_seconds"]
    routes = {s.labels["route"] for s in latency if s.labels.get("method") == "GET"}
    assert any(route.startswith("/export/") and "{" in route for route in routes), routes


@pytest.fixture
def secured(settings: Settings) -> Iterator[Harness]:
    settings.api_keys = SecretStr(f"ci:{KEY}")
    app = create_app(settings, environ={})
    with TestClient(app) as client:
        yield Harness(client=client, services=app_state(app), engine=FakeTranscriber())


def test_metrics_need_the_key_when_keys_are_configured(secured: Harness) -> None:
    refused = secured.client.get("/metrics")
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized"
    assert secured.client.get("/metrics", headers={"X-API-Key": "wrong-key-0123456789"}).status_code == 401
    answered = secured.client.get("/metrics", headers={"Authorization": f"Bearer {KEY}"})
    assert answered.status_code == 200
    latency = scrape(answered.text)["transcriber_http_request_duration_seconds"]
    # refused before routing: no route handled them
    refusals = value(
        latency, "transcriber_http_request_duration_seconds_count", route="<unmatched>", status="4xx"
    )
    assert refusals == 2


def test_metrics_can_be_switched_off(settings: Settings) -> None:
    settings.metrics = MetricsSettings(enabled=False)
    with TestClient(create_app(settings, environ={})) as client:
        assert client.get("/metrics").status_code == 404


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_separate_listener_serves_the_same_metrics_without_a_key(settings: Settings) -> None:
    port = free_port()
    settings.api_keys = SecretStr(f"ci:{KEY}")
    settings.metrics = MetricsSettings(bind=f"127.0.0.1:{port}")
    with TestClient(create_app(settings, environ={})) as client:
        assert client.get("/health/ready").status_code == 503
        assert client.get("/metrics").status_code == 401
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert response.status_code == 200
        metrics = scrape(response.text)
        assert value(metrics["transcriber_queue_depth"]) == 0
        assert value(metrics["transcriber_tasks"], status="COMPLETED") == 0
        latency = metrics["transcriber_http_request_duration_seconds"]
        assert value(latency, "transcriber_http_request_duration_seconds_count", route="/health/ready") == 1
    # the listener ends with the application
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


@pytest.mark.parametrize("bind", ["9464", "host", ":9464", "host:0", "host:70000", "[::1]"])
def test_the_listener_address_must_be_host_and_port(bind: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        MetricsSettings(bind=bind)
    assert MetricsSettings(bind="[::1]:9464").address == ("::1", 9464)
    assert MetricsSettings().address is None


def test_a_database_that_does_not_answer_leaves_its_families_out(tmp_path: Path) -> None:
    engine = create_db_engine("sqlite:///" + str(tmp_path / "empty.db"))  # no tables: every query fails
    registry = CollectorRegistry()
    registry.register(StoreCollector(SqlTaskStore(engine), WorkerSettings()))
    try:
        metrics = scrape(generate_latest(registry).decode())
    finally:
        engine.dispose()
    assert metrics == {"transcriber_database_up": metrics["transcriber_database_up"]}
    assert value(metrics["transcriber_database_up"]) == 0
