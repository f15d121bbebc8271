"""The ``eta`` row: ``eta_seconds`` when progress first reaches 25/50/75 %, against the time the task
really still took (client time to the poll that showed COMPLETED), a few tasks in turn.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

from ..errors import BenchError
from ..report import Metric, Row
from ..server import Server
from .context import Context

ETA_BAND = (0.70, 1.30)


def poll_until_done(server: Server, task_id: str, period: float, timeout: float) -> list[tuple[float, Any]]:
    """(client time, status) every ``period`` seconds on a fixed schedule, until COMPLETED."""
    samples: list[tuple[float, Any]] = []
    started = time.perf_counter()
    for tick in range(int(timeout / period)):
        time.sleep(max(0.0, started + tick * period - time.perf_counter()))
        status = server.status(task_id)
        samples.append((time.perf_counter(), status))
        if status["status"] == "COMPLETED":
            return samples
        if status["status"] in ("FAILED", "CANCELLED"):
            raise BenchError(f"task {task_id} ended {status['status']}: {status.get('error')}")
    raise BenchError(f"task {task_id} did not complete in {timeout:.0f} s")


@dataclass
class Checkpoint:
    """The first poll that showed ``progress >= fraction`` with an ETA, and what really followed."""

    fraction: float
    seen: float  # the progress that poll showed (it jumps: phrases come out a 30-s window at a time)
    eta: float
    actual: float  # client seconds from that poll to the poll that showed COMPLETED

    @property
    def ratio(self) -> float:
        return self.eta / self.actual if self.actual > 0 else float("inf")


def checkpoint(samples: list[tuple[float, Any]], fraction: float) -> Checkpoint | None:
    done_at = samples[-1][0]
    for at, s in samples:
        if s["status"] == "IN_PROGRESS" and s["progress"] >= fraction and s["eta_seconds"] is not None:
            return Checkpoint(fraction, s["progress"], s["eta_seconds"], done_at - at)
    return None


def eta_timeline(samples: list[tuple[float, Any]], created: float) -> list[list[Any]]:
    """[seconds since the task was created, status, progress, eta_seconds] at every change."""
    timeline: list[list[Any]] = []
    for at, s in samples:
        point = [s["status"], s["progress"], s["eta_seconds"]]
        if not timeline or timeline[-1][1:] != point:
            timeline.append([round(at - created, 2), *point])
    return timeline


def eta_task(server: Server, stored_path: str, timeout: float) -> tuple[list[tuple[float, Any]], float]:
    created = time.perf_counter()
    task_id = server.create_task(stored_path)
    return poll_until_done(server, task_id, 0.25, timeout), created


def eta_notes(number: int, samples: list[tuple[float, Any]], created: float) -> str:
    first = next((at for at, s in samples if s["status"] == "IN_PROGRESS" and s["progress"] > 0), None)
    later = [checkpoint(samples, f) for f in (0.5, 0.75)]
    shown = ", ".join(
        f">= {c.fraction:.0%} (seen {c.seen:.0%}): {c.eta:.1f} / {c.actual:.1f} s = {c.ratio:.2f} x"
        for c in later
        if c is not None
    )
    phrases = len(samples[-1][1]["results"]["phrases"])
    return (
        f"run {number}: create to COMPLETED {samples[-1][0] - created:.1f} s, first progress after "
        f"{(first - created) if first else float('nan'):.1f} s, {phrases} phrases; {shown or 'no later ETA'}"
    )


def eta_row(ctx: Context) -> Row:
    o = ctx.options
    audio = ctx.speech(o.eta_minutes)
    title = f"ETA accuracy on {audio.name}, {o.eta_runs} task(s) in turn (status polled every 0.25 s)"
    row = Row("eta", title, "actual left, s", "eta_seconds")
    with ctx.server("eta") as server:
        server.wait_ready()
        stored = server.upload(audio)["stored_path"]
        runs = [eta_task(server, stored, 120 + 6 * o.eta_minutes * 60) for _ in range(o.eta_runs)]
    low, high = ETA_BAND
    ratios = []
    for number, (samples, _created) in enumerate(runs, start=1):
        c = checkpoint(samples, 0.25)
        if c is None:
            row.metrics.append(Metric(f"run {number}: never an ETA at >= 25%", None))
            continue
        ratios.append(c.ratio)
        row.metrics.append(Metric(f"run {number}: ETA at >= 25% (seen {c.seen:.0%})", c.eta, c.actual))
    median = statistics.median(ratios) if ratios else None
    passed = median is not None and low <= median <= high
    row.metrics.append(Metric("median ratio at >= 25%", median, None, f"{low:.2f}..{high:.2f}", passed))
    row.data = {"timelines": [eta_timeline(samples, created) for samples, created in runs]}
    row.notes = [
        *(eta_notes(n, samples, created) for n, (samples, created) in enumerate(runs, start=1)),
        "actual left: client time from the poll that first showed the fraction to the poll that showed "
        "COMPLETED; ratio = eta_seconds / actual left; the target is on the median ratio at 25 %",
    ]
    return row
