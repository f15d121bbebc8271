"""A stereo call transcribed by channel: each party on its own speech, the phrases merged in time.

Each channel is decoded as a recording of its own in which everything but its party's speech is
silenced (``channels.own_speech``: the VAD's speech without the other party's bleed), so the decoder
spends nothing on the other side's turns and never writes the other party's words. The two runs go
side by side (each holds one piece), their phrases merged by start time, each with its speaker: ``S1``
for the left channel, ``S2`` for the right. The time line is the file's: silencing keeps every sample.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from transcriber.channels import RATE, bleed, gated, layout, own_speech
from transcriber.decoding import DecodeLimits, pcm_blocks
from transcriber.domain import Phrase
from transcriber.pieces import SpeechSpans
from transcriber.recognition import Channels
from transcriber.speakers import named, parse_names
from transcriber.transcription import DecodeProgress, TranscriptionRun

SPEAKERS = ("S1", "S2")  # left, right
WINDOW_SECONDS = 60.0  # the stretch each channel's speech and bleed are measured on
PAD_SECONDS = 0.15  # kept around each stretch of a party's speech (soft word edges)
PROBE_SECONDS = 300.0  # how much of a call ``auto`` listens to before it decides


def stream_format(path: Path) -> tuple[int, int]:
    """The channels and the sample rate of ``path``'s first audio stream ((0, 0) if it has none or
    cannot be opened)."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            streams = container.streams.audio
            if not streams:
                return 0, 0
            context = streams[0].codec_context
            return int(context.channels or 0), int(context.sample_rate or 0)
    except (av.FFmpegError, OSError):
        return 0, 0


def stereo_channels(path: Path) -> int:
    """The channels of ``path``'s first audio stream (0 if it has none or cannot be opened)."""
    return stream_format(path)[0]


def split_decision(path: Path, channels: Channels, limits: DecodeLimits) -> tuple[bool, str]:
    """Whether to transcribe ``path`` by channel, and why (``auto`` listens to its first minutes)."""
    if channels == "mix":
        return False, "mixed to mono, as asked"
    count = stereo_channels(path)
    if count != 2:
        return False, f"the recording has {count} channel(s), not two"
    if channels == "split":
        return True, "split by channel, as asked"
    probe: list[np.ndarray] = []
    length = 0
    for block in pcm_blocks(path, limits=limits, stereo=True):
        probe.append(block)
        length += len(block)
        if length >= PROBE_SECONDS * RATE:
            break
    if not probe:
        return False, "the recording holds no audio"
    samples = np.concatenate(probe).astype(np.float32) / 32768.0
    kind, why = layout(samples[:, 0], samples[:, 1])
    return kind == "split", why


def own_channel(
    blocks: Iterator[np.ndarray], channel: int, spans: SpeechSpans, window: float = WINDOW_SECONDS
) -> Iterator[np.ndarray]:
    """``channel`` of int16 stereo ``blocks`` as int16 mono blocks, silent outside its party's speech."""
    size = int(window * RATE)
    pending: list[np.ndarray] = []
    held = 0
    for block in blocks:
        pending.append(block)
        held += len(block)
        if held >= size:
            yield _own(np.concatenate(pending), channel, spans)
            pending, held = [], 0
    if pending:
        yield _own(np.concatenate(pending), channel, spans)


def _own(stereo: np.ndarray, channel: int, spans: SpeechSpans) -> np.ndarray:
    own = stereo[:, channel].astype(np.float32) / 32768.0
    other = stereo[:, 1 - channel].astype(np.float32) / 32768.0
    keep = gated(spans(own), own_speech(own, other, bleed(own, other)))
    out = np.zeros(len(stereo), dtype=np.int16)
    pad = int(PAD_SECONDS * RATE)
    for start, end in keep:
        a, b = max(0, start - pad), min(len(out), end + pad)
        out[a:b] = stereo[a:b, channel]
    return out


def merged(runs: list[TranscriptionRun], names: str = "") -> TranscriptionRun:
    """One run of the channels' ``runs``: their phrases by start time, each with its speaker (named
    from ``names``, comma-separated, the left channel's party first)."""
    first = runs[0]
    progress = DecodeProgress()
    joint = TranscriptionRun(
        language=first.language,
        language_probability=first.language_probability,
        duration=max(run.duration for run in runs),
        phrases=iter(()),
        undecoded_seconds=max(run.undecoded_seconds for run in runs),
        progress=progress,
        speakers=named([(speaker, channel) for channel, speaker in enumerate(SPEAKERS)], parse_names(names)),
    )

    def tagged(run: TranscriptionRun, speaker: str) -> Iterator[tuple[float, int, Phrase]]:
        for order, phrase in enumerate(run.phrases):
            yield phrase.start, order, dataclasses.replace(phrase, speaker=speaker)

    def update() -> None:
        progress.done(min(run.progress.decoded for run in runs))
        progress.step(start=progress.decoded, end=min(run.progress.decoding for run in runs))
        joint.duration = max(run.duration for run in runs)
        joint.undecoded_seconds = max(run.undecoded_seconds for run in runs)
        joint.redecoded = sum(run.redecoded for run in runs)
        joint.dropped = sum(run.dropped for run in runs)

    def phrases() -> Iterator[Phrase]:
        streams = [tagged(run, speaker) for run, speaker in zip(runs, SPEAKERS, strict=False)]
        for _, _, phrase in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
            update()
            yield phrase
        update()
        progress.done(joint.duration)

    joint.phrases = phrases()
    return joint
