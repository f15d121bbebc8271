"""End to end: the real service and its worker process on tiny.en, scraped like Prometheus would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.server import ServerProcess, free_port, wait_for

pytestmark = pytest.mark.slow

KEY = "prometheus-key-0123456789"


@pytest.fixture
def secured_server(tmp_path: Path, models_dir: Path) -> Iterator[ServerProcess]:
    env = {"TRANSCRIBE_API_KEYS": f"prometheus:{KEY}", "TRANSCRIBE_METRICS__BIND": f"127.0.0.1:{free_port()}"}
    process = ServerProcess(tmp_path / "data", models_dir, env=env).start()
    try:
        yield process
    finally:
        process.stop()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_task_run_by_the_worker_process_shows_in_both_scrapes(
    secured_server: ServerProcess, speech_file: Path
) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=secured_server.url, headers=headers, timeout=30) as http:
        with open(speech_file, "rb") as fh:
            upload = http.post("/api/v1/upload", files={"file": (speech_file.name, fh)}).json()
        task_id = http.post("/api/v1/create_task", json={"upload_id": upload["id"]}).json()["task_id"]

        def completed() -> bool:
            status = http.get(f"/api/v1/status/{task_id}").json()["status"]
            assert status != "FAILED"
            return bool(status == "COMPLETED")

        wait_for(completed, timeout=300, what="the task to complete")
        assert httpx.get(f"{secured_server.url}/metrics", timeout=30).status_code == 401
        keyed = samples(http.get("/metrics").text)

    port = secured_server.extra_env["TRANSCRIBE_METRICS__BIND"].rsplit(":", 1)[1]
    open_scrape = samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text)
    engine = frozenset({("model", "tiny.en"), ("device", "cpu")})
    for scrape in (keyed, open_scrape):
        assert scrape["transcriber_tasks", frozenset({("status", "COMPLETED")})] == 1
        assert scrape["transcriber_audio_seconds_total", frozenset()] == pytest.approx(11.0, abs=0.5)
        assert scrape["transcriber_realtime_factor_count", engine] == 1
        assert 0 < scrape["transcriber_realtime_factor_sum", engine] < 5
        assert scrape["transcriber_workers", frozenset({("state", "idle")})] == 1
    route = frozenset({("method", "GET"), ("route", "/api/v1/status/{task_id}"), ("status", "2xx")})
    assert open_scrape["transcriber_http_request_duration_seconds_count", route] >= 1
