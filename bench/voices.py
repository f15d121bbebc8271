"""Voices told apart in mono recordings: diarization error rate, speaker count and speed.

The set is made of the repository's real recordings (``tests/data``), each voice a different person:
the licence's reader (English part), Kennedy, the stereo file's left and right speakers and the
``hotwords`` speaker, joined into conversations with the truth of who speaks when:

- ``three-joined``: reader, Kennedy, reader, left, Kennedy, joined with no pause (51 s);
- ``two-turns``: Kennedy and the left speaker taking turns with 0.6 s pauses (about 2 minutes);
- ``four-turns``: reader, Kennedy, hotwords, left in turns with pauses (about 2 minutes);
- ``call-mixed``: the stereo call mixed to mono (the two parties overlap for 2.2 of its 5 s).

The reference speech of a clip is where the VAD hears speech in the clip on its own (so pauses inside a
clip are not counted as missed); DER is missed + false alarm + confusion over the reference, scored on
10 ms frames outside a 0.25 s collar around every reference boundary, with the best one-to-one mapping
of found speakers to true ones (pyannote.metrics' definition; overlapping speech counts for each
speaker, and one found speaker per frame can cover only one of them).

Speed: the voices' pass alone (decode, VAD, features, embeddings, clustering) over ``--minutes`` of the
two-voice conversation, and the cost of ``diarize`` on top of transcribing the same file with ``base``
(each mode in a process of its own, interleaved): the goal is at most +15 %. A benchmark, not a test:
it exits 0 whatever the figures; they are also written to ``bench/results/voices-<time>-<commit>.json``.

    .venv/bin/python bench/voices.py [--minutes 5] [--runs 2] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from kit.audio import decode_mono_16k, write_wav
from kit.errors import BenchError
from kit.load import alternating_runs, mode_parser
from kit.memory import status_kib
from kit.paths import AUDIO_DIR
from kit.report import save
from transcriber.decoding import SAMPLE_RATE, DecodeLimits, pcm_blocks
from transcriber.engine import WhisperTranscriber
from transcriber.engine.diarized import voice_turns
from transcriber.engine.segments import speech_spans
from transcriber.errors import ServiceError
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings
from transcriber.voices.model import SpeakerModel
from transcriber.voices.turns import Turn

COLLAR = 0.25
FRAME = 0.01
TARGET = 1.15  # diarize / plain, wall time
PAUSE = 0.6
Truth = list[tuple[float, float, str]]  # reference speech: (start, end, voice)


def voices() -> dict[str, np.ndarray]:
    pcm = np.concatenate(list(pcm_blocks(AUDIO_DIR / "stereo_diarization.wav", stereo=True)))
    stereo = pcm.astype(np.float32) / 32768.0

    def mono(name: str) -> np.ndarray:
        return decode_mono_16k(AUDIO_DIR / name).astype(np.float32) / 32768.0

    return {
        "reader": mono("multilingual.mp3")[: 30 * SAMPLE_RATE],
        "jfk": mono("jfk.flac"),
        "hotwords": mono("hotwords.mp3"),
        "left": stereo[:, 0],
        "right": stereo[:, 1][: int(2.8 * SAMPLE_RATE)],
        "call": stereo.mean(axis=1),
    }


def to_wav(path: Path, samples: np.ndarray) -> Path:
    return write_wav(path, (np.clip(samples, -1.0, 1.0 - 1 / 32768) * 32768).astype(np.int16))


def speech_of(samples: np.ndarray, offset: float, voice: str) -> Truth:
    spans = speech_spans(300)(samples)
    return [(offset + a / SAMPLE_RATE, offset + b / SAMPLE_RATE, voice) for a, b in spans]


def joined(parts: list[tuple[str, np.ndarray]], pause: float) -> tuple[np.ndarray, Truth]:
    out, truth, at = [], [], 0.0
    gap = np.zeros(int(pause * SAMPLE_RATE), dtype=np.float32)
    for voice, samples in parts:
        truth += speech_of(samples, at, voice)
        out += [samples, gap]
        at += (len(samples) + len(gap)) / SAMPLE_RATE
    return np.concatenate(out), truth


def turns_of(voice: dict[str, np.ndarray], names: list[str], seconds: float) -> list[tuple[str, np.ndarray]]:
    """``names`` taking turns, each saying 2-5 s of their own clip (a different part each time)."""
    rng = np.random.default_rng(7)
    parts, total, turn = [], 0.0, 0
    while total < seconds:
        name = names[turn % len(names)]
        clip = voice[name]
        length = min(len(clip), int(rng.uniform(2.0, 5.0) * SAMPLE_RATE))
        start = int(rng.integers(0, max(1, len(clip) - length)))
        parts.append((name, clip[start : start + length]))
        total += length / SAMPLE_RATE + PAUSE
        turn += 1
    return parts


def conversations(voice: dict[str, np.ndarray], seconds: float) -> dict[str, tuple[np.ndarray, Truth]]:
    three = [("reader", voice["reader"][: 20 * SAMPLE_RATE]), ("jfk", voice["jfk"])]
    three += [
        ("reader", voice["reader"][20 * SAMPLE_RATE :]),
        ("left", voice["left"]),
        ("jfk", voice["jfk"][: 5 * SAMPLE_RATE]),
    ]
    call = voice["call"]
    call_truth = [(0.3, 4.7, "left"), (0.3, 2.5, "right")]  # tests/data/SOURCES.md
    return {
        "three-joined": joined(three, 0.0),
        "two-turns": joined(turns_of(voice, ["jfk", "left"], seconds), PAUSE),
        "four-turns": joined(turns_of(voice, ["reader", "jfk", "hotwords", "left"], seconds), PAUSE),
        "call-mixed": (call, call_truth),
    }


def frames(spans: list[tuple[float, float, Any]], count: int, names: list[Any]) -> np.ndarray:
    """(count, len(names)) booleans: who speaks in each 10 ms frame."""
    out = np.zeros((count, len(names)), dtype=bool)
    for start, end, who in spans:
        out[round(start / FRAME) : round(end / FRAME), names.index(who)] = True
    return out


def der(truth: Truth, turns: list[Turn], duration: float) -> dict[str, float]:
    """pyannote.metrics' diarization error rate with a collar, on 10 ms frames."""
    count = int(np.ceil(duration / FRAME)) + 1
    true_names = sorted({w for _, _, w in truth})
    found_names = sorted({t.speaker for t in turns})
    ref = frames(truth, count, true_names)
    hyp = frames([(t.start, t.end, t.speaker) for t in turns], count, found_names)
    scored = np.ones(count, dtype=bool)
    for start, end, _ in truth:
        for edge in (start, end):
            scored[max(0, int((edge - COLLAR) / FRAME)) : int((edge + COLLAR) / FRAME)] = False
    ref, hyp = ref[scored], hyp[scored]
    total = float(ref.sum())
    n_ref, n_hyp = ref.sum(axis=1), hyp.sum(axis=1)
    missed = float(np.maximum(n_ref - n_hyp, 0).sum())
    false_alarm = float(np.maximum(n_hyp - n_ref, 0).sum())
    best_correct = 0.0
    size = max(len(true_names), len(found_names))
    for perm in itertools.permutations(range(size), len(found_names)):
        correct = sum(float((ref[:, r] & hyp[:, h]).sum()) for h, r in enumerate(perm) if r < len(true_names))
        best_correct = max(best_correct, correct)
    confusion = float(np.minimum(n_ref, n_hyp).sum()) - best_correct
    return {
        "der": (missed + false_alarm + confusion) / total if total else 0.0,
        "missed": missed / total if total else 0.0,
        "false_alarm": false_alarm / total if total else 0.0,
        "confusion": confusion / total if total else 0.0,
        "speakers_true": len(true_names),
        "speakers_found": len(found_names),
    }


def child(args: argparse.Namespace) -> int:
    settings = RecognitionSettings(
        model=args.model, device="cpu", compute_type="int8", language="en", diarize=args.child == "diarize"
    )
    engine = WhisperTranscriber(ModelCatalog(args.models_dir))
    engine.load(settings)
    started = time.perf_counter()
    phrases = list(engine.transcribe(args.audio, settings).phrases)
    result = {
        "mode": args.child,
        "wall_seconds": time.perf_counter() - started,
        "peak_rss_kib": status_kib("VmHWM"),
        "phrases": len(phrases),
        "speakers": sorted({p.speaker for p in phrases if p.speaker}),
    }
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = mode_parser(
        __doc__,
        minutes=5,
        what="length of the speed run's file",
        modes=("plain", "diarize"),
        model_help="bundled model for the cost run",
    )
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args)
    if args.quick:
        args.minutes, args.runs = 2, 1
    model = SpeakerModel(threads=2)
    spans, limits = speech_spans(300), DecodeLimits()
    settings = RecognitionSettings(diarize=True)
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="voices-bench-") as tmp:
        work = Path(tmp)
        voice = voices()
        print("=== telling voices apart (DER, collar 0.25 s) ===")
        print(f"{'set':>14}{'length':>8}{'DER':>8}{'missed':>8}{'FA':>8}{'conf.':>8}{'speakers':>10}")
        for name, (samples, truth) in conversations(voice, 120).items():
            path = to_wav(work / f"{name}.wav", samples)
            turns = voice_turns(path, settings, embed=model.embed, spans=spans, limits=limits)
            figures = der(truth, turns, len(samples) / SAMPLE_RATE)
            rows[name] = {"seconds": len(samples) / SAMPLE_RATE, **figures}
            print(
                f"{name:>14}{len(samples) / SAMPLE_RATE:>7.0f}s{100 * figures['der']:>7.1f}%"
                f"{100 * figures['missed']:>7.1f}%{100 * figures['false_alarm']:>7.1f}%"
                f"{100 * figures['confusion']:>7.1f}%"
                f"{figures['speakers_found']:>5}/{figures['speakers_true']}"
            )
        samples, _ = joined(turns_of(voice, ["jfk", "left"], args.minutes * 60), PAUSE)
        long = to_wav(work / "long.wav", samples)
        started = time.perf_counter()
        voice_turns(long, settings, embed=model.embed, spans=spans, limits=limits)
        voice_seconds = time.perf_counter() - started
        speed = len(samples) / SAMPLE_RATE / voice_seconds
        print(
            f"\nvoices' pass alone: {len(samples) / SAMPLE_RATE:.0f} s of audio in {voice_seconds:.1f} s "
            f"({speed:.0f}x real time)"
        )
        try:
            ModelCatalog(work / "models").prepare(args.model)
            runs = alternating_runs(
                __file__,
                ("plain", "diarize"),
                args.runs,
                audio=long,
                work=work,
                model=args.model,
                label="voices",
            )
        except (BenchError, ServiceError) as exc:
            print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
            return 2
    medians = {
        m: statistics.median(r["wall_seconds"] for r in runs if r["mode"] == m) for m in ("plain", "diarize")
    }
    ratio = medians["diarize"] / medians["plain"]
    verdict = "PASS" if ratio <= TARGET else "MISS"
    print(
        f"transcription {medians['plain']:.1f} s, with voices {medians['diarize']:.1f} s: {ratio:.3f}x "
        f"(goal <= {TARGET}): {verdict}"
    )
    save(
        "voices",
        {
            "sets": rows,
            "voice_pass": {"seconds": voice_seconds, "speed": speed},
            "cost": medians,
            "ratio": ratio,
            "verdict": verdict,
        },
        args.json,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
