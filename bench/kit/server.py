"""Tools of the service benchmark (``bench/service.py``): the server under test, an open-loop paced
HTTP client, a sampler of a process's resident memory, and the figures-and-ratios table every row
prints (with how many cores other processes used meanwhile, from ``machine_load.py``).

The server is started the way ``e2e_overhead.py`` starts it (and through its ``Service`` class):
``python -m transcriber serve --port P --data-dir D`` with the model from a warm cache, offline.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import numpy as np
from e2e_overhead import BenchError, Service

from kit.load import DISTURBED_CORES

POLL_SECONDS = 0.05


# -- the server under test ------------------------------------------------------------------------------


class Server(Service):
    """``transcriber serve`` with extra ``TRANSCRIBE_*`` settings, and the API calls the rows need."""

    def __init__(self, work: Path, model: str, models_dir: Path, env: Mapping[str, str]) -> None:
        work.mkdir(parents=True, exist_ok=True)
        super().__init__(work, model, models_dir)
        self.env.update(env)

    def __enter__(self) -> Server:
        super().__enter__()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def wait_api(self, timeout: float = 120) -> float:
        """Wait until ``/health`` answers 200 (the API is up, with or without a worker)."""
        self.wait_for("/health", timeout, "API did not come up", poll=POLL_SECONDS)
        return time.perf_counter()

    def upload(self, path: Path) -> dict[str, Any]:
        with open(path, "rb") as fh:
            return self._ok(self.client.post("/api/v1/upload", files={"file": (path.name, fh)}))

    def create_task(self, stored_path: str) -> str:
        answer = self._ok(self.client.post("/api/v1/create_task", json={"file_path": stored_path}))
        return str(answer["task_id"])

    def status(self, task_id: str) -> dict[str, Any]:
        return self._ok(self.client.get(f"/api/v1/status/{task_id}"))

    def cancel(self, task_id: str) -> None:
        self.client.post(f"/api/v1/cancel/{task_id}")

    def delete_upload(self, upload_id: str) -> None:
        self._ok(self.client.delete(f"/api/v1/uploads/{upload_id}"))

    def wait_status(self, task_id: str, timeout: float, *, min_progress: float = 0.0) -> dict[str, Any]:
        """Poll until the task is finished, or running with at least ``min_progress`` (if > 0)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status(task_id)
            if status["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
                return status
            if min_progress > 0 and status["status"] == "IN_PROGRESS" and status["progress"] >= min_progress:
                return status
            time.sleep(POLL_SECONDS)
        raise BenchError(f"task {task_id} did not get there in {timeout:.0f} s; log:\n{self.log_tail()}")

    def wait_worker_idle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            worker = self.client.get("/health").json().get("worker") or {}
            if worker.get("state") == "idle" and not worker.get("current_task_id"):
                return
            time.sleep(POLL_SECONDS * 4)
        raise BenchError(f"the worker did not become idle in {timeout:.0f} s")


# -- statistics -----------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100), linear interpolation; NaN for no values."""
    return float(np.percentile(values, q)) if values else float("nan")


def mib(n_bytes: float) -> float:
    return n_bytes / 1024**2


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


# -- memory of the server process -----------------------------------------------------------------------


def proc_status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no {key}")


class RssSampler:
    """Samples ``VmRSS`` of one process every ``interval`` seconds; the peak and the growth over the
    value at the start. ``VmHWM`` (the kernel's own peak) is read too, as a check between samples."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.samples = 0
        self.before = self.peak = self.after = 0
        self.hwm_before = self.hwm_after = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self.before = self.peak = proc_status_kib(self.pid, "VmRSS") * 1024
        self.hwm_before = proc_status_kib(self.pid, "VmHWM") * 1024
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.peak = max(self.peak, proc_status_kib(self.pid, "VmRSS") * 1024)
                self.samples += 1
            except (OSError, BenchError):
                return

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.after = proc_status_kib(self.pid, "VmRSS") * 1024
        self.hwm_after = proc_status_kib(self.pid, "VmHWM") * 1024
        if self.hwm_after > self.hwm_before:  # a new all-time peak was set during the run: exact
            self.peak = max(self.peak, self.hwm_after)

    @property
    def growth(self) -> int:
        return self.peak - self.before


def renice(pid: int, niceness: int) -> int:
    """Set the niceness of every thread of ``pid`` (on Linux it is per thread); how many were set."""
    done = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.setpriority(os.PRIO_PROCESS, int(tid), niceness)
            done += 1
        except OSError:
            pass
    return done


# -- the table every row prints -------------------------------------------------------------------------


@dataclass
class Metric:
    """One line of a row: a figure measured through the service next to its same-run baseline."""

    name: str
    value: float | None
    baseline: float | None = None
    target: str = ""
    passed: bool | None = None  # None: no target for this line (information only)
    digits: int = 2

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("PASS" if self.passed else "MISS")


def at_most(name: str, value: float, baseline: float | None, limit: float, digits: int = 2) -> Metric:
    """A line whose target is ``value <= limit``."""
    return Metric(name, value, baseline, f"<= {limit:g}", value <= limit, digits)


@dataclass
class Row:
    """A benchmark row: its figures, the labels of its two columns, notes, and the machine's load."""

    key: str
    title: str
    baseline_label: str
    value_label: str
    metrics: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    other_cores: float | None = None
    seconds: float = 0.0
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # raw series, for the JSON only

    @property
    def verdict(self) -> str:
        if self.error:
            return "ERROR"
        judged = [m.passed for m in self.metrics if m.passed is not None]
        if not judged:
            return "INFO"
        return "PASS" if all(judged) else "MISS"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for out, metric in zip(data["metrics"], self.metrics, strict=True):
            out |= {"ratio": metric.ratio, "verdict": metric.verdict or None}
        return data | {"verdict": self.verdict}


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    return f"{value:.{digits}f}"


def print_row(row: Row) -> None:
    print(f"\n=== {row.title} ===")
    if row.error:
        print(f"ERROR: {row.error}")
        return
    width = max([28, *(len(m.name) + 2 for m in row.metrics)])
    print(
        f"{'figure':<{width}}{row.baseline_label:>18}{row.value_label:>18}{'ratio':>8}  {'target':<18}verdict"
    )
    for m in row.metrics:
        ratio = fmt(m.ratio) if m.ratio is not None else ""
        print(
            f"{m.name:<{width}}{fmt(m.baseline, m.digits):>18}{fmt(m.value, m.digits):>18}{ratio:>8}  "
            f"{m.target:<18}{m.verdict}"
        )
    for note in row.notes:
        print(f"  note: {note}")
    if row.other_cores is not None:
        flag = "  <- DISTURBED: other work ran on this machine" if row.other_cores > DISTURBED_CORES else ""
        print(f"  other processes: {row.other_cores:.2f} of {os.cpu_count()} cores on average{flag}")
    print(f"  row verdict: {row.verdict}   ({row.seconds:.0f} s)")
