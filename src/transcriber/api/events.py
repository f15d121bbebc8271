"""Live updates for the web UI as Server-Sent Events: the task list and the health report."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from transcriber.api.deps import StoreDep, WorkerSettingsDep
from transcriber.api.presenters import task_page
from transcriber.api.schemas import ERROR_RESPONSES
from transcriber.config import WorkerSettings
from transcriber.domain import TaskStatus
from transcriber.service.health import health_report
from transcriber.service.tasks import list_tasks
from transcriber.store import SqlTaskStore

router = APIRouter(tags=["events"], responses=ERROR_RESPONSES)

TICK_SECONDS = 1.0
HEALTH_SECONDS = 3.0
PING_SECONDS = 15.0
RETRY_MS = 2000


def sse(event: str, data: str) -> str:
    """One event in the text/event-stream format (``data`` is one line of JSON)."""
    return f"event: {event}\ndata: {data}\n\n"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tasks_json(
    *, store: SqlTaskStore, worker_settings: WorkerSettings, statuses: Sequence[TaskStatus] | None, limit: int
) -> str:
    found = list_tasks(store=store, worker_settings=worker_settings, statuses=statuses, limit=limit)
    return task_page(found, limit=limit, offset=0).model_dump_json()


MOVING = ("heartbeat_at", "heartbeat_age_seconds")
"""What changes with every heartbeat: a change of these alone does not send the report again."""


def _steady(worker: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if worker is None else {k: v for k, v in worker.items() if k not in MOVING}


def health_json(*, store: SqlTaskStore, worker_settings: WorkerSettings) -> tuple[str, str]:
    """The health report as JSON, and a digest of it that ignores the ever-growing heartbeat ages."""
    report = health_report(store=store, worker_settings=worker_settings)
    steady = {
        **report,
        "worker": _steady(report["worker"]),
        "workers": [_steady(w) for w in report["workers"]],
    }
    text = json.dumps(report, ensure_ascii=False, separators=(",", ":"))
    return text, digest(json.dumps(steady, sort_keys=True))


async def stream(
    request: Request,
    *,
    store: SqlTaskStore,
    worker_settings: WorkerSettings,
    statuses: Sequence[TaskStatus] | None,
    limit: int,
    tick: float = TICK_SECONDS,
) -> AsyncIterator[str]:
    """Send ``tasks`` when the list changes, ``health`` when it changes or every few seconds,
    and a comment as keep-alive; stop when the client goes away."""
    yield f"retry: {RETRY_MS}\n\n"
    sent_tasks = sent_health = ""
    health_at = last_sent = time.monotonic()
    first = True
    while not await request.is_disconnected():
        now = time.monotonic()
        tasks = await run_in_threadpool(
            tasks_json, store=store, worker_settings=worker_settings, statuses=statuses, limit=limit
        )
        if (tasks_digest := digest(tasks)) != sent_tasks:
            sent_tasks, last_sent = tasks_digest, now
            yield sse("tasks", tasks)
        health, health_digest = await run_in_threadpool(
            health_json, store=store, worker_settings=worker_settings
        )
        if first or health_digest != sent_health or now - health_at >= HEALTH_SECONDS:
            sent_health, health_at, last_sent = health_digest, now, now
            yield sse("health", health)
        if now - last_sent >= PING_SECONDS:
            last_sent = now
            yield ": ping\n\n"
        first = False
        await asyncio.sleep(tick)


@router.get(
    "/api/v1/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"}},
)
async def events(
    request: Request,
    store: StoreDep,
    worker_settings: WorkerSettingsDep,
    status: Annotated[list[TaskStatus] | None, Query(description="Filter; repeat for several")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> StreamingResponse:
    """Server-Sent Events for live pages (the web UI uses it; `EventSource` in a browser).

    - `event: tasks` — `data` is the same JSON as `GET /api/v1/tasks` with the same `status` and `limit`
      (`{tasks, total, limit, offset}`); sent at once and then whenever the list changes (checked every
      second).
    - `event: health` — `data` is the `GET /health` body; sent at once, when it changes, and every 3 s.
    - `: ping` — a comment every 15 s of silence, so proxies keep the connection open.

    The stream never ends by itself; a client that loses it reconnects (`retry: 2000`) or falls back to
    polling `GET /api/v1/tasks`.
    """
    return StreamingResponse(
        stream(request, store=store, worker_settings=worker_settings, statuses=status, limit=limit),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
