"""Batch size on a recording long enough to fill the batches: speed and peak memory of the engine.

``decoding.py`` compares decoding modes on short sets (at most five 30-second VAD chunks per file), where
any batch over 5 changes nothing. Here the engine (``WhisperTranscriber``, as the worker runs it) reads
a ``--minutes`` (10) recording of real English speech (``kit.speech.build_recording``, the one
``long_audio.py`` uses): about 20 chunks, so batches of 4, 8 and 16 really differ. Each configuration
runs in its own process, so its peak RSS (``VmHWM``) is its own. The baseline is sequential decoding
(batch 0) with the same beam in the same run. A benchmark, not a test: it exits 0 whatever the figures;
they are also written to ``bench/results/batch_sizes-<time>-<commit>.json``.

    .venv/bin/python bench/batch_sizes.py [--minutes 10] [--sizes 0 4 8 16] [--beam 5] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
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


def child(args: argparse.Namespace) -> int:
    settings = RecognitionSettings(
        model=args.model, device="cpu", compute_type="int8", beam_size=args.beam, batch_size=args.child
    )
    engine = WhisperTranscriber(ModelCatalog(args.models_dir))
    engine.load(settings)
    after_load = status_kib("VmRSS")
    started = time.perf_counter()
    run = engine.transcribe(args.audio, settings)
    first = None
    texts = []
    for phrase in run.phrases:
        first = first if first is not None else time.perf_counter() - started
        texts.append(phrase.text)
    result = {
        "batch_size": args.child,
        "wall_seconds": time.perf_counter() - started,
        "first_phrase_seconds": first,
        "duration": run.duration,
        "rss_after_load_kib": after_load,
        "peak_rss_kib": status_kib("VmHWM"),
        "text": " ".join(texts),
        "threads": engine.cpu_threads,
    }
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


def run_size(size: int, audio: Path, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    out = work / f"batch-{size}.json"
    command = [sys.executable, __file__, "--child", str(size), "--audio", str(audio), "--out", str(out)]
    command += ["--model", args.model, "--models-dir", str(work / "models"), "--beam", str(args.beam)]
    print(f"  batch {size:>2} ...", end=" ", flush=True)
    result = run_child(command, out, f"batch {size}")
    print(
        f"{result['wall_seconds']:.1f} s, peak {result['peak_rss_kib'] / 1024:,.0f} MiB{result['disturbed']}",
        flush=True,
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10, help="recording length (default 10)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 4, 8, 16], help="0 = sequential")
    parser.add_argument("--beam", type=int, default=5, help="beam size (default 5)")
    parser.add_argument("--model", default="base", help="bundled model (default base)")
    parser.add_argument("--quick", action="store_true", help="a 4-minute recording, sizes 0 and 8")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    add_child_options(parser)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args)
    if args.quick:
        args.minutes, args.sizes = 4, [0, 8]
    try:
        with tempfile.TemporaryDirectory(prefix="batch-sizes-bench-") as tmp:
            work = Path(tmp)
            ModelCatalog(work / "models").prepare(args.model)
            recording = build_recording(args.minutes)
            print(f"{recording.seconds / 60:.1f} min of speech, {args.model}, beam {args.beam}:", flush=True)
            results = [run_size(size, recording.path, args, work) for size in args.sizes]
    except (BenchError, ServiceError) as exc:  # SpeechError is a BenchError
        print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    reference = recording.reference(recording.seconds)
    base = next((r for r in results if r["batch_size"] == 0), results[0])
    print(f"\n=== batch size: {args.model}, cpu int8, {results[0]['threads']} threads, beam {args.beam} ===")
    print(f"{'batch':>5}{'xRT':>8}{'vs seq':>8}{'WER %':>8}{'peak MiB':>10}{'1st phrase s':>14}{'others':>8}")
    for r in results:
        speed = recording.seconds / r["wall_seconds"]
        r["speed"], r["wer"] = speed, word_errors(reference, r["text"]).rate
        r["vs_sequential"] = base["wall_seconds"] / r["wall_seconds"]
        print(
            f"{r['batch_size']:>5}{speed:>7.2f}x{r['vs_sequential']:>7.2f}x{100 * r['wer']:>8.2f}"
            f"{r['peak_rss_kib'] / 1024:>10,.0f}{r['first_phrase_seconds'] or 0:>14.1f}"
            f"{r['other_processes_cores']:>8.2f}"
        )
    print("vs seq = sequential wall time / this wall time (same run); others = cores used by other processes")
    for r in results:
        r.pop("text")
    save("batch_sizes", {"minutes": args.minutes, "results": results}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
