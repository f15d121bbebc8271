"""Service benchmarks of issue #6: status latency under load, large uploads, many tasks, ETA accuracy and
cold start, each printed as a table of figures and ratios against a baseline measured in the same run.

Every row starts its own ``python -m transcriber serve`` (own data folder, the model from one warm
cache, offline) on 127.0.0.1 and stops it with SIGTERM; the rows are in ``kit/rows/``. The figures are
also written to ``bench/results/service-<time>-<commit>.json``. A benchmark, not a test: it exits 0
whatever the figures, 2 if a row could not be measured.

    .venv/bin/python bench/service.py [--only latency,upload,tasks,eta,cold] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import asdict, fields
from pathlib import Path

import httpx

from kit.engine import prepare_model
from kit.errors import BenchError
from kit.load import ForeignLoad
from kit.machine import load_average, machine_facts
from kit.report import Row, print_row, save
from kit.rows import ROWS, Context, Options
from transcriber.errors import ServiceError

QUICK = Options(seconds=10, latency_minutes=8, upload_mib=256, tasks=2000, requests=100, eta_runs=1)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add = parser.add_argument
    add("--only", default=",".join(ROWS), help=f"rows to run, comma-separated (default {','.join(ROWS)})")
    add("--quick", action="store_true", help="smaller sizes for a fast check (figures are noisier)")
    add("--model", default="base", help="model name or directory (default base)")
    add("--models-dir", type=Path, help="a model cache to reuse (default: a fresh one, prepared once)")
    add("--rate", type=float, help="latency: requests per second (default 50)")
    add("--seconds", type=float, help="latency: seconds of load per side (default 20; quick 10)")
    add("--latency-minutes", type=float, help="latency: length of the recording (default 15; quick 8)")
    add("--upload-mib", type=int, help="upload: size of the WAV in MiB (default 1024; quick 256)")
    add("--tasks", type=int, help="tasks: tasks seeded into the database (default 10000; quick 2000)")
    add("--requests", type=int, help="tasks: requests of each kind per side (default 200; quick 100)")
    add("--eta-minutes", type=float, help="eta: length of the recording (default 12)")
    add("--eta-runs", type=int, help="eta: tasks run one after another (default 3; quick 1)")
    add("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(ROWS)
    if unknown:
        parser.error(f"unknown rows: {', '.join(sorted(unknown))}; choose from {', '.join(ROWS)}")
    return args


def options_from(args: argparse.Namespace) -> Options:
    """The command line's sizes, falling back to the quick or the full defaults."""
    defaults = QUICK if args.quick else Options()
    chosen = {f.name: getattr(args, f.name) for f in fields(Options) if getattr(args, f.name) is not None}
    return Options(**(asdict(defaults) | chosen))


def run_row(key: str, ctx: Context) -> Row:
    """One row, timed, with the CPU other processes used meanwhile; a failure becomes an ERROR row."""
    print(f"\n--- {key}: measuring ...", flush=True)
    started = time.perf_counter()
    with ForeignLoad() as load:  # every server of the row is stopped (and its CPU time counted) inside
        try:
            row = ROWS[key](ctx)
        except (BenchError, ServiceError, httpx.HTTPError, OSError) as exc:
            detail = exc.detail if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
            row = Row(key, key, "", "", error=detail)
    row.seconds = time.perf_counter() - started
    row.other_cores = load.cores
    print_row(row)
    return row


def print_summary(rows: list[Row]) -> None:
    print("\n=== service benchmark summary ===")
    for row in rows:
        judged = [f"{m.name} {m.verdict}" for m in row.metrics if m.verdict]
        print(f"{row.key:<8} {row.verdict:<6} {'; '.join(judged) or row.error or 'information only'}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = options_from(args)
    started = time.perf_counter()
    print(f"service benchmark: rows {args.only}; {options}; load average {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        work = Path(tmp)
        models_dir = (args.models_dir or work / "models").resolve()
        try:
            prepare_model(args.model, models_dir)
        except ServiceError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 2
        ctx = Context(work=work, models_dir=models_dir, model=args.model, options=options)
        rows = [run_row(key, ctx) for key in args.only.split(",")]
    print_summary(rows)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    report = {
        "suite": "service",
        "model": args.model,
        "options": asdict(options),
        "machine": machine_facts(),
        "rows": [row.to_json() for row in rows],
        "verdict": "ERROR" if any(r.error for r in rows) else "see rows",
    }
    save("service", report, args.json)
    return 2 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
