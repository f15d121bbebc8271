"""Speed and word error rate of each faster-whisper decoding mode on speech with a known text.

Sets (see ``kit/speech.py``): ``jfk.flac`` and the English part of ``multilingual.mp3`` (real speech),
an English and a Russian text read by espeak-ng (language forced to ``ru`` for the latter; the English
sets are left to language detection, as the service does by default).

Modes: ``WhisperModel.transcribe`` with beam 8 (the seed's default), 5 and 1 (greedy), and the batched
pipeline as the engine uses it (``TailKeepingPipeline``: faster-whisper's ``BatchedInferencePipeline``
keeping each chunk's unfinished last segment, over a ``SlicedEncoderModel``: the CPU encoder takes one
chunk at a time) with batch sizes 4, 8, 16, beam 5 and 1, each with
``without_timestamps`` True (its default: one phrase per ~30 s VAD chunk) and False (phrase timestamps
inside chunks, as our exports need). All with the service's other defaults: VAD with
``min_silence_duration_ms=300``, conditioning on previous text, patience and length penalty 1;
cpu, int8; ``cpu_threads`` 0 (CTranslate2's default) and 2.

Every configuration runs on every set ``--runs`` times, the runs in alternating order (forward, then
backward, ...) so drift on this shared machine spreads evenly. Each run records how many cores other
processes used meanwhile (``kit/load.py``); up to ``--reruns`` configurations with no quiet run (or
runs differing by more than 25 %) get one more run. Speeds are from the median total time of the quiet
runs (of all runs if none was quiet); word error rates from the first run. A benchmark, not a test: it
exits 0 whatever the figures; they are also written to ``bench/results/decoding-<time>-<commit>.json``.

    .venv/bin/python bench/decoding.py [--models base tiny.en] [--threads 0 2] [--runs 2] [--json OUT]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.engine import Models
from kit.errors import BenchError
from kit.load import DISTURBED_CORES
from kit.machine import load_average
from kit.modes import Config, all_modes, measure
from kit.report import save
from kit.speech import SpeechSet, build_sets
from kit.wer import WordErrors
from transcriber.errors import ServiceError

BASELINE = "seq beam5"
WER_MARGIN = 0.01  # the rule: batched only if no worse than beam-5 sequential by more than 1 point


# -- reporting ------------------------------------------------------------------------------------------


@dataclass
class Row:
    config: Config
    audio_seconds: float
    per_set: dict[str, WordErrors]
    baseline_seconds: float

    @property
    def speed(self) -> float:
        return self.audio_seconds / self.config.median_seconds

    @property
    def vs_baseline(self) -> float:
        return self.baseline_seconds / self.config.median_seconds

    @property
    def overall(self) -> WordErrors:
        return sum(self.per_set.values(), WordErrors(0, 0))

    @property
    def english(self) -> WordErrors:
        return sum((e for n, e in self.per_set.items() if n != "espeak-ru"), WordErrors(0, 0))

    @property
    def phrases(self) -> list[tuple[float, float]]:
        return [p for r in self.config.runs[0].values() for p in r.phrases]

    @property
    def mean_phrase(self) -> float:
        p = self.phrases
        return sum(b - a for a, b in p) / len(p) if p else 0.0


def build_rows(configs: list[Config], sets: list[SpeechSet]) -> list[Row]:
    rows = []
    for c in configs:
        base = next(
            (b for b in configs if (b.model, b.threads, b.mode.name) == (c.model, c.threads, BASELINE)), c
        )
        audio = sum(s.seconds for s in sets if s.name in c.runs[0])
        rows.append(Row(c, audio, c.errors(sets), base.median_seconds))
    return rows


def pct(e: WordErrors | None) -> str:
    return "-" if e is None else f"{100 * e.rate:.1f}"


def recommend(rows: list[Row], model: str, *, need_timestamps: bool) -> str:
    """Apply the issue's rule for one model: batched only if faster AND overall WER <= beam 5 + 1 point."""
    mine = [r for r in rows if r.config.model == model]
    bases = [r for r in mine if r.config.mode.name == BASELINE]
    if not bases:
        return f"{model}: no '{BASELINE}' baseline measured"
    base = max(bases, key=lambda r: r.speed)  # the faster thread setting of beam-5 sequential
    limit = base.overall.rate + WER_MARGIN
    eligible = [
        r
        for r in mine
        if r.config.mode.batched
        and r.speed > base.speed
        and r.overall.rate <= limit + 1e-12
        and not (need_timestamps and r.config.mode.without_timestamps)
    ]
    head = (
        f"{model}{' (phrase timestamps)' if need_timestamps else ''}: baseline {BASELINE} "
        f"t{base.config.threads} {base.speed:.2f}x, WER {pct(base.overall)} %"
    )
    if not eligible:
        seq = [r for r in mine if not r.config.mode.batched and r.overall.rate <= limit + 1e-12]
        best = max(seq, key=lambda r: r.speed)
        return f"{head} -> no batched mode qualifies; fastest sequential within 1 point: {label(best)}"
    best = max(eligible, key=lambda r: r.speed)
    return f"{head} -> {label(best)}"


def label(r: Row) -> str:
    c = r.config
    return f"{c.mode.name}, cpu_threads {c.threads}: {r.speed:.2f}x, WER {pct(r.overall)} %"


def print_report(rows: list[Row], sets: list[SpeechSet], meta: dict[str, Any]) -> None:
    print("\n=== decoding modes: speed and word error rate (cpu, int8, service defaults otherwise) ===")
    for s in sets:
        lang = s.language or "auto"
        print(
            f"set {s.name:<10}: {s.seconds:6.1f} s, {len(s.reference.split()):>4} words, "
            f"{s.origin}, language {lang}, at most {math.ceil(s.seconds / 30)} VAD chunks of 30 s"
        )
    print("(a batch larger than a file's chunk count changes nothing for that file)")
    print(
        f"load average: {meta['load_before']} before, {meta['load_after']} after; "
        f"runs per config {meta['runs']}"
    )
    names = [s.name for s in sets]
    head = f"{'model':<8}{'thr':>4}  {'mode':<22}{'xRT':>7}{'vs b5':>7}"
    head += (
        "".join(f"{n[:9]:>10}" for n in names)
        + f"{'overall':>9}{'english':>9}{'phrases':>9}{'mean s':>8}{'spread':>8}{'others':>8}"
    )
    print(
        "\nWER in %; xRT = audio seconds / median wall seconds; 'vs b5' = speed over seq beam5, same threads"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        c = r.config
        line = f"{c.model:<8}{c.threads:>4}  {c.mode.name:<22}{r.speed:>6.2f}x{r.vs_baseline:>6.2f}x"
        line += "".join(f"{pct(r.per_set.get(n)):>10}" for n in names)
        line += f"{pct(r.overall):>9}{pct(r.english):>9}{len(r.phrases):>9}{r.mean_phrase:>8.1f}"
        line += f"{c.spread:>7.2f}{' ' if c.stable_text else '*'}{c.other_cores:>7.2f}"
        print(line)
    print("spread = slowest / fastest run of the config; * = text differed between runs (WER from run 1)")
    print(
        f"others = cores used by other processes during its runs (median; > {DISTURBED_CORES} is disturbed)"
    )
    for model in dict.fromkeys(r.config.model for r in rows):
        print(f"\nrecommendation (issue's rule): {recommend(rows, model, need_timestamps=False)}")
        print(f"recommendation (our exports) : {recommend(rows, model, need_timestamps=True)}")


def report_json(rows: list[Row], sets: list[SpeechSet], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "meta": meta,
        "sets": [
            {
                "name": s.name,
                "seconds": s.seconds,
                "origin": s.origin,
                "language": s.language,
                "reference": s.reference,
            }
            for s in sets
        ],
        "configurations": [
            {
                "model": r.config.model,
                "cpu_threads": r.config.threads,
                "mode": r.config.mode.name,
                "batched": r.config.mode.batched,
                "beam": r.config.mode.beam,
                "batch_size": r.config.mode.batch_size,
                "without_timestamps": r.config.mode.without_timestamps,
                "run_seconds": [r.config.total(run) for run in r.config.runs],
                "other_processes_cores": r.config.foreign,
                "median_seconds": r.config.median_seconds,
                "speed_x_realtime": r.speed,
                "speed_vs_seq_beam5": r.vs_baseline,
                "wer": {n: e.rate for n, e in r.per_set.items()}
                | {"overall": r.overall.rate, "english": r.english.rate},
                "phrases": len(r.phrases),
                "mean_phrase_seconds": r.mean_phrase,
                "stable_text": r.config.stable_text,
                "texts": {n: res.text for n, res in r.config.runs[0].items()},
                "languages": {n: res.language for n, res in r.config.runs[0].items()},
            }
            for r in rows
        ],
        "recommendations": [
            {"name": f"{model} ({label})", "verdict": recommend(rows, model, need_timestamps=ts)}
            for model in dict.fromkeys(r.config.model for r in rows)
            for label, ts in (("issue's rule", False), ("with phrase timestamps", True))
        ],
    }


# -- main -----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--models", nargs="+", default=["base"], help="models to measure (default base)")
    parser.add_argument("--threads", nargs="+", type=int, default=[0, 2], help="cpu_threads values (0 2)")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[4, 8, 16], help="(default 4 8 16)")
    parser.add_argument("--modes", nargs="*", help="only modes whose name contains one of these strings")
    parser.add_argument("--runs", type=int, default=2, help="timed runs of each configuration (default 2)")
    parser.add_argument(
        "--reruns", type=int, default=4, help="extra runs for the noisiest configurations (default 4)"
    )
    parser.add_argument("--no-russian", action="store_true", help="leave out the Russian espeak-ng set")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--quick", action="store_true", help="batch size 8 only, cpu_threads 0 only, one run (~5 min)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    if args.quick:
        args.batch_sizes, args.threads, args.runs, args.reruns = [8], [0], 1, 0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    modes = [m for m in all_modes(args.batch_sizes) if not args.modes or any(s in m.name for s in args.modes)]
    if not any(m.name == BASELINE for m in modes):
        modes.insert(0, next(m for m in all_modes([]) if m.name == BASELINE))
    configs = [Config(model, t, m) for model in args.models for m in modes for t in args.threads]
    meta: dict[str, Any] = {
        "runs": args.runs,
        "load_before": f"{load_average()[0]:.1f}",
        "cpus": os.cpu_count(),
    }
    try:
        with tempfile.TemporaryDirectory(prefix="decoding-bench-") as tmp:
            work = Path(tmp)
            sets = build_sets(work, russian=not args.no_russian)
            models = Models(work / "models")
            audio = sum(s.seconds for s in sets)
            print(f"{len(configs)} configurations x {args.runs} runs on {audio:.1f} s of speech", flush=True)
            started = time.perf_counter()
            measure(models, configs, sets, args.runs, args.reruns)
            meta |= {
                "load_after": f"{load_average()[0]:.1f}",
                "wall_minutes": (time.perf_counter() - started) / 60,
            }
            rows = build_rows(configs, sets)
    except (BenchError, ServiceError) as exc:  # SpeechError is a BenchError
        print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print_report(rows, sets, meta)
    save("decoding", report_json(rows, sets, meta), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
