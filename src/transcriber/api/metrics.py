"""``GET /metrics``: Prometheus text format, read from the database on every scrape.

The workers are other processes (later on other machines) sharing the database, so the database is the
truth: :class:`StoreCollector` asks the store at each scrape instead of counting in this process (no
multiprocess mode). Each metric family is one small function fed by one store method; a new family is
one more function in :data:`FAMILIES`. The registry belongs to the application (``create_app`` builds
it), so many apps in one process (the tests) never share one.

With ``TRANSCRIBE_METRICS__BIND`` the same registry is also served without a key on a separate listener
(:func:`metrics_listener`), which only an administrator's setting opens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    start_http_server,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from transcriber.api.deps import MetricsDep
from transcriber.api.schemas import ERROR_RESPONSES
from transcriber.clock import utcnow
from transcriber.config import WorkerSettings
from transcriber.domain import TaskStatus, WorkerState
from transcriber.service.health import worker_rows
from transcriber.store import SqlTaskStore

log = logging.getLogger(__name__)

REALTIME_FACTOR_BUCKETS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)
"""Processing seconds per audio second: a GPU runs near 0.02-0.1, a CPU 0.1-1; over 1 the queue grows."""


@dataclass(frozen=True, slots=True)
class Scrape:
    """What every family reads from: the store, the worker settings (staleness) and the scrape's time."""

    store: SqlTaskStore
    worker_settings: WorkerSettings
    now: datetime


Family = Callable[[Scrape], Iterable[Metric]]


def task_families(scrape: Scrape) -> Iterable[Metric]:
    counts = scrape.store.count_by_status()
    tasks = GaugeMetricFamily("transcriber_tasks", "Tasks in the database by status.", labels=["status"])
    for status in TaskStatus:
        tasks.add_metric([status.value], counts[status])
    return [tasks]


def queue_families(scrape: Scrape) -> Iterable[Metric]:
    queue = scrape.store.queue_stats()
    oldest = (scrape.now - queue.oldest_created_at).total_seconds() if queue.oldest_created_at else 0.0
    return [
        GaugeMetricFamily("transcriber_queue_depth", "Tasks waiting for a worker.", value=queue.depth),
        GaugeMetricFamily(
            "transcriber_queue_audio_seconds",
            "Seconds of audio in the tasks waiting for a worker.",
            value=queue.audio_seconds,
        ),
        GaugeMetricFamily(
            "transcriber_queue_oldest_pending_seconds",
            "How long the longest-waiting task has waited, since it was created (0 for an empty queue).",
            value=max(0.0, oldest),
        ),
    ]


def audio_families(scrape: Scrape) -> Iterable[Metric]:
    return [
        CounterMetricFamily(
            "transcriber_audio_seconds",
            "Seconds of audio in the completed tasks kept in the database (deleting tasks lowers it).",
            value=scrape.store.completed_audio_seconds(),
        )
    ]


def realtime_factor_families(scrape: Scrape) -> Iterable[Metric]:
    histogram = HistogramMetricFamily(
        "transcriber_realtime_factor",
        "Processing seconds per audio second of the completed tasks, by the model and device they ran on.",
        labels=["model", "device"],
    )
    for factors in scrape.store.realtime_factors(REALTIME_FACTOR_BUCKETS):
        cumulative, buckets = 0, []
        for bound, count in zip((*REALTIME_FACTOR_BUCKETS, float("inf")), factors.counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        histogram.add_metric([factors.model, factors.device], buckets, sum_value=factors.total)
    return [histogram]


def worker_families(scrape: Scrape) -> Iterable[Metric]:
    rows = worker_rows(store=scrape.store, worker_settings=scrape.worker_settings)
    states = GaugeMetricFamily(
        "transcriber_workers",
        "Worker processes by state; 'unresponsive': no heartbeat for TRANSCRIBE_WORKER__STALE_AFTER_SECONDS.",
        labels=["state"],
    )
    for state in WorkerState:
        states.add_metric([state.value], sum(1 for w in rows if w["state"] == state))
    info = GaugeMetricFamily(
        "transcriber_worker_info",
        "One series (value 1) per worker process: where it runs, what it has loaded, its state.",
        labels=["worker", "host", "device", "model", "compute_type", "state"],
    )
    age = GaugeMetricFamily(
        "transcriber_worker_heartbeat_age_seconds",
        "Seconds since the worker's last heartbeat.",
        labels=["worker"],
    )
    for w in rows:
        labels = [w["id"], w["host"], w["device"], w["model"], w["compute_type"], str(w["state"])]
        info.add_metric([value or "" for value in labels], 1)
        age.add_metric([w["id"]], w["heartbeat_age_seconds"])
    return [states, info, age]


def webhook_families(scrape: Scrape) -> Iterable[Metric]:
    stats = scrape.store.webhook_stats()
    deliveries = GaugeMetricFamily(
        "transcriber_webhook_deliveries",
        "Webhook deliveries by state: pending (to be sent or retried), delivered, failed (given up).",
        labels=["state"],
    )
    for state, count in sorted(stats.deliveries.items()):
        deliveries.add_metric([state], count)
    attempts = CounterMetricFamily(
        "transcriber_webhook_attempts",
        "Attempts to deliver a webhook, by outcome: accepted (2xx) or failed (another status, no answer, a "
        "host not allowed); deleting tasks lowers it.",
        labels=["outcome"],
    )
    attempts.add_metric(["accepted"], stats.accepted_attempts)
    attempts.add_metric(["failed"], stats.failed_attempts)
    return [deliveries, attempts]


FAMILIES: tuple[Family, ...] = (
    task_families,
    queue_families,
    audio_families,
    realtime_factor_families,
    worker_families,
    webhook_families,
)
"""Every family read from the database, in the order they are exposed."""


class StoreCollector(Collector):
    """The database's figures at the time of each scrape. A family whose query fails is left out of
    that scrape (logged), and ``transcriber_database_up`` says 0."""

    def __init__(self, store: SqlTaskStore, worker_settings: WorkerSettings) -> None:
        self.store = store
        self.worker_settings = worker_settings

    def collect(self) -> Iterator[Metric]:
        scrape = Scrape(store=self.store, worker_settings=self.worker_settings, now=utcnow())
        collected: list[Metric] = []
        up = 1
        for family in FAMILIES:
            try:
                collected.extend(family(scrape))
            except SQLAlchemyError as exc:
                up = 0
                log.warning("metrics: %s could not read the database: %s", family.__name__, exc)
        yield from collected
        yield GaugeMetricFamily(
            "transcriber_database_up",
            "1 if every figure of this scrape was read from the database.",
            value=up,
        )


def build_registry() -> CollectorRegistry:
    """The application's own registry, with this process's CPU, memory and garbage collector."""
    registry = CollectorRegistry()
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


@contextmanager
def store_metrics(registry: CollectorRegistry, collector: StoreCollector) -> Iterator[None]:
    """The database's figures in ``registry`` while the application runs."""
    registry.register(collector)
    try:
        yield
    finally:
        registry.unregister(collector)


@contextmanager
def metrics_listener(registry: CollectorRegistry, address: tuple[str, int] | None) -> Iterator[None]:
    """Serve ``registry`` without a key on ``address`` (a thread of its own) until the block ends."""
    if address is None:
        yield
        return
    host, port = address
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise OSError(
            f"cannot listen for metrics on {host}:{port} (TRANSCRIBE_METRICS__BIND): {exc}"
        ) from exc
    log.info("metrics without a key on http://%s:%d/metrics", host, server.server_port)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


router = APIRouter(tags=["health"], responses=ERROR_RESPONSES)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
)
def metrics(registry: MetricsDep, request: Request) -> Response:
    """Tasks, queue, audio transcribed, real-time factor, workers and HTTP latency, in Prometheus text
    format (or OpenMetrics, if the scraper asks for it), read from the database at each call. Needs an
    API key when keys are configured."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(registry), headers={"Content-Type": content_type})
