"""A mono recording's phrases given to the speakers told apart by voice (``WHISPER_DIARIZE``).

The transcription runs as usual; its phrases are held back, and once it is done the recording is read
again for the speakers (:mod:`transcriber.voices`: the VAD's speech in windows, CAM++ embeddings,
clustering), each word given to its speaker and phrases split where the speaker changes. Then the
phrases come out, each with its ``speaker`` (``S1`` for the voice heard first). Progress covers both
passes: the voices take about ``VOICE_SHARE`` of the time (measured: +15 % on top of ``base``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from transcriber.decoding import DecodeLimits, pcm_blocks
from transcriber.domain import Phrase
from transcriber.pieces import SpeechSpans
from transcriber.recognition import RecognitionSettings
from transcriber.speakers import named, parse_names
from transcriber.transcription import DecodeProgress, TranscriptionRun
from transcriber.voices.attribution import attributed, speaker_id
from transcriber.voices.fbank import RATE
from transcriber.voices.turns import Embed, Turn, TurnFinder

VOICE_SHARE = 0.13  # of the whole work: the voices' pass after the transcription
BLOCK_SECONDS = 300.0  # the voices' pass reads the recording in blocks this long


def voice_turns(
    audio: Path, settings: RecognitionSettings, *, embed: Embed, spans: SpeechSpans, limits: DecodeLimits,
    progress: DecodeProgress | None = None, offset: float = 0.0, share: float = 1.0,
) -> list[Turn]:  # fmt: skip
    """Who speaks when in ``audio``, read block by block (``progress`` moves from ``offset`` by
    ``share`` of each second read)."""
    finder = TurnFinder(embed)
    size = int(BLOCK_SECONDS * RATE)
    pending: list[np.ndarray] = []
    held = start = 0

    def flush() -> None:
        nonlocal pending, held, start
        samples = np.concatenate(pending).astype(np.float32) / 32768.0
        finder.feed(samples, start, spans(samples))
        start += len(samples)
        pending, held = [], 0
        if progress is not None:
            progress.done(offset + share * start / RATE)

    for block in pcm_blocks(audio, limits=limits):
        pending.append(block)
        held += len(block)
        if held >= size:
            flush()
    if pending:
        flush()
    return finder.turns(
        num_speakers=settings.num_speakers,
        min_speakers=settings.min_speakers,
        max_speakers=settings.max_speakers,
    )


def diarized(
    run: TranscriptionRun,
    audio: Path,
    settings: RecognitionSettings,
    *,
    embed: Embed,
    spans: SpeechSpans,
    limits: DecodeLimits,
) -> TranscriptionRun:
    """``run`` with its phrases held back until the voices are known, then given to their speakers."""
    progress = DecodeProgress()
    joint = TranscriptionRun(
        language=run.language,
        language_probability=run.language_probability,
        duration=run.duration,
        phrases=iter(()),
        undecoded_seconds=run.undecoded_seconds,
        progress=progress,
    )
    text_share = 1.0 - VOICE_SHARE

    def phrases() -> Iterator[Phrase]:
        held: list[Phrase] = []
        for phrase in run.phrases:
            held.append(phrase)
            progress.done(text_share * run.progress.decoded)
            progress.step(start=progress.decoded, end=text_share * run.progress.decoding)
        joint.duration = run.duration
        joint.undecoded_seconds = run.undecoded_seconds
        joint.redecoded, joint.dropped = run.redecoded, run.dropped
        base = text_share * run.duration
        progress.done(base)
        progress.step(start=base, end=run.duration)
        turns = voice_turns(
            audio, settings, embed=embed, spans=spans, limits=limits, progress=progress, offset=base,
            share=VOICE_SHARE,
        )  # fmt: skip
        given = attributed(held, turns)
        count = max((int(p.speaker[1:]) for p in given if p.speaker), default=0)
        names = parse_names(settings.speaker_names)
        joint.speakers = named([(speaker_id(i), None) for i in range(count)], names)
        yield from given
        progress.done(joint.duration)

    joint.phrases = phrases()
    return joint
