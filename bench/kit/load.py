"""Load: how busy the rest of the machine was while a benchmark measured something, and the open-loop
paced HTTP load the service benchmark puts on a server, with percentiles of what it saw.

``ForeignLoad`` reads the machine's busy CPU time (``/proc/stat``) and this process's own CPU time and
that of its waited-for children (``os.times``) at the start and the end of a measurement; the difference,
divided by the wall time, is the number of cores that *other* processes used meanwhile. On this shared
2-core machine a figure above ``DISTURBED_CORES`` means the measurement should be repeated.

``paced_load`` sends requests on a fixed schedule whatever the answers' speed and times each from its
*scheduled* send time, so a slow server cannot hide its own delay (no coordinated omission).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from .errors import BenchError

DISTURBED_CORES = 0.3
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent outside idle and iowait since boot (0 where /proc/stat is absent)."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    guest = sum(fields[8:10]) if len(fields) > 9 else 0  # already counted in user and nice
    return (sum(fields) - idle - guest) / _TICKS


def own_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class ForeignLoad:
    """``with ForeignLoad() as load: ...`` then ``load.cores``: other processes' mean CPU use."""

    def __enter__(self) -> ForeignLoad:
        self._busy, self._own, self._wall = machine_busy_seconds(), own_seconds(), time.perf_counter()
        self.cores = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._wall
        foreign = (machine_busy_seconds() - self._busy) - (own_seconds() - self._own)
        self.cores = max(0.0, foreign / wall) if wall > 0 else 0.0

    @property
    def disturbed(self) -> bool:
        return self.cores > DISTURBED_CORES


def add_child_options(parser: argparse.ArgumentParser) -> None:
    """The hidden options a measuring child process is started with (see :func:`run_child`): the audio
    it reads, the JSON file it writes and the shared model cache. ``--child`` itself is the script's."""
    parser.add_argument("--audio", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--models-dir", type=Path, help=argparse.SUPPRESS)


def mode_parser(
    doc: str | None, *, minutes: float, what: str, modes: Sequence[str], model_help: str = "bundled model"
) -> argparse.ArgumentParser:
    """The options every mode-comparing benchmark takes: ``--minutes`` (of ``what``), ``--runs``, ``--model``,
    ``--quick`` (2 minutes, one run), ``--json``, and the hidden ``--child MODE`` with its options."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0] if doc else None)
    parser.add_argument("--minutes", type=float, default=minutes, help=f"{what} (default {minutes:g})")
    parser.add_argument("--runs", type=int, default=2, help="runs of each mode (default 2)")
    parser.add_argument("--model", default="base", help=f"{model_help} (default base)")
    parser.add_argument("--quick", action="store_true", help="2 minutes, one run")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--child", choices=list(modes), help=argparse.SUPPRESS)
    add_child_options(parser)
    return parser


def run_child(command: list[str], out: Path, label: str) -> dict[str, Any]:
    """Run a measuring child process; its JSON result, with how busy the rest of the machine was."""
    with ForeignLoad() as load:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not out.is_file():
        raise BenchError(f"{label} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["other_processes_cores"] = load.cores
    result["disturbed"] = " DISTURBED" if load.disturbed else ""
    return result


def alternating_runs(
    script: str, modes: Sequence[str], runs: int, *, audio: Path, work: Path, model: str, label: str
) -> list[dict[str, Any]]:
    """``runs`` rounds of every one of ``modes``, each run a child process of ``script`` (``--child
    MODE``, the options of :func:`add_child_options`, ``--model``), the modes' order reversed every
    other round; each run's time and peak memory printed as it ends. The children's results in order."""
    results = []
    for index in range(runs):
        for mode in modes if index % 2 == 0 else list(modes)[::-1]:
            out = work / f"{label}-{mode}-{index}.json"
            command = [sys.executable, script, "--child", mode, "--audio", str(audio), "--out", str(out)]
            command += ["--model", model, "--models-dir", str(work / "models")]
            print(f"  {mode:>8}, run {index + 1} ...", end=" ", flush=True)
            result = run_child(command, out, f"{label} {mode}")
            peak = result["peak_rss_kib"] / 1024
            print(f"{result['wall_seconds']:.1f} s, peak {peak:,.0f} MiB{result['disturbed']}", flush=True)
            results.append(result)
    return results


# -- statistics -----------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100), linear interpolation; NaN for no values."""
    return float(np.percentile(values, q)) if values else float("nan")


# -- open-loop paced load -------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """What a paced run saw. ``latencies_ms`` run from each request's *scheduled* send time (no
    coordinated omission); ``service_ms`` from when the client actually sent it; ``lag_ms`` is the
    difference, i.e. how late this client itself was (its own starvation on a busy machine)."""

    sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    service_ms: list[float] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)
    errors: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def to_json(self) -> dict[str, Any]:
        rounded = {
            k: [round(v, 2) for v in getattr(self, k)] for k in ("latencies_ms", "service_ms", "lag_ms")
        }
        return {"sent": self.sent, "errors": self.errors, "answers": dict(self.answers)} | rounded


async def _one(
    client: httpx.AsyncClient, path: str, scheduled: float, result: LoadResult, field_name: str
) -> None:
    loop = asyncio.get_running_loop()
    sent = loop.time()
    try:
        answer = await client.get(path)
        ok = answer.status_code == 200
        label = str(answer.json().get(field_name)) if ok else f"HTTP {answer.status_code}"
    except (httpx.HTTPError, ValueError) as exc:
        ok, label = False, type(exc).__name__
    done = loop.time()
    result.latencies_ms.append((done - scheduled) * 1000)
    result.service_ms.append((done - sent) * 1000)
    result.lag_ms.append((sent - scheduled) * 1000)
    result.errors += 0 if ok else 1
    result.answers[label] += 1


async def _paced(url: str, path: str, rate: float, count: int, timeout: float, field_name: str) -> LoadResult:
    result = LoadResult()
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
        for _ in range(20):  # warm-up: open connections, fill caches; not counted
            await client.get(path)
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        pending: list[asyncio.Task[None]] = []
        for i in range(count):
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            pending.append(asyncio.create_task(_one(client, path, scheduled, result, field_name)))
            result.sent += 1
        _done, late = await asyncio.wait(pending, timeout=timeout + 5)
        for task in late:  # bounded: anything still out after the timeout is an error
            task.cancel()
            result.errors += 1
        result.seconds = loop.time() - start
    return result


def paced_load(
    url: str, path: str, *, rate: float, count: int, timeout: float = 10, field_name: str = "status"
) -> LoadResult:
    """Send ``count`` GETs at a fixed ``rate`` whatever the answers' speed (no coordinated omission)."""
    return asyncio.run(_paced(url, path, rate, count, timeout, field_name))
