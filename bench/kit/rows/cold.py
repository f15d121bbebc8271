"""The ``cold`` row: from launching ``serve`` on an empty data folder (warm model cache) to ``/health``,
``/health/ready`` and the first phrase of the first task, against importing faster-whisper, loading the
model and transcribing to the first phrase in this process.
"""

from __future__ import annotations

import time

from ..engine import engine_seconds, import_seconds
from ..errors import BenchError
from ..report import Metric, Row
from ..server import Server
from .context import Context


def watch_cold_start(server: Server, task_id: str, launched: float) -> tuple[float, float]:
    """Seconds from launch to ``/health/ready`` 200 and to the task's first phrase (progress > 0)."""
    ready = first = None
    deadline = time.monotonic() + 600
    while (ready is None or first is None) and time.monotonic() < deadline:
        now = time.perf_counter() - launched
        if ready is None and server.client.get("/health/ready").status_code == 200:
            ready = now
        task = server.ok(server.client.get(f"/api/v1/tasks/{task_id}"))
        if first is None and (task["progress"] > 0 or task.get("results")):
            first = now
        time.sleep(0.05)
    if ready is None or first is None:
        raise BenchError(f"cold start: ready={ready}, first phrase={first} after 600 s")
    return ready, first


def cold_row(ctx: Context) -> Row:
    row = Row("cold", "cold start: fresh data dir, warm model cache", "in-process", "service")
    audio = ctx.short_speech()
    imported = import_seconds()
    load, first_phrase = engine_seconds(ctx.models_dir, ctx.model, audio)
    server = ctx.server("cold")
    launched = time.perf_counter()
    with server:
        api = server.wait_api() - launched
        task_id = server.create_task(server.upload(audio)["stored_path"])
        ready, first = watch_cold_start(server, task_id, launched)
    row.metrics = [
        Metric("API up (/health 200), s", api),
        Metric("ready (/health/ready 200), s", ready, imported + load),
        Metric("first phrase of first task, s", first, imported + load + first_phrase),
    ]
    row.notes = [
        f"baseline: python -c 'import faster_whisper' {imported:.2f} s (median of 3), model {ctx.model} "
        f"load {load:.2f} s, transcribe({audio.name}) to its first phrase {first_phrase:.2f} s, in-process",
        "service: the task was created as soon as /health answered, so it waited for the model load; "
        "no target in issue #6 for this row (information)",
    ]
    return row
