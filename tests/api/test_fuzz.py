"""Schemathesis against the service's own OpenAPI schema (the real app): no 5xx, no schema violations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from tests.conftest import FakeTranscriber, Harness
from transcriber.api import create_app
from transcriber.api.state import app_state
from transcriber.config import OpenAISettings, Settings


@pytest.fixture
def api_schema(settings: Settings, tone_wav: Any) -> Iterator[Any]:
    # No worker runs here: an OpenAI-style request that queues a task gives up waiting at once (504).
    settings.openai = OpenAISettings(keepalive_seconds=0.1, max_wait_seconds=0.5)
    app = create_app(settings, environ={})
    with TestClient(app) as client:
        # Some real data, so that generated ids sometimes meet existing objects.
        harness = Harness(client=client, services=app_state(app), engine=FakeTranscriber())
        upload = harness.upload(tone_wav)
        client.post("/api/v1/create_task", json={"upload_id": upload["id"]})
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        # The event stream never ends by design, and readiness answers 503 by design while no worker
        # runs (as here); both have their own tests.
        yield schema.exclude(path="/api/v1/events").exclude(path="/health/ready")


CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


@pytest.mark.slow
def test_api_conforms_to_its_schema(api_schema: Any) -> None:
    """Every operation, a bounded number of generated requests each (schemathesis's pytest plugin is
    driven by hand here: it does not support this pytest version's collection)."""
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def run(case: Any) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure at the end
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 15
    assert not failures, "\n\n".join(failures)
