"""Facts about the machine a benchmark ran on (written next to every result), and renicing a process.

The benchmarks read ``/proc`` and run on Linux; the ``win32`` branches only keep the type checker
happy on Windows.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any


def cpu_model() -> str | None:
    """The CPU's model name from ``/proc/cpuinfo`` (None where it is absent)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def load_average() -> tuple[float, float, float]:
    """The 1-, 5- and 15-minute load averages (zeros on Windows, which has none)."""
    if sys.platform == "win32":
        return (0.0, 0.0, 0.0)
    return os.getloadavg()


def machine_facts() -> dict[str, Any]:
    """Cores, load average, CPU model, Python and platform: what makes figures of two runs comparable."""
    return {
        "cpus": os.cpu_count(),
        "loadavg": load_average(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def renice(pid: int, niceness: int) -> int:
    """Set the niceness of every thread of ``pid`` (on Linux it is per thread); how many were set."""
    if sys.platform == "win32":
        return 0
    done = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.setpriority(os.PRIO_PROCESS, int(tid), niceness)
            done += 1
        except OSError:
            pass
    return done
