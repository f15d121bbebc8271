"""What word timestamps cost: wall time and peak memory of the engine with them and without.

The engine (``WhisperTranscriber``, as the worker runs it, default settings but for the switch) reads a
``--minutes`` (5) recording of real speech (``kit.speech.build_recording``) with word timestamps on and
off, batched (the default, batches of 8) and sequential. Both sides cut phrases at Whisper's timestamp
tokens (``WHISPER_PHRASE_BOUNDARIES=timestamps``), so the decoding is the same and only the alignment
differs: the default, phrases cut at the words, needs the words and is compared with the timestamp
tokens by ``bench/phrase_boundaries.py``. Each run is a process of its own, so its peak
RSS (``VmHWM``) is its own; runs alternate (on, off, on, off, ...) so the machine's noise falls on both
sides, and the medians are compared: the cost is on/off - 1 in the same run, the target at most 15 %.
The texts must be the same (word alignment runs after decoding and must not change it). A benchmark,
not a test: it exits 0 whatever the figures; they are also written to
``bench/results/words-<time>-<commit>.json``.

    .venv/bin/python bench/words.py [--minutes 5] [--runs 2] [--modes 8 0] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kit.errors import BenchError
from kit.load import add_child_options, run_child
from kit.memory import status_kib
from kit.report import save
from kit.speech import build_recording
from kit.wer import word_errors
from transcriber.engine import WhisperTranscriber
from transcriber.errors import ServiceError
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings

TARGET = 1.15  # word timestamps on / off, wall time


def child(args: argparse.Namespace) -> int:
    settings = RecognitionSettings(
        model=args.model,
        device="cpu",
        compute_type="int8",
        batch_size=args.batch,
        word_timestamps=args.child == "on",
        phrase_boundaries="timestamps",  # the same decoding on both sides (see the docstring)
    )
    engine = WhisperTranscriber(ModelCatalog(args.models_dir))
    engine.load(settings)
    after_load = status_kib("VmRSS")
    started = time.perf_counter()
    run = engine.transcribe(args.audio, settings)
    phrases = list(run.phrases)
    result = {
        "words": args.child,
        "batch_size": args.batch,
        "wall_seconds": time.perf_counter() - started,
        "duration": run.duration,
        "rss_after_load_kib": after_load,
        "peak_rss_kib": status_kib("VmHWM"),
        "text": " ".join(p.text for p in phrases),
        "phrases": len(phrases),
        "timed_words": sum(len(p.words) for p in phrases),
        "threads": engine.cpu_threads,
    }
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


def run_one(
    words: str, batch: int, index: int, audio: Path, args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    out = work / f"words-{words}-{batch}-{index}.json"
    command = [sys.executable, __file__, "--child", words, "--batch", str(batch), "--audio", str(audio)]
    command += ["--out", str(out), "--model", args.model, "--models-dir", str(work / "models")]
    print(f"  batch {batch}, words {words:>3}, run {index + 1} ...", end=" ", flush=True)
    result = run_child(command, out, f"words {words}, batch {batch}")
    print(
        f"{result['wall_seconds']:.1f} s, peak {result['peak_rss_kib'] / 1024:,.0f} MiB{result['disturbed']}",
        flush=True,
    )
    return result


def summarise(batch: int, runs: list[dict[str, Any]], reference: str, seconds: float) -> dict[str, Any]:
    sides: dict[str, Any] = {}
    for words in ("on", "off"):
        mine = [r for r in runs if r["words"] == words]
        sides[words] = {
            "median_seconds": statistics.median(r["wall_seconds"] for r in mine),
            "seconds": [r["wall_seconds"] for r in mine],
            "peak_mib": max(r["peak_rss_kib"] for r in mine) / 1024,
            "wer": word_errors(reference, mine[0]["text"]).rate,
            "timed_words": mine[0]["timed_words"],
            "phrases": mine[0]["phrases"],
            "same_text": len({r["text"] for r in mine}) == 1,
            "other_cores": max(r["other_processes_cores"] for r in mine),
        }
    on, off = sides["on"], sides["off"]
    ratio = on["median_seconds"] / off["median_seconds"]
    texts = {r["text"] for r in runs}
    return {
        "batch_size": batch,
        "sides": sides,
        "time_ratio": ratio,
        "memory_ratio": on["peak_mib"] / off["peak_mib"],
        "same_text": len(texts) == 1,
        "speed_on": seconds / on["median_seconds"],
        "speed_off": seconds / off["median_seconds"],
        "verdict": "PASS" if ratio <= TARGET else "MISS",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=5, help="recording length (default 5)")
    parser.add_argument("--runs", type=int, default=2, help="runs of each side (default 2)")
    parser.add_argument("--modes", type=int, nargs="+", default=[8, 0], help="batch sizes; 0 = sequential")
    parser.add_argument("--model", default="base", help="bundled model (default base)")
    parser.add_argument("--quick", action="store_true", help="a 2-minute recording, one run, batched only")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=8, help=argparse.SUPPRESS)
    add_child_options(parser)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args)
    if args.quick:
        args.minutes, args.runs, args.modes = 2, 1, [8]
    summaries = []
    try:
        with tempfile.TemporaryDirectory(prefix="words-bench-") as tmp:
            work = Path(tmp)
            ModelCatalog(work / "models").prepare(args.model)
            recording = build_recording(args.minutes)
            print(f"{recording.seconds / 60:.1f} min of speech, {args.model}:", flush=True)
            reference = recording.reference(recording.seconds)
            for batch in args.modes:
                runs = [
                    run_one(words, batch, index, recording.path, args, work)
                    for index in range(args.runs)
                    for words in ("on", "off")
                ]
                summaries.append(summarise(batch, runs, reference, recording.seconds))
    except (BenchError, ServiceError) as exc:  # SpeechError is a BenchError
        print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    print(f"\n=== word timestamps: {args.model}, cpu int8, {args.runs} run(s) of each side, alternating ===")
    print(
        f"{'batch':>5}{'on s':>8}{'off s':>8}{'on/off':>8}{'peak on':>9}{'peak off':>9}"
        f"{'WER on':>8}{'WER off':>8}{'words':>7}  same text  verdict (on/off <= {TARGET})"
    )
    for s in summaries:
        on, off = s["sides"]["on"], s["sides"]["off"]
        print(
            f"{s['batch_size']:>5}{on['median_seconds']:>8.1f}{off['median_seconds']:>8.1f}"
            f"{s['time_ratio']:>8.3f}{on['peak_mib']:>9,.0f}{off['peak_mib']:>9,.0f}"
            f"{100 * on['wer']:>7.2f}%{100 * off['wer']:>7.2f}%"
            f"{on['timed_words']:>7}  {'yes' if s['same_text'] else 'NO':>9}  {s['verdict']}"
        )
    print("peak in MiB (VmHWM of each run's own process); words = timed words in the 'on' transcript")
    save("words", {"minutes": args.minutes, "runs": args.runs, "results": summaries}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
