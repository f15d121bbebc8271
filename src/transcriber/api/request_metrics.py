"""HTTP request latency for ``GET /metrics``, as plain ASGI middleware.

Each request is timed from its arrival to the end of its response (a streamed export or an event stream
until its last byte) and counted under its method, its route's template (``/api/v1/status/{task_id}``,
never the raw path: a label per task id would grow without bound) and its status class (``2xx``).
A request no route handled is counted as ``<unmatched>``: a path no route matches, and a request
refused before routing (401 without a key, 413 for a declared body over the limit, 400 for a Host
name not allowed); its status class tells them apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "<unmatched>"
"""The route label of a path that no route matches."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods counted under their name; any other (a client may send any token) as ``OTHER``."""
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, float("inf"))
"""Seconds: API calls take milliseconds, uploads and exports of long recordings minutes."""


def request_histogram(registry: CollectorRegistry) -> Histogram:
    return Histogram(
        "transcriber_http_request_duration_seconds",
        "HTTP requests from arrival to the end of the response, by method, route template and status class.",
        labelnames=["method", "route", "status"],
        buckets=BUCKETS,
        registry=registry,
    )


def route_template(scope: Scope) -> str:
    """The template of the route that handled the request (the router leaves it in the scope)."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestMetricsMiddleware:
    """Times every HTTP request into ``histogram``."""

    def __init__(
        self, app: ASGIApp, histogram: Histogram, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.app = app
        self.histogram = histogram
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock()
        status = 500  # an exception before the response started is answered with 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            route = route_template(scope)
            self.histogram.labels(method=method, route=route, status=f"{status // 100}xx").observe(
                self.clock() - started
            )
