"""What the loop guard changes: word error rate, time and loops with it and without, on speech with a
known text.

The engine (``WhisperTranscriber``, as the worker runs it, default settings) transcribes each set of the
decoding benchmark (``kit/speech.py``: ``jfk.flac``, the English half of ``multilingual.mp3``, an
English and a Russian text read by espeak-ng) and the whole of ``multilingual.mp3`` (English, then the
same licence in German: no reference, only its loops are counted), with the guard (a batched chunk whose
text repeats itself is decoded again, ``engine/loops.py``) and without it (``guard_loops=False``). Each
model: ``base`` beam 5 (the default) and ``tiny.en`` beam 1 (the English-only model loops on German).
Runs alternate (without, with, with, without, ...) so the machine's noise falls on both sides; times are
medians, word error rates and counts from the first run. Phrases dropped as invented text are dropped on
both sides (that guard is not switched) and counted. A benchmark, not a test: it exits 0 whatever the
figures; they are also written to ``bench/results/loop_guard-<time>-<commit>.json``.

    .venv/bin/python bench/loop_guard.py [--runs 2] [--models base tiny.en] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kit.errors import BenchError
from kit.paths import REPO
from kit.report import save
from kit.speech import SpeechSet, build_sets
from kit.wer import word_errors
from transcriber.engine import WhisperTranscriber
from transcriber.engine.loops import repetition
from transcriber.errors import ServiceError
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings

BEAMS = {"base": 5, "tiny.en": 1}
WER_SLACK = 0.005  # the guard may cost at most half a point of WER on any set


def transcribe(engine: WhisperTranscriber, item: SpeechSet, model: str, *, guard: bool) -> dict[str, Any]:
    settings = RecognitionSettings(model=model, beam_size=BEAMS.get(model, 5), language=item.language or "")
    started = time.perf_counter()
    run = engine.transcribe(item.path, settings, guard_loops=guard)
    phrases = list(run.phrases)
    return {
        "seconds": time.perf_counter() - started,
        "duration": run.duration,
        "text": " ".join(p.text for p in phrases),
        "looping": sum(repetition(p.text).looping for p in phrases),
        "redecoded": run.redecoded,
        "dropped": run.dropped,
    }


def measure(engine: WhisperTranscriber, item: SpeechSet, model: str, runs: int) -> dict[str, Any]:
    done: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for index in range(runs):
        for guard in (False, True) if index % 2 == 0 else (True, False):
            done[guard].append(transcribe(engine, item, model, guard=guard))
    row: dict[str, Any] = {"set": item.name, "model": model, "seconds_of_audio": done[False][0]["duration"]}
    for guard, side in ((False, "without"), (True, "with")):
        first = done[guard][0]
        row[side] = {
            "median_seconds": statistics.median(r["seconds"] for r in done[guard]),
            "wer": word_errors(item.reference, first["text"]).rate if item.reference else None,
            "looping_phrases": first["looping"],
            "redecoded": first["redecoded"],
            "dropped": first["dropped"],
        }
    without, with_ = row["without"], row["with"]
    row["time_ratio"] = with_["median_seconds"] / without["median_seconds"]
    worse = with_["wer"] is not None and with_["wer"] > without["wer"] + WER_SLACK
    row["verdict"] = "MISS" if worse or with_["looping_phrases"] else "PASS"
    return row


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def print_rows(rows: list[dict[str, Any]]) -> None:
    print("\n=== loop guard: with / without, cpu int8 (WER from the first run, time = median) ===")
    print(
        f"{'model':<8}{'set':<14}{'audio s':>8}{'WER w/o':>9}{'WER with':>9}{'loops w/o':>10}"
        f"{'loops with':>11}{'redecoded':>10}{'dropped':>8}{'time with/w/o':>15}  verdict"
    )
    for r in rows:
        w, g = r["without"], r["with"]
        print(
            f"{r['model']:<8}{r['set']:<14}{r['seconds_of_audio']:>8.1f}{percent(w['wer']):>9}{percent(g['wer']):>9}"
            f"{w['looping_phrases']:>10}{g['looping_phrases']:>11}{g['redecoded']:>10}{g['dropped']:>8}"
            f"{r['time_ratio']:>15.2f}  {r['verdict']}"
        )
    print(f"PASS: with the guard no phrase loops and WER is at most {100 * WER_SLACK:g} point above without")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=2, help="runs of each side (default 2)")
    parser.add_argument("--models", nargs="+", default=["base", "tiny.en"], help="bundled models")
    parser.add_argument("--quick", action="store_true", help="one run, tiny.en only")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.models = 1, ["tiny.en"]
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="loop-guard-bench-") as tmp:
            work = Path(tmp)
            engine = WhisperTranscriber(ModelCatalog(work / "models"))
            mixed = REPO / "tests" / "data" / "multilingual.mp3"
            sets = [*build_sets(work), SpeechSet("multilingual", mixed, "", None, 0.0, "real, en + de")]
            for model in args.models:
                engine.load(RecognitionSettings(model=model))
                for item in sets:
                    print(f"  {model}, {item.name} ...", flush=True)
                    rows.append(measure(engine, item, model, args.runs))
    except (BenchError, ServiceError) as exc:  # SpeechError is a BenchError
        print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    print_rows(rows)
    save("loop_guard", {"runs": args.runs, "rows": rows}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
