"""Reporting: a figure next to its same-run baseline (``Metric``, with the ratio and a PASS/MISS verdict),
the table every row of ``bench/service.py`` prints (``Row``), and the results every script writes to
``bench/results/<name>-<UTC time>-<commit>.json`` with the commit, the date, the command line and the
machine's facts (``bench/results/README.md``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .load import DISTURBED_CORES
from .machine import machine_facts
from .paths import REPO, RESULTS_DIR

# -- the table every row of bench/service.py prints ----------------------------------------------------


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


# -- results of a run -----------------------------------------------------------------------------------


def commit() -> str | None:
    """The checked-out commit (short), with ``+dirty`` when the work tree has changes; None outside git."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def write_results(name: str, figures: dict[str, Any], *, folder: Path = RESULTS_DIR) -> Path:
    """Write ``figures`` with the commit, the time, the command line and the machine's facts to
    ``folder/<name>-<UTC time>-<commit>.json``; returns the path."""
    now, revision = datetime.now(UTC), commit()
    record = {
        "benchmark": name,
        "commit": revision,
        "date": now.isoformat(timespec="seconds"),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "machine": machine_facts(),
        "figures": figures,
    }
    folder.mkdir(parents=True, exist_ok=True)
    tag = (revision or "no-git").replace("+", "-")
    path = folder / f"{name}-{now:%Y-%m-%dT%H%M%SZ}-{tag}.json"
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return path


def save(name: str, figures: dict[str, Any], json_out: Path | None) -> None:
    """What every script does with its figures at the end: ``bench/results/`` always, ``--json`` if given."""
    print(f"\nresults written to {write_results(name, figures)}")
    if json_out:
        json_out.write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"figures written to {json_out}")
