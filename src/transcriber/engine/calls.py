"""A stereo call transcribed by channel: each party on its own speech, the phrases merged in time.

Each channel is silenced outside its party's speech (``channels.own_speech``: the VAD's speech without
the other party's bleed), so the decoder spends nothing on the other side's turns and never writes the
other party's words. Both parties go through one decoder as one stream (:class:`Interleaved`: five
minutes of the left channel, a silence longer than Whisper's window, the same five minutes of the right
channel, the silence, the next five minutes...), so its batches are full. :func:`split_call` puts the
phrases back in the file's time, each with its speaker: ``S1`` for the left channel, ``S2`` for the
right, in time order.
"""

from __future__ import annotations

import dataclasses
import math
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
PAIR_SECONDS = 300.0  # the call is decoded in pairs of stretches of this much of each channel (and
# each stretch's own speech and bleed are measured on it)
GAP_SECONDS = 31.0  # silence between stretches: more than Whisper's 30 s window
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


class Interleaved:
    """Both parties of a call as one mono stream for one decoder: for each ``PAIR_SECONDS`` of the call,
    the left channel's own speech (silent elsewhere), ``GAP_SECONDS`` of silence, the right channel's,
    the gap again. The gap is longer than Whisper's window, so no chunk or window spans two stretches,
    and the decoder's batches hold both parties' chunks (two runs side by side decoded half-filled
    batches: 1.41x the mixed call's time). ``stretches`` says where each stretch came from."""

    def __init__(self) -> None:
        self.stretches: list[tuple[int, int, int, int]] = []  # (virtual start, length, file start, channel)

    def blocks(self, stereo: Iterator[np.ndarray], spans: SpeechSpans) -> Iterator[np.ndarray]:
        """The stream of the call's int16 stereo ``blocks`` as int16 mono blocks (``spans``: the VAD)."""
        size = int(PAIR_SECONDS * RATE)
        pending: list[np.ndarray] = []
        held = 0
        for block in stereo:
            pending.append(block)
            held += len(block)
            if held >= size:
                yield from self._pair(np.concatenate(pending), spans)
                pending, held = [], 0
        if pending:
            yield from self._pair(np.concatenate(pending), spans)

    @staticmethod
    def seconds(duration: float) -> float:
        """How long the stream of a call of ``duration`` seconds is."""
        pairs = max(1, math.ceil(duration / PAIR_SECONDS))
        return 2 * duration + 2 * pairs * GAP_SECONDS

    def _pair(self, stereo: np.ndarray, spans: SpeechSpans) -> Iterator[np.ndarray]:
        gap = np.zeros(int(GAP_SECONDS * RATE), dtype=np.int16)
        file_start = self._file_at()
        for channel in (0, 1):
            virtual = self._virtual_at()
            self.stretches.append((virtual, len(stereo), file_start, channel))
            yield _own(stereo, channel, spans)
            yield gap

    def _virtual_at(self) -> int:
        gap = int(GAP_SECONDS * RATE)
        return sum(length + gap for _, length, _, _ in self.stretches)

    def _file_at(self) -> int:
        return sum(length for _, length, _, channel in self.stretches if channel == 1)

    def locate(self, seconds: float) -> tuple[int, float, float]:
        """The stretch (index) a point of the stream is in or after, and the file time of its start and
        end; within a gap, the stretch before it."""
        at = seconds * RATE
        index = max(0, next((i for i, s in enumerate(self.stretches) if s[0] > at), len(self.stretches)) - 1)
        virtual, length, file_start, _ = self.stretches[index]
        return index, (file_start - virtual) / RATE, (file_start + length) / RATE

    def file_seconds(self, seconds: float) -> float:
        """Where the decoder is in the call: the file time reached in both channels (a pair counts as
        done halfway once its left stretch is)."""
        if not self.stretches:
            return 0.0
        index = self.locate(seconds)[0]
        virtual, length, file_start, channel = self.stretches[index]
        into = min(max(seconds * RATE - virtual, 0), length) / max(length, 1)
        return (file_start + (channel + into) / 2 * length) / RATE


def placed(phrase: Phrase, shift: float, end: float, speaker: str) -> Phrase:
    """``phrase`` from the stream's time to the file's (``shift`` seconds on, never past ``end``)."""

    def moved(seconds: float) -> float:
        return min(seconds + shift, end)

    words = tuple(dataclasses.replace(w, start=moved(w.start), end=moved(w.end)) for w in phrase.words)
    start = moved(phrase.start)
    return dataclasses.replace(
        phrase, start=start, end=max(start, moved(phrase.end)), words=words, speaker=speaker
    )


def split_call(
    run: TranscriptionRun, stream: Interleaved, duration: float, names: str = ""
) -> TranscriptionRun:
    """The run over ``stream`` as the call's: phrases in the file's time, each with its speaker (``S1``
    left, ``S2`` right, named from ``names``), in time order (a pair's phrases are held until the next
    pair's come), progress and duration in the file's time."""
    progress = DecodeProgress()
    joint = TranscriptionRun(
        language=run.language,
        language_probability=run.language_probability,
        duration=duration,
        phrases=iter(()),
        undecoded_seconds=run.undecoded_seconds,
        progress=progress,
        speakers=named([(speaker, channel) for channel, speaker in enumerate(SPEAKERS)], parse_names(names)),
    )

    def update() -> None:
        progress.done(stream.file_seconds(run.progress.decoded))
        progress.step(start=progress.decoded, end=stream.file_seconds(run.progress.decoding))
        joint.undecoded_seconds = run.undecoded_seconds
        joint.redecoded, joint.dropped = run.redecoded, run.dropped

    def phrases() -> Iterator[Phrase]:
        held: list[Phrase] = []
        pair = 0
        for phrase in run.phrases:
            index, shift, end = stream.locate(phrase.start)
            if index // 2 != pair and held:
                yield from sorted(held, key=lambda p: p.start)
                held = []
            pair = index // 2
            held.append(placed(phrase, shift, end, SPEAKERS[stream.stretches[index][3]]))
            update()
        yield from sorted(held, key=lambda p: p.start)
        update()
        progress.done(joint.duration)

    joint.phrases = phrases()
    return joint
