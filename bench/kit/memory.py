"""Resident memory of a process, from ``/proc/<pid>/status``: one reader and one sampler.

``RssSampler`` reads ``VmRSS`` every ``interval`` seconds on a thread: the value at the start, the peak,
the value at the end, and the series of samples. ``VmHWM`` (the kernel's own peak) is read too, as a
check between samples. It measures another process (``bench/service.py``'s server) or this one (the
measuring children of ``bench/long_audio.py`` and ``bench/batch_sizes.py``).
"""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType

from .errors import BenchError


def status_kib(key: str, pid: int | None = None) -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (this process when ``pid`` is None), e.g. VmRSS, VmHWM."""
    with open(f"/proc/{pid or 'self'}/status", encoding="ascii", errors="replace") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise BenchError(f"/proc/{pid or 'self'}/status has no {key}")


class RssSampler:
    """``with RssSampler(pid) as rss: ...`` then ``rss.peak``, ``rss.growth``, ``rss.samples``.

    ``before``, ``peak`` and ``after`` are in bytes; ``samples`` are (seconds since the start, KiB)."""

    def __init__(self, pid: int | None = None, interval: float = 0.05) -> None:
        self.pid = pid or os.getpid()
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.before = self.peak = self.after = 0
        self.hwm_before = self.hwm_after = 0
        self._started = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self.before = self.peak = status_kib("VmRSS", self.pid) * 1024
        self.hwm_before = status_kib("VmHWM", self.pid) * 1024
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                kib = status_kib("VmRSS", self.pid)
            except (OSError, BenchError):
                return
            self.peak = max(self.peak, kib * 1024)
            self.samples.append((time.perf_counter() - self._started, kib))

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.after = status_kib("VmRSS", self.pid) * 1024
        self.hwm_after = status_kib("VmHWM", self.pid) * 1024
        if self.hwm_after > self.hwm_before:  # a new all-time peak was set during the run: exact
            self.peak = max(self.peak, self.hwm_after)

    @property
    def growth(self) -> int:
        return self.peak - self.before


def mib(n_bytes: float) -> float:
    return n_bytes / 1024**2
