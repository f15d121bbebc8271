"""What splitting a stereo call by channel costs: the engine on a call with each party on its own channel,
split (``WHISPER_CHANNELS=split``) against the same call mixed to mono (``mix``).

The call is made of the real clips (``kit.speech.real_clips``) as turns: the left party says one clip,
the right the next, with a pause between turns, for about ``--minutes`` (6); each channel carries
``--bleed`` (0.2) of the other, as PBX recordings often do. Each run is a process of its own (its peak RSS
is its own); runs alternate between the modes. Reported per mode: median wall time and its ratio to
``mix`` (the goal: at most 1.15), peak memory, WER of the whole text against the turns in order, and for
``split`` the WER of each speaker's text against that party's own turns (a word given to the wrong party
counts twice: missing on one side, inserted on the other). A benchmark, not a test: it exits 0 whatever
the figures; they are also written to ``bench/results/calls-<time>-<commit>.json``.

    .venv/bin/python bench/calls.py [--minutes 6] [--bleed 0.2] [--runs 2] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from kit.errors import BenchError
from kit.load import alternating_runs, mode_parser
from kit.memory import status_kib
from kit.report import save
from kit.speech import real_clips
from kit.wer import word_errors
from transcriber.decoding import SAMPLE_RATE
from transcriber.engine import WhisperTranscriber
from transcriber.errors import ServiceError
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings

MODES = ("mix", "split")
TARGET = 1.15  # split / mix, wall time
PAUSE_SECONDS = 0.7  # between turns


def build_call(minutes: float, bleed: float, path: Path) -> tuple[str, list[str]]:
    """A stereo WAV of turns; the reference text in order, and each party's (left, right)."""
    clips = real_clips()
    pause = np.zeros(int(PAUSE_SECONDS * SAMPLE_RATE))
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    texts: list[str] = []
    own: list[list[str]] = [[], []]
    seconds, turn = 0.0, 0
    while seconds < minutes * 60:
        _, pcm, text = clips[turn % len(clips)]
        speech = pcm.astype(np.float64)
        silent = np.zeros_like(speech)
        side = turn % 2
        left += [speech if side == 0 else silent, pause]
        right += [speech if side == 1 else silent, pause]
        texts.append(text)
        own[side].append(text)
        seconds += (len(speech) + len(pause)) / SAMPLE_RATE
        turn += 1
    a, b = np.concatenate(left), np.concatenate(right)
    a, b = a + bleed * b, b + bleed * a
    pcm = np.clip(np.stack([a, b], axis=1), -32768, 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return " ".join(texts), [" ".join(side) for side in own]


def child(args: argparse.Namespace) -> int:
    settings = RecognitionSettings(
        model=args.model, device="cpu", compute_type="int8", language="en", channels=args.child
    )
    engine = WhisperTranscriber(ModelCatalog(args.models_dir))
    engine.load(settings)
    started = time.perf_counter()
    # the call's parties repeat the same few real clips: one party's turns side by side would look like a
    # loop to the guard (a real call does not repeat itself), so both modes go without it
    run = engine.transcribe(args.audio, settings, guard_loops=False)
    phrases = list(run.phrases)
    result = {
        "mode": args.child,
        "wall_seconds": time.perf_counter() - started,
        "duration": run.duration,
        "peak_rss_kib": status_kib("VmHWM"),
        "text": " ".join(p.text for p in phrases),
        "speakers": {s: " ".join(p.text for p in phrases if p.speaker == s) for s in ("S1", "S2")},
        "phrases": len(phrases),
    }
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = mode_parser(__doc__, minutes=6, what="call length", modes=MODES)
    parser.add_argument("--bleed", type=float, default=0.2, help="share of each channel in the other (0.2)")
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args)
    if args.quick:
        args.minutes, args.runs = 2, 1
    try:
        with tempfile.TemporaryDirectory(prefix="calls-bench-") as tmp:
            work = Path(tmp)
            ModelCatalog(work / "models").prepare(args.model)
            audio = work / "call.wav"
            reference, own = build_call(args.minutes, args.bleed, audio)
            print(f"{args.minutes:g} min call, bleed {args.bleed:g}, {args.model}:", flush=True)
            runs = alternating_runs(
                __file__, MODES, args.runs, audio=audio, work=work, model=args.model, label="call"
            )
    except (BenchError, ServiceError) as exc:
        print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    rows: dict[str, dict[str, Any]] = {}
    for mode in MODES:
        mine = [r for r in runs if r["mode"] == mode]
        rows[mode] = {
            "median_seconds": statistics.median(r["wall_seconds"] for r in mine),
            "seconds": [r["wall_seconds"] for r in mine],
            "peak_mib": max(r["peak_rss_kib"] for r in mine) / 1024,
            "wer": word_errors(reference, mine[0]["text"]).rate,
            "speaker_wer": [
                word_errors(own[i], mine[0]["speakers"][s]).rate for i, s in enumerate(("S1", "S2"))
            ],
            "phrases": mine[0]["phrases"],
        }
    ratio = rows["split"]["median_seconds"] / rows["mix"]["median_seconds"]
    print(f"\n=== stereo call: {args.model}, cpu int8, {args.runs} run(s) each ===")
    print(
        f"{'mode':>6}{'wall s':>8}{'/mix':>7}{'peak MiB':>9}{'WER':>8}"
        f"{'S1 WER':>8}{'S2 WER':>8}{'phrases':>8}"
    )
    for mode, r in rows.items():
        speakers = (
            "".join(f"{100 * w:>7.2f}%" for w in r["speaker_wer"]) if mode == "split" else f"{'-':>8}{'-':>8}"
        )
        print(
            f"{mode:>6}{r['median_seconds']:>8.1f}{r['median_seconds'] / rows['mix']['median_seconds']:>7.3f}"
            f"{r['peak_mib']:>9,.0f}{100 * r['wer']:>7.2f}%{speakers}{r['phrases']:>8}"
        )
    verdict = "PASS" if ratio <= TARGET else "MISS"
    print(f"split / mix = {ratio:.3f} (goal <= {TARGET}): {verdict}")
    save(
        "calls",
        {"minutes": args.minutes, "bleed": args.bleed, "rows": rows, "ratio": ratio, "verdict": verdict},
        args.json,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
