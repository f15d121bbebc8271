"""Where phrases end: Whisper's timestamp tokens (batched, as today) or the words (batched decoding without
timestamp tokens, each chunk's text cut at its words by ``transcriber.phrasing``), against faster-whisper's
own batched pipeline without timestamp tokens, without words (the way speaches decodes by default) and
with words (speaches asked for word timings).

The engine (``WhisperTranscriber``, as the worker runs it, default settings but for the switch) reads a
``--minutes`` (11) recording of real speech (``kit.speech.build_recording``), each run a process of its
own so its peak RSS (``VmHWM``) is its own; runs alternate between the modes so the machine's noise falls
on all of them. Reported per mode: median wall time and its ratio to today's mode, peak memory, WER, the
phrases (how many, median and longest, share no longer than a cue may be) and the SRT cues built from them
(share keeping every rule: at most 2 lines of 42 characters, 1..7 s, at most 20 characters per second).
A benchmark, not a test: it exits 0 whatever the figures; they are also written to
``bench/results/phrase_boundaries-<time>-<commit>.json``.

    .venv/bin/python bench/phrase_boundaries.py [--minutes 11] [--runs 2] [--quick] [--json OUT]
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
from kit.load import mode_parser, run_child
from kit.memory import status_kib
from kit.report import save
from kit.speech import build_recording
from kit.wer import word_errors
from transcriber.domain import Phrase, Transcript, Word
from transcriber.engine import WhisperTranscriber
from transcriber.errors import ServiceError
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings
from transcriber.subtitles import DEFAULT_RULES, Cue, build_cues

MODES = ("timestamps", "words", "fw-plain", "fw-words")
BASELINE = "timestamps"
MEMORY_LIMIT_MIB = 1.5 * 1024


def child(args: argparse.Namespace) -> int:
    started_load = time.perf_counter()
    if args.child in ("fw-plain", "fw-words"):
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        path = ModelCatalog(args.models_dir).prepare(args.model)
        model = WhisperModel(str(path), device="cpu", compute_type="int8")
        pipeline = BatchedInferencePipeline(model=model)
        after_load = status_kib("VmRSS")
        started = time.perf_counter()
        segments, info = pipeline.transcribe(
            str(args.audio),
            batch_size=8,
            beam_size=5,
            without_timestamps=True,
            vad_filter=True,
            word_timestamps=args.child == "fw-words",
        )
        phrases = [
            Phrase(
                s.start,
                s.end,
                s.text.strip(),
                tuple(Word(w.start, w.end, w.word, w.probability) for w in s.words or ()),
            )
            for s in segments
        ]
        duration = info.duration
    else:
        settings = RecognitionSettings(
            model=args.model, device="cpu", compute_type="int8", phrase_boundaries=args.child
        )
        engine = WhisperTranscriber(ModelCatalog(args.models_dir))
        engine.load(settings)
        after_load = status_kib("VmRSS")
        started = time.perf_counter()
        run = engine.transcribe(args.audio, settings)
        phrases = list(run.phrases)
        duration = run.duration
    wall = time.perf_counter() - started
    cues = build_cues(Transcript(task_id="bench", language="en", duration=duration, phrases=phrases))
    result = {
        "mode": args.child,
        "wall_seconds": wall,
        "load_seconds": started - started_load,
        "duration": duration,
        "rss_after_load_kib": after_load,
        "peak_rss_kib": status_kib("VmHWM"),
        "text": " ".join(p.text for p in phrases),
        "phrase_seconds": [p.end - p.start for p in phrases],
        "phrase_chars": [len(p.text) for p in phrases],
        "cues": len(cues),
        "cues_keeping_rules": sum(keeps_rules(cue) for cue in cues),
    }
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


def keeps_rules(cue: Cue) -> bool:
    """Whether a cue keeps every default subtitle rule (reading speed and shortest time: where the
    speech leaves no room, the builder keeps the speech's own pace, and such a cue counts as failing)."""
    rules = DEFAULT_RULES
    seconds = (cue.end_ms - cue.start_ms) / 1000
    return (
        len(cue.lines) <= rules.max_lines
        and all(len(line) <= rules.max_line_chars for line in cue.lines)
        and rules.min_cue_seconds <= seconds <= rules.max_cue_seconds
        and cue.chars <= rules.max_cps * seconds
    )


def run_one(mode: str, index: int, audio: Path, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    out = work / f"phrases-{mode}-{index}.json"
    command = [sys.executable, __file__, "--child", mode, "--audio", str(audio), "--out", str(out)]
    command += ["--model", args.model, "--models-dir", str(work / "models")]
    print(f"  {mode:>10}, run {index + 1} ...", end=" ", flush=True)
    result = run_child(command, out, f"phrase boundaries {mode}")
    print(
        f"{result['wall_seconds']:.1f} s, peak {result['peak_rss_kib'] / 1024:,.0f} MiB{result['disturbed']}",
        flush=True,
    )
    return result


def summarise(mode: str, runs: list[dict[str, Any]], reference: str, seconds: float) -> dict[str, Any]:
    mine = [r for r in runs if r["mode"] == mode]
    first = mine[0]
    lengths = first["phrase_seconds"]
    cue_limit = DEFAULT_RULES.max_cue_seconds
    fits = [
        s <= cue_limit and c <= DEFAULT_RULES.cue_chars
        for s, c in zip(lengths, first["phrase_chars"], strict=True)
    ]
    return {
        "mode": mode,
        "median_seconds": statistics.median(r["wall_seconds"] for r in mine),
        "seconds": [r["wall_seconds"] for r in mine],
        "speed": seconds / statistics.median(r["wall_seconds"] for r in mine),
        "peak_mib": max(r["peak_rss_kib"] for r in mine) / 1024,
        "wer": word_errors(reference, first["text"]).rate,
        "phrases": len(lengths),
        "phrase_median_seconds": statistics.median(lengths) if lengths else 0.0,
        "phrase_max_seconds": max(lengths, default=0.0),
        "phrases_fitting_a_cue": sum(fits) / len(fits) if fits else 0.0,
        "cues": first["cues"],
        "cues_keeping_rules": first["cues_keeping_rules"] / first["cues"] if first["cues"] else 0.0,
        "other_cores": max(r["other_processes_cores"] for r in mine),
    }


def main(argv: list[str] | None = None) -> int:
    parser = mode_parser(__doc__, minutes=11, what="recording length", modes=MODES)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args)
    if args.quick:
        args.minutes, args.runs = 2, 1
    try:
        with tempfile.TemporaryDirectory(prefix="phrases-bench-") as tmp:
            work = Path(tmp)
            ModelCatalog(work / "models").prepare(args.model)
            recording = build_recording(args.minutes)
            print(f"{recording.seconds / 60:.1f} min of speech, {args.model}:", flush=True)
            reference = recording.reference(recording.seconds)
            order = [
                MODES[(index + shift) % len(MODES)]
                for index in range(args.runs)
                for shift in range(len(MODES))
            ]
            runs = [
                run_one(mode, i // len(MODES), recording.path, args, work) for i, mode in enumerate(order)
            ]
            rows = [summarise(mode, runs, reference, recording.seconds) for mode in MODES]
    except (BenchError, ServiceError) as exc:  # SpeechError is a BenchError
        print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    base = next(r for r in rows if r["mode"] == BASELINE)
    print(f"\n=== phrase boundaries: {args.model}, cpu int8, batches of 8, {args.runs} run(s) each ===")
    print(
        f"{'mode':>10}{'wall s':>8}{'/today':>8}{'x real':>8}{'peak MiB':>9}{'WER':>8}{'phrases':>8}"
        f"{'median s':>9}{'max s':>7}{'fit cue':>8}{'cues':>6}{'cues ok':>8}"
    )
    for r in rows:
        print(
            f"{r['mode']:>10}{r['median_seconds']:>8.1f}{r['median_seconds'] / base['median_seconds']:>8.3f}"
            f"{r['speed']:>8.1f}{r['peak_mib']:>9,.0f}{100 * r['wer']:>7.2f}%{r['phrases']:>8}"
            f"{r['phrase_median_seconds']:>9.1f}{r['phrase_max_seconds']:>7.1f}"
            f"{100 * r['phrases_fitting_a_cue']:>7.0f}%{r['cues']:>6}{100 * r['cues_keeping_rules']:>7.0f}%"
        )
    print(
        "fw-plain: faster-whisper's BatchedInferencePipeline as speaches runs it by default (no timestamp"
        " tokens, no words, faster-whisper's VAD defaults); fw-words: the same with word timestamps;"
        f" memory target <= {MEMORY_LIMIT_MIB:,.0f} MiB"
    )
    save("phrase_boundaries", {"minutes": args.minutes, "runs": args.runs, "rows": rows}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
