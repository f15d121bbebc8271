"""Progress and ETA of issue #12: how right ``eta_seconds`` is while a task runs, and what the small first
batch (the first real checkpoint within seconds) costs in speed.

``eta``: for a 2.5-minute and a 30-minute recording of real speech (``kit.speech.build_recording``), a
fresh ``transcriber serve`` (own data folder: nothing measured yet, so the first task's ETA comes from the
worker's calibration) runs the file twice: "fresh install", then "with history" (the first task's speed
is now known). The status is polled every 0.25 s; at the first poll showing progress >= 10/25/50/75 %
the ETA is compared with the time the task really still took (to the poll that showed COMPLETED).
Target: the ETA within +-35 % of that at 25 %, on both files, in both states.

``cost``: in this process, the engine on 2.5 and 10 minutes of speech with the default settings, the
first batch split off (as shipped) and not (``first_batch=0``), runs alternating, median wall times.
Target: at most 3 % slower. On 2.5 minutes the split is off by design (a recording of fewer than two
full batches), so that ratio is the noise of the measurement.

A benchmark, not a test: it exits 0 whatever the figures, 2 if a part could not be measured. Figures go
to ``bench/results/progress-<time>-<commit>.json``.

    .venv/bin/python bench/progress.py [--only eta,cost] [--quick] [--runs N] [--json OUT]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from kit.engine import prepare_model
from kit.errors import BenchError
from kit.load import ForeignLoad
from kit.machine import load_average, machine_facts
from kit.report import Metric, Row, print_row, save
from kit.rows.eta import checkpoint, eta_timeline, poll_until_done
from kit.server import Server
from kit.settings import COMPUTE_TYPE, CPU_THREADS, DEVICE
from kit.speech import build_recording
from transcriber.engine import WhisperTranscriber
from transcriber.engine.pipeline import FIRST_BATCH
from transcriber.errors import ServiceError
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings

FRACTIONS = (0.10, 0.25, 0.50, 0.75)
JUDGED_FRACTION = 0.25
ETA_TOLERANCE = 0.35  # |eta / actual - 1| at 25 %
COST_LIMIT = 1.03  # split / whole wall time
ETA_MINUTES = (2.5, 30.0)
COST_MINUTES = (2.5, 10.0)
STATES = ("fresh install", "with history")


def eta_part(work: Path, model: str, models_dir: Path, minutes: float) -> Row:
    recording = build_recording(minutes)
    row = Row(
        f"eta-{minutes:g}min",
        f"ETA on {recording.seconds / 60:.1f} min of speech ({recording.path.name}), "
        "a fresh service, 2 tasks",
        "actual left, s",
        "eta_seconds",
    )
    timelines = {}
    with Server(work / f"eta-{minutes:g}", model, models_dir) as server:
        server.wait_ready()
        stored = server.upload(recording.path)["stored_path"]
        for state in STATES:
            created = time.perf_counter()
            task_id = server.create_task(stored)
            samples = poll_until_done(server, task_id, 0.25, 120 + recording.seconds * 3)
            timelines[state] = eta_timeline(samples, created)
            row.metrics += eta_metrics(state, samples)
            row.notes.append(eta_note(state, samples, created))
    row.data = {"timelines": timelines, "audio_seconds": recording.seconds}
    row.notes.append(
        "actual left: client time from the poll that first showed the fraction to the poll that showed "
        f"COMPLETED; ratio = eta_seconds / actual left; the target is on {JUDGED_FRACTION:.0%}: "
        f"{1 - ETA_TOLERANCE:.2f}..{1 + ETA_TOLERANCE:.2f}"
    )
    return row


def eta_metrics(state: str, samples: list[tuple[float, Any]]) -> list[Metric]:
    metrics = []
    for fraction in FRACTIONS:
        judged = fraction == JUDGED_FRACTION
        c = checkpoint(samples, fraction)
        if c is None:
            metrics.append(
                Metric(f"{state}: no ETA at >= {fraction:.0%}", None, None, "", False if judged else None)
            )
            continue
        target = f"{1 - ETA_TOLERANCE:.2f}..{1 + ETA_TOLERANCE:.2f}" if judged else ""
        passed = abs(c.ratio - 1) <= ETA_TOLERANCE if judged else None
        metrics.append(
            Metric(f"{state}: at >= {fraction:.0%} (seen {c.seen:.0%})", c.eta, c.actual, target, passed)
        )
    return metrics


def eta_note(state: str, samples: list[tuple[float, Any]], created: float) -> str:
    running = [(at, s) for at, s in samples if s["status"] == "IN_PROGRESS"]
    first_progress = next((at for at, s in running if s["progress"] > 0), None)
    first_eta = next((at for at, s in running if s["eta_seconds"] is not None), None)
    values = {s["progress"] for _, s in running}
    estimated = sum(1 for _, s in running if s.get("progress_estimated"))
    decreasing = sum(1 for (_, a), (_, b) in itertools.pairwise(running) if b["progress"] < a["progress"])

    def after(at: float | None) -> str:
        return "never" if at is None else f"{at - created:.1f} s"

    return (
        f"{state}: create to COMPLETED {samples[-1][0] - created:.1f} s; first progress > 0 after "
        f"{after(first_progress)}, first ETA after {after(first_eta)}; {len(values)} distinct progress "
        f"values, {estimated} of {len(running)} polls estimated, {decreasing} decreasing"
    )


def cost_part(models_dir: Path, model: str, minutes: float, runs: int) -> Row:
    recording = build_recording(minutes)
    engine = WhisperTranscriber(ModelCatalog(models_dir), cpu_threads=CPU_THREADS)
    settings = RecognitionSettings(model=model, device=DEVICE, compute_type=COMPUTE_TYPE)
    row = Row(
        f"cost-{minutes:g}min",
        f"Speed cost of the small first batch on {recording.seconds / 60:.1f} min "
        f"(batch {settings.batch_size}, "
        f"{runs} runs each, alternating)",
        "one batch size, s",
        "first batch of 1, s",
    )
    engine.load(settings)
    timed(engine, recording.path, settings, FIRST_BATCH)  # warm-up: caches, allocator, page cache
    seconds: dict[int, list[float]] = {FIRST_BATCH: [], 0: []}
    checkpoints: dict[int, tuple[int, float]] = {}
    for run in range(runs):
        for first in (FIRST_BATCH, 0) if run % 2 == 0 else (0, FIRST_BATCH):
            wall, points, first_at = timed(engine, recording.path, settings, first)
            seconds[first].append(wall)
            checkpoints[first] = (points, first_at)
    split, whole = statistics.median(seconds[FIRST_BATCH]), statistics.median(seconds[0])
    row.metrics.append(
        Metric("median wall time", split, whole, f"ratio <= {COST_LIMIT:.2f}", split / whole <= COST_LIMIT)
    )
    for first, label in ((FIRST_BATCH, "first batch of 1"), (0, "one batch size")):
        points, first_at = checkpoints[first]
        row.notes.append(
            f"{label}: runs {', '.join(f'{s:.1f}' for s in seconds[first])} s; {points} real checkpoints, "
            f"the first after {first_at:.1f} s"
        )
    row.data = {"seconds": {str(k): v for k, v in seconds.items()}, "audio_seconds": recording.seconds}
    return row


def timed(
    engine: WhisperTranscriber, audio: Path, settings: RecognitionSettings, first: int
) -> tuple[float, int, float]:
    """Wall seconds to transcribe ``audio`` with a first batch of ``first`` chunks (0: a full one), the
    number of distinct real checkpoints the phrases came with, and the seconds to the first of them."""
    engine.first_batch = first
    started = time.perf_counter()
    run = engine.transcribe(audio, settings)
    points: list[float] = []
    first_at = float("nan")
    for _ in run.phrases:
        if not points or run.progress.decoded != points[-1]:
            if not points:
                first_at = time.perf_counter() - started
            points.append(run.progress.decoded)
    return time.perf_counter() - started, len(points), first_at


def measured(key: str, build: Any) -> Row:
    print(f"\n--- {key}: measuring ...", flush=True)
    started = time.perf_counter()
    with ForeignLoad() as load:
        try:
            row: Row = build()
        except (BenchError, ServiceError, httpx.HTTPError, OSError) as exc:
            detail = exc.detail if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
            row = Row(key, key, "", "", error=detail)
    row.seconds = time.perf_counter() - started
    row.other_cores = load.cores
    print_row(row)
    return row


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add = parser.add_argument
    add("--only", default="eta,cost", help="parts to run, comma-separated (default eta,cost)")
    add("--quick", action="store_true", help="the 2.5-minute file only, 2 runs each (figures are noisier)")
    add("--model", default="base", help="model name or directory (default base)")
    add("--models-dir", type=Path, help="a model cache to reuse (default: a fresh one, prepared once)")
    add("--runs", type=int, help="cost: runs of each side (default 4; quick 2)")
    add("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - {"eta", "cost"}
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}; choose from eta, cost")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parts = args.only.split(",")
    runs = args.runs or (2 if args.quick else 4)
    eta_minutes = ETA_MINUTES[:1] if args.quick else ETA_MINUTES
    cost_minutes = COST_MINUTES[:1] if args.quick else COST_MINUTES
    started = time.perf_counter()
    print(f"progress benchmark: {args.only}; model {args.model}; load average {load_average()}", flush=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-progress-") as tmp:
        work = Path(tmp)
        models_dir = (args.models_dir or work / "models").resolve()
        try:
            prepare_model(args.model, models_dir)
        except ServiceError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 2
        if "eta" in parts:
            for minutes in eta_minutes:
                rows.append(
                    measured(
                        f"eta-{minutes:g}min", lambda m=minutes: eta_part(work, args.model, models_dir, m)
                    )
                )
        if "cost" in parts:
            for minutes in cost_minutes:
                rows.append(
                    measured(
                        f"cost-{minutes:g}min", lambda m=minutes: cost_part(models_dir, args.model, m, runs)
                    )
                )
    print("\n=== progress benchmark summary ===")
    for row in rows:
        judged = [f"{m.name} {m.verdict}" for m in row.metrics if m.verdict]
        print(f"{row.key:<12} {row.verdict:<6} {'; '.join(judged) or row.error or 'information only'}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    report = {
        "suite": "progress",
        "model": args.model,
        "runs": runs,
        "machine": machine_facts(),
        "rows": [row.to_json() for row in rows],
        "verdict": "ERROR" if any(r.error for r in rows) else "see rows",
    }
    save("progress", report, args.json)
    return 2 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
