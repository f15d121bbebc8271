"""Run every benchmark under ``bench/`` one after another and print one summary table.

Runs ``e2e_overhead.py`` and ``service.py``, and ``decoding.py``, ``batch_sizes.py``, ``long_audio.py`` and
``progress.py`` when they exist.
Each script prints its own tables as it goes; each is asked for ``--json`` (when it supports it) so that
the summary can quote its verdicts. ``--quick`` is passed to a script that supports it; ``e2e_overhead.py``
gets ``--runs 1 --minutes 1`` instead. Every script writes its own results to ``bench/results/``; the
reports of all of them go to ``bench/results/run_all-<time>-<commit>.json`` too. A benchmark, not a test:
the exit code is 0 unless a script failed to run (then 2).

    .venv/bin/python bench/run_all.py [--quick] [--only service,e2e_overhead] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.load import DISTURBED_CORES
from kit.report import save

BENCH = Path(__file__).resolve().parent
SCRIPTS = (
    "e2e_overhead",
    "service",
    "decoding",
    "batch_sizes",
    "long_audio",
    "progress",
    "words",
    "loop_guard",
    "phrase_boundaries",
    "calls",
    "voices",
    "pickup_latency",
)
QUICK_INSTEAD = {"e2e_overhead": ["--runs", "1", "--minutes", "1"]}  # scripts without --quick
TIMEOUT_SECONDS = 3600  # per script: nothing here should take an hour


@dataclass
class Outcome:
    name: str
    code: int | None  # None: the script is absent
    seconds: float = 0.0
    report: dict[str, Any] | None = None


def supported_flags(script: Path) -> set[str]:
    """Which of ``--quick`` and ``--json`` the script's ``--help`` mentions."""
    done = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    return {flag for flag in ("--quick", "--json") if flag in done.stdout}


def command_for(name: str, script: Path, quick: bool, json_out: Path) -> list[str]:
    flags = supported_flags(script)
    command = [sys.executable, str(script)]
    if quick:
        command += ["--quick"] if "--quick" in flags else QUICK_INSTEAD.get(name, [])
    if "--json" in flags:
        command += ["--json", str(json_out)]
    return command


def run_script(name: str, quick: bool, work: Path) -> Outcome:
    script = BENCH / f"{name}.py"
    if not script.is_file():
        return Outcome(name, None)
    json_out = work / f"{name}.json"
    command = command_for(name, script, quick, json_out)
    print(f"\n##### {name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    try:
        code = subprocess.run(command, timeout=TIMEOUT_SECONDS, check=False).returncode
    except subprocess.TimeoutExpired:
        print(f"{name}: stopped after {TIMEOUT_SECONDS} s", file=sys.stderr)
        code = -1
    seconds = time.perf_counter() - started
    report = json.loads(json_out.read_text(encoding="utf-8")) if json_out.is_file() else None
    return Outcome(name, code, seconds, report)


# -- the summary ----------------------------------------------------------------------------------------


def verdicts_in(data: Any, path: str = "") -> list[tuple[str, str]]:
    """Every (where, verdict) in a report of unknown shape: any object with a ``verdict`` field."""
    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        if isinstance(data.get("verdict"), str):
            label = data.get("name") or data.get("key") or data.get("metric") or path or "overall"
            found.append((str(label), data["verdict"]))
        for key, value in data.items():
            found += verdicts_in(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += verdicts_in(value, f"{path}[{index}]")
    return found


def summary_lines(outcome: Outcome) -> list[str]:
    """What the summary says about one script's report."""
    report = outcome.report
    if report is None:
        return ["no JSON report; see its output above"]
    if isinstance(report.get("rows"), list):  # service.py: a line per judged figure
        lines = []
        for row in report["rows"]:
            judged = [metric_text(m) for m in row.get("metrics", []) if m.get("verdict")]
            head = f"{row['key']:<8} {row['verdict']:<5} "
            if (row.get("other_cores") or 0) > DISTURBED_CORES:
                judged.append(f"DISTURBED: other processes used {row['other_cores']:.2f} cores meanwhile")
            for text in judged or [row.get("error") or "information only"]:
                lines.append(f"{head}{text}")
                head = " " * len(head)
        return lines
    if "ratio_service_to_raw" in report:  # e2e_overhead.py
        ratio, target = report["ratio_service_to_raw"], report["target_ratio"]
        return [f"ratio service/raw {ratio:.3f} (target <= {target:.2f}) {report['verdict']}"]
    found = verdicts_in(report)
    return [f"{where}: {verdict}" for where, verdict in found[:12]] or ["no verdicts in its JSON report"]


def metric_text(metric: dict[str, Any]) -> str:
    ratio = f" = {metric['ratio']:.2f} x baseline" if metric.get("ratio") is not None else ""
    return (
        f"{metric['name']} {fmt(metric.get('value'))}{ratio} (target {metric['target']}) {metric['verdict']}"
    )


def fmt(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def print_summary(outcomes: list[Outcome]) -> None:
    print("\n\n=== benchmark summary (bench/run_all.py) ===")
    print(f"{'script':<14}{'exit':>5}{'time':>8}   figures against their same-run baselines")
    for outcome in outcomes:
        if outcome.code is None:
            print(f"{outcome.name:<14}{'-':>5}{'-':>8}   absent (bench/{outcome.name}.py does not exist)")
            continue
        lines = summary_lines(outcome)
        print(f"{outcome.name:<14}{outcome.code:>5}{outcome.seconds:>7.0f}s   {lines[0]}")
        for line in lines[1:]:
            print(f"{'':<30}{line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sizes in every script that has them")
    parser.add_argument(
        "--only", default=",".join(SCRIPTS), help=f"scripts to run (default {','.join(SCRIPTS)})"
    )
    parser.add_argument("--json", type=Path, help="write every script's report into this one JSON file")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    if unknown := set(names) - set(SCRIPTS):
        parser.error(f"unknown scripts: {', '.join(sorted(unknown))}; choose from {', '.join(SCRIPTS)}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        outcomes = [run_script(name, args.quick, Path(tmp)) for name in names]
    print_summary(outcomes)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    combined = {o.name: {"exit": o.code, "seconds": o.seconds, "report": o.report} for o in outcomes}
    save("run_all", combined, args.json)
    failed = [o for o in outcomes if o.code not in (None, 0)]
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
