"""Peak memory and time on long recordings: faster-whisper on the whole file vs the engine's pieces.

The recording: real English speech (``jfk.flac`` and the English part of ``multilingual.mp3``, 1 s of
silence after each) repeated to about ``--minutes`` (180), written as a 16 kHz mono 32 kbit/s MP3 with
PyAV and cached in the temporary directory. The reference text is known, repetition by repetition.

Variants, each in its own process (peak RSS = ``VmHWM`` of that process, RSS sampled every 0.1 s):

- ``whole`` (the baseline, what the engine did before): ``WhisperModel.transcribe(path)`` with the
  engine's options. faster-whisper decodes the whole file to float32, runs VAD over it and computes the
  log-Mel spectrogram of all the speech before the first phrase comes out.
- ``chunked``: ``WhisperTranscriber.transcribe()`` as the worker calls it. PyAV decodes the file
  lazily; every 10 minutes of audio the cut is placed in the longest VAD silence of the piece's last
  30 s (``transcriber.pieces``), the piece is transcribed, its phrases are shifted to file time, and
  the language detected on the first piece is kept for the others.

First both run to the end on the first ``--compare-minutes`` (20) of the recording, to compare their
transcripts; then both run on the long recording, the baseline stopping after ``--long-limit-minutes``
of transcribed audio if given (it reaches its peak before its first phrase). A benchmark, not a test:
it exits 0 whatever the figures; they are also written to
``bench/results/long_audio-<time>-<commit>.json``.

    .venv/bin/python bench/long_audio.py [--minutes 180] [--model base] [--beam N] [--window-minutes 10]
        [--compare-minutes 20] [--long-limit-minutes M] [--chunked-limit-minutes M] [--scale-minutes 30 90]
        [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel

from kit.audio import container_seconds
from kit.engine import prepare_model
from kit.errors import BenchError
from kit.load import add_child_options, run_child
from kit.memory import RssSampler, status_kib
from kit.report import save
from kit.speech import LONG_CACHE, Recording, build_recording
from kit.wer import word_errors
from transcriber.domain import Phrase
from transcriber.engine import WhisperTranscriber, decode_options
from transcriber.errors import ServiceError
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings

TARGET_MIB = 1.5 * 1024  # the target for the worker with base on CPU


# -- one variant in its own process ---------------------------------------------------------------------


def child(args: argparse.Namespace) -> int:
    """Run one variant and write what it measured as JSON to ``args.out``."""
    settings = RecognitionSettings(model=args.model, device="cpu", compute_type="int8")
    if args.beam:
        settings = settings.model_copy(update={"beam_size": args.beam})
    catalog = ModelCatalog(args.models_dir)
    engine = WhisperTranscriber(catalog, cpu_threads=args.cpu_threads, piece_seconds=args.window_minutes * 60)
    model: WhisperModel | None = None
    if args.child == "chunked":
        engine.load(settings)
    else:  # loaded as the engine loads it: same directory, device, compute type and threads
        path = catalog.resolve(args.model).path or args.model
        model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=args.cpu_threads)
    after_load = status_kib("VmRSS")
    with RssSampler(interval=0.1) as sampler:
        started = time.perf_counter()
        if model is None:
            run = engine.transcribe(args.audio, settings)
            duration: float | None = run.duration
            phrases, language = run.phrases, run.language
        else:
            options = decode_options(settings, multilingual=bool(model.model.is_multilingual))
            if settings.batch_size > 0:  # the same decoding mode as the engine's, on the whole file
                del options["condition_on_previous_text"]
                segments, info = BatchedInferencePipeline(model=model).transcribe(
                    str(args.audio), batch_size=settings.batch_size, without_timestamps=False, **options
                )
            else:
                segments, info = model.transcribe(str(args.audio), **options)
            phrases = (Phrase(s.start, s.end, s.text.strip()) for s in segments)
            duration, language = info.duration, info.language
        setup = time.perf_counter() - started
        out: list[dict[str, Any]] = []
        first = None
        limit = args.limit_minutes * 60 if args.limit_minutes else None
        for phrase in phrases:
            if first is None:
                first = time.perf_counter() - started
            out.append({"start": phrase.start, "end": phrase.end, "text": phrase.text})
            if limit is not None and phrase.end >= limit:
                break
        wall = time.perf_counter() - started
    result = {
        "variant": args.child,
        "audio": str(args.audio),
        "duration": duration,
        "language": language,
        "setup_seconds": setup,
        "first_phrase_seconds": first,
        "wall_seconds": wall,
        "transcribed_seconds": out[-1]["end"] if out else 0.0,
        "stopped_early": limit is not None and bool(out) and out[-1]["end"] >= limit,
        "rss_after_load_kib": after_load,
        "peak_rss_kib": status_kib("VmHWM"),
        "rss_at_end_kib": status_kib("VmRSS"),
        "rss_samples": sampler.samples[:: max(1, len(sampler.samples) // 400)],
        "phrases": out,
        "settings": {"beam_size": settings.beam_size, "vad_min_silence_ms": settings.vad_min_silence_ms},
    }
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


# -- the parent: run the variants, compare, report ------------------------------------------------------


def run_variant(
    variant: str, audio: Path, args: argparse.Namespace, models_dir: Path, work: Path, limit: float | None
) -> dict[str, Any]:
    out = work / f"{variant}-{audio.stem}-{limit or 'all'}.json"
    command = [sys.executable, __file__, "--child", variant, "--audio", str(audio), "--out", str(out)]
    command += [
        "--model",
        args.model,
        "--models-dir",
        str(models_dir),
        "--cpu-threads",
        str(args.cpu_threads),
    ]
    command += ["--window-minutes", str(args.window_minutes)]
    if args.beam:
        command += ["--beam", str(args.beam)]
    if limit:
        command += ["--limit-minutes", str(limit)]
    shown = f"{variant:<8} {audio.name}{f' (first {limit:g} min)' if limit else ''}"
    print(f"  running {shown} ...", flush=True)
    result = run_child(command, out, f"variant {variant}")
    print(
        f"    peak {result['peak_rss_kib'] / 1024:.0f} MiB, wall {result['wall_seconds']:.1f} s, "
        f"other processes {result['other_processes_cores']:.2f} cores{result['disturbed']}",
        flush=True,
    )
    return result


def text_of(result: dict[str, Any], upto: float | None = None) -> str:
    return " ".join(p["text"] for p in result["phrases"] if upto is None or p["end"] <= upto)


def compare(whole: dict[str, Any], chunked: dict[str, Any], recording: Recording) -> dict[str, Any]:
    reference = recording.reference(recording.seconds)
    return {
        "wer_whole_vs_reference": word_errors(reference, text_of(whole)).rate,
        "wer_chunked_vs_reference": word_errors(reference, text_of(chunked)).rate,
        "wer_chunked_vs_whole": word_errors(text_of(whole), text_of(chunked)).rate,
        "phrases_whole": len(whole["phrases"]),
        "phrases_chunked": len(chunked["phrases"]),
        "last_end_whole": whole["phrases"][-1]["end"] if whole["phrases"] else 0.0,
        "last_end_chunked": chunked["phrases"][-1]["end"] if chunked["phrases"] else 0.0,
        "words_reference": len(reference.split()),
    }


def mib_text(kib: float) -> str:
    return f"{kib / 1024:,.0f}"


def row(label: str, r: dict[str, Any]) -> str:
    done = r["transcribed_seconds"] / 60
    speed = r["transcribed_seconds"] / r["wall_seconds"] if r["wall_seconds"] else 0.0
    first = r["first_phrase_seconds"]
    stop = " (stopped)" if r["stopped_early"] else ""
    return (
        f"{label:<26}{done:>8.1f}{stop:<10}{mib_text(r['peak_rss_kib']):>10}{mib_text(r['rss_after_load_kib']):>11}"
        f"{first if first is not None else float('nan'):>11.1f}{r['wall_seconds']:>9.1f}{speed:>8.2f}x"
        f"{r.get('other_processes_cores', 0.0):>8.2f}"
    )


def print_report(report: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        "\n=== long audio: peak memory and time, faster-whisper on the whole file vs the engine's pieces ==="
    )
    long_rec = report["long_recording"]
    print(
        f"recording : {long_rec['seconds'] / 60:.1f} min MP3, {long_rec['mib']:.1f} MiB, {long_rec['path']}"
    )
    print("            jfk.flac + English part of multilingual.mp3, 1 s of silence after each, repeated")
    print(
        f"engine    : {args.model}, cpu int8, cpu_threads {args.cpu_threads}, beam {report['beam']}, "
        f"VAD {report['vad_ms']} ms; pieces of {args.window_minutes:g} min, cut in the longest silence of "
        f"the last {args.window_minutes * 3:g} s; each variant in its own process"
    )
    print(f"target    : peak RSS <= {TARGET_MIB:.0f} MiB (1.5 GiB)")
    print(
        f"\n{'variant, file':<26}{'done min':>8}{'':<10}{'peak MiB':>10}{'after load':>11}"
        f"{'1st phrase':>11}{'wall s':>9}{'speed':>9}{'others':>8}"
    )
    for label, r in report["runs"]:
        print(row(label, r))
    print("peak = VmHWM of the variant's process; 'after load' = RSS once the model is loaded;")
    print("1st phrase = seconds until the first phrase (progress stays at 0 until then); speed = done / wall")
    print("others = cores used by other processes meanwhile (> 0.3: disturbed, worth re-running)")
    c = report["comparison"]
    minutes = report["compare_recording"]["seconds"] / 60
    print(f"\ntranscripts on the {minutes:.1f}-minute recording ({c['words_reference']} reference words):")
    print(
        f"  WER vs reference: whole {100 * c['wer_whole_vs_reference']:.2f} %, "
        f"chunked {100 * c['wer_chunked_vs_reference']:.2f} %; "
        f"chunked vs whole {100 * c['wer_chunked_vs_whole']:.2f} %"
    )
    print(
        f"  phrases: whole {c['phrases_whole']}, chunked {c['phrases_chunked']}; last phrase ends "
        f"{c['last_end_whole']:.2f} / {c['last_end_chunked']:.2f} s"
    )
    for line in report.get("scaling", []):
        print(line)
    print()
    for v in report["verdicts"]:
        target = f"target <= {v['target_mib']:,.0f} MiB"
        print(f"{v['name']:<34}: {v['value_mib']:,.0f} MiB, {target}  {v['verdict']}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=180, help="length of the long recording (180)")
    parser.add_argument("--model", default="base", help="bundled model name (default base)")
    parser.add_argument("--beam", type=int, help="beam size (default: the service's default)")
    parser.add_argument("--cpu-threads", type=int, default=0, help="cpu_threads (default 0)")
    parser.add_argument("--window-minutes", type=float, default=10, help="piece length (default 10)")
    parser.add_argument("--compare-minutes", type=float, default=20, help="transcript comparison (20)")
    parser.add_argument(
        "--long-limit-minutes", type=float, help="stop the baseline's long run after this much audio"
    )
    parser.add_argument(
        "--chunked-limit-minutes", type=float, help="stop the engine's long run after this much audio (all)"
    )
    parser.add_argument(
        "--scale-minutes", type=float, nargs="*", default=[], help="also: whole-file peak on these lengths"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--quick", action="store_true", help="30-min recording, 5-min comparison, long runs stop at 2 min"
    )
    parser.add_argument("--child", choices=["whole", "chunked"], help=argparse.SUPPRESS)
    add_child_options(parser)
    parser.add_argument("--limit-minutes", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes, args.compare_minutes, args.long_limit_minutes, args.chunked_limit_minutes = 30, 5, 2, 12
    return args


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    models_dir = work / "models"
    prepare_model(args.model, models_dir)
    print(f"building recordings in {LONG_CACHE} (cached) ...", flush=True)
    long_rec = build_recording(args.minutes)
    short_rec = build_recording(args.compare_minutes)
    runs: list[tuple[str, dict[str, Any]]] = []
    short = {v: run_variant(v, short_rec.path, args, models_dir, work, None) for v in ("whole", "chunked")}
    runs += [(f"{v}, {short_rec.seconds / 60:.0f} min", r) for v, r in short.items()]
    for variant in ("whole", "chunked"):
        limit = args.long_limit_minutes if variant == "whole" else args.chunked_limit_minutes
        r = run_variant(variant, long_rec.path, args, models_dir, work, limit)
        runs.append((f"{variant}, {long_rec.seconds / 60:.0f} min", r))
    scaling = []
    for minutes in args.scale_minutes:
        rec = build_recording(minutes)
        r = run_variant("whole", rec.path, args, models_dir, work, 0.5)
        runs.append((f"whole, {rec.seconds / 60:.0f} min", r))
        scaling.append((rec.seconds / 3600, r["peak_rss_kib"] / 1024))
    whole_long = runs[2][1]
    scaling.append((long_rec.seconds / 3600, whole_long["peak_rss_kib"] / 1024))
    settings = short["whole"]["settings"]
    return {
        "long_recording": {
            "path": str(long_rec.path),
            "seconds": long_rec.seconds,
            "mib": long_rec.path.stat().st_size / 2**20,
            "declared_seconds": container_seconds(long_rec.path),
        },
        "compare_recording": {"path": str(short_rec.path), "seconds": short_rec.seconds},
        "beam": settings["beam_size"],
        "vad_ms": settings["vad_min_silence_ms"],
        "runs": runs,
        "comparison": compare(short["whole"], short["chunked"], short_rec),
        "scaling": scaling_lines(scaling),
        "verdicts": [verdict(label, r) for label, r in runs[2:4]],
    }


def verdict(label: str, r: dict[str, Any]) -> dict[str, Any]:
    peak = r["peak_rss_kib"] / 1024
    return {
        "name": f"peak RSS, {label}",
        "value_mib": peak,
        "target_mib": TARGET_MIB,
        "verdict": "PASS" if peak <= TARGET_MIB else "MISS",
    }


def scaling_lines(points: list[tuple[float, float]]) -> list[str]:
    """A least-squares line through (hours, peak MiB) of the whole-file path, if there are 2+ lengths."""
    if len(points) < 2:
        return []
    hours, peaks = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    slope, intercept = np.polyfit(hours, peaks, 1)
    shown = ", ".join(f"{h:.2f} h: {p:,.0f} MiB" for h, p in points)
    return [
        f"\nwhole-file peak by length: {shown}",
        f"  linear fit: {intercept:,.0f} MiB + {slope:,.0f} MiB per hour of audio "
        f"(1.5 GiB is reached at {(1536 - intercept) / slope:.2f} h)",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args)
    try:
        with tempfile.TemporaryDirectory(prefix="long-audio-bench-") as tmp:
            report = measure(args, Path(tmp))
    except (BenchError, ServiceError) as exc:  # SpeechError is a BenchError
        print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print_report(report, args)
    save("long_audio", report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
