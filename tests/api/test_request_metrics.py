"""The request latency middleware on a tiny app of its own, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from transcriber.api.request_metrics import RequestMetricsMiddleware, request_histogram


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def client(clock: Clock, registry: CollectorRegistry) -> Iterator[TestClient]:
    def stream(request: Request) -> StreamingResponse:
        def chunks() -> Iterator[bytes]:
            yield b"first "
            clock.now += 7.0  # the rest of the body takes 7 s
            yield b"last"

        return StreamingResponse(chunks())

    def item(request: Request) -> PlainTextResponse:
        clock.now += 0.02
        return PlainTextResponse(request.path_params["item_id"])

    def broken(request: Request) -> PlainTextResponse:
        raise RuntimeError("the handler broke")

    app = Starlette(
        routes=[Route("/stream", stream), Route("/items/{item_id}", item), Route("/broken", broken)]
    )
    app.add_middleware(RequestMetricsMiddleware, histogram=request_histogram(registry), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def observed(registry: CollectorRegistry, suffix: str, **labels: str) -> float | None:
    return registry.get_sample_value(f"transcriber_http_request_duration_seconds_{suffix}", labels)


def test_a_streamed_response_is_timed_until_its_last_byte(
    client: TestClient, registry: CollectorRegistry
) -> None:
    assert client.get("/stream").text == "first last"
    labels = {"method": "GET", "route": "/stream", "status": "2xx"}
    assert observed(registry, "sum", **labels) == pytest.approx(7.0)
    assert observed(registry, "bucket", le="5.0", **labels) == 0
    assert observed(registry, "bucket", le="10.0", **labels) == 1


def test_the_route_template_is_the_label_not_the_path(
    client: TestClient, registry: CollectorRegistry
) -> None:
    for item_id in ("a", "b", "c"):
        assert client.get(f"/items/{item_id}").status_code == 200
    labels = {"method": "GET", "route": "/items/{item_id}", "status": "2xx"}
    assert observed(registry, "count", **labels) == 3
    assert observed(registry, "sum", **labels) == pytest.approx(0.06)
    assert client.get("/nowhere/42").status_code == 404
    assert observed(registry, "count", method="GET", route="<unmatched>", status="4xx") == 1


def test_odd_methods_and_errors_keep_the_labels_bounded(
    client: TestClient, registry: CollectorRegistry
) -> None:
    assert client.get("/broken").status_code == 500
    assert observed(registry, "count", method="GET", route="/broken", status="5xx") == 1
    assert client.request("BREW", "/items/x").status_code == 405
    assert observed(registry, "count", method="OTHER", route="/items/{item_id}", status="4xx") == 1
