"""The ``latency`` row: ``GET /api/v1/status/{id}`` at a fixed request rate (open loop) while a task is
transcribing, against the same requests with the worker idle (the task cancelled); in between, as a
diagnosis, the same while transcribing with the worker's threads reniced.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BenchError
from ..load import LoadResult, paced_load, percentile
from ..machine import renice
from ..report import Metric, Row, at_most
from ..server import Server
from .context import Context, Options

LATENCY_TARGET_MS = 50.0
WORKER_NICE = 10


def worker_pid(server: Server) -> int:
    worker = server.client.get("/health").json().get("worker") or {}
    if not worker.get("pid"):
        raise BenchError("the health report names no worker process")
    return int(worker["pid"])


def latency_phases(server: Server, audio: Path, o: Options) -> tuple[dict[str, LoadResult], int]:
    """The same status request at the same pace: while transcribing, then (a diagnosis) while
    transcribing with the worker at nice 10, then with the worker idle after cancelling the task.
    Also returns how many of the worker's threads were reniced."""
    count = round(o.rate * o.seconds)
    task_id = server.create_task(server.upload(audio)["stored_path"])
    if server.wait_status(task_id, 600, min_progress=0.001)["status"] != "IN_PROGRESS":
        raise BenchError("the task finished before the measurement; use a longer --latency-minutes")
    path = f"/api/v1/status/{task_id}"
    phases = {"busy": paced_load(server.url, path, rate=o.rate, count=count)}
    threads = renice(worker_pid(server), WORKER_NICE)
    phases["niced"] = paced_load(server.url, path, rate=o.rate, count=count)
    server.cancel(task_id)
    server.wait_worker_idle()
    phases["idle"] = paced_load(server.url, path, rate=o.rate, count=count)
    return phases, threads


def latency_row(ctx: Context) -> Row:
    o = ctx.options
    title = f"status latency: GET /api/v1/status/{{id}}, {o.rate:g} req/s x {o.seconds:g} s, open loop"
    row = Row("latency", title, "worker idle", "transcribing")
    audio = ctx.speech(o.latency_minutes)
    with ctx.server("latency") as server:
        server.wait_ready()
        phases, threads = latency_phases(server, audio, o)
    busy, niced, idle = phases["busy"], phases["niced"], phases["idle"]
    row.metrics = [
        Metric("p50, ms", busy.p(50), idle.p(50)),
        at_most("p99, ms", busy.p(99), idle.p(99), LATENCY_TARGET_MS),
        Metric("max, ms", max(busy.latencies_ms, default=None), max(idle.latencies_ms, default=None)),
        Metric("errors", busy.errors, idle.errors, "0", busy.errors == 0, 0),
        Metric("p99 from actual send, ms", percentile(busy.service_ms, 99), percentile(idle.service_ms, 99)),
        Metric("client launch lag p99, ms", percentile(busy.lag_ms, 99), percentile(idle.lag_ms, 99)),
        Metric(f"p50, worker at nice {WORKER_NICE}, ms", niced.p(50), idle.p(50)),
        Metric(f"p99, worker at nice {WORKER_NICE}, ms", niced.p(99), idle.p(99)),
    ]
    row.notes = [
        f"{busy.sent} requests per phase, latency from each one's scheduled send time; answers: "
        f"transcribing {dict(busy.answers)}, nice {dict(niced.answers)}, idle {dict(idle.answers)}",
        f"one task throughout ({audio.name}): transcribing, then transcribing with the worker's {threads} "
        f"threads reniced to {WORKER_NICE} (a diagnosis, not a target), then cancelled: worker idle",
        "client launch lag: how late this client itself sent the requests (high: the client was starved "
        "of CPU too, so the machine, not only the server, was saturated)",
    ]
    row.data = {name: result.to_json() for name, result in phases.items()}
    return row
