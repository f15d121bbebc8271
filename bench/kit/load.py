"""How busy the rest of the machine was while a benchmark measured something.

``ForeignLoad`` reads the machine's busy CPU time (``/proc/stat``) and this process's own CPU time and
that of its waited-for children (``os.times``) at the start and the end of a measurement; the difference,
divided by the wall time, is the number of cores that *other* processes used meanwhile. On this shared
2-core machine a figure above ``DISTURBED_CORES`` means the measurement should be repeated.
"""

from __future__ import annotations

import os
import time

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
