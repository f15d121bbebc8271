"""A stereo call transcribed by channel: each party on its own speech, the phrases merged in time.

Each channel's own speech is found (``channels.own_speech``: the VAD's speech without the other party's
bleed), so the decoder never hears the other side's turns and never writes the other party's words.
Both parties go through one decoder as one stream (:class:`Interleaved`: five minutes' worth of the
left party's speech, a silence longer than Whisper's window, the same five minutes of the right
party's, the silence, the next five minutes...), so its chunks are as full as the mixed call's and its
batches too. :func:`split_call` puts the phrases back in the file's time, each with its speaker:
``S1`` for the left channel, ``S2`` for the right, in time order.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from transcriber.channels import RATE, bleed, gated, layout, own_speech
from transcriber.decoding import DecodeLimits, pcm_blocks
from transcriber.domain import Phrase, Word
from transcriber.pieces import SpeechSpans, cut_point
from transcriber.recognition import Channels
from transcriber.speakers import named, parse_names
from transcriber.transcription import DecodeProgress, TranscriptionRun

SPEAKERS = ("S1", "S2")  # left, right
PAIR_SECONDS = 300.0  # the call is decoded in pairs of stretches of this much of each channel (and
# each stretch's own speech and bleed are measured on it)
GAP_SECONDS = 31.0  # silence between the parties' speech: more than Whisper's 30 s window
CUT_SEARCH_SECONDS = 20.0  # a part of the call ends in a silence found in its last this many seconds
TURN_GAP_SECONDS = 1.0  # a phrase is cut where its words are this far apart in the file (phrasing's pause)
JOIN_SECONDS = 0.3  # silence between two stretches of one party's speech
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


def own_spans(stereo: np.ndarray, channel: int, spans: SpeechSpans) -> list[tuple[int, int]]:
    """Where ``channel`` of int16 ``stereo`` holds its own party's speech (samples, padded by
    ``PAD_SECONDS``, overlapping pads joined)."""
    own = stereo[:, channel].astype(np.float32) / 32768.0
    other = stereo[:, 1 - channel].astype(np.float32) / 32768.0
    pad = int(PAD_SECONDS * RATE)
    out: list[tuple[int, int]] = []
    for start, end in gated(spans(own), own_speech(own, other, bleed(own, other))):
        a, b = max(0, start - pad), min(len(stereo), end + pad)
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class Span:
    """A stretch of one party's speech in the stream: ``length`` samples from stream sample ``start``
    are the file's from ``file_start`` on, of ``channel``; ``pair`` is the part of the call it is in."""

    start: int
    length: int
    file_start: int
    channel: int
    pair: tuple[int, int]  # (file start, length) of its part of the call


class Interleaved:
    """Both parties of a call as one mono stream for one decoder: for each ``PAIR_SECONDS`` of the call,
    the left party's speech alone (its stretches joined with ``JOIN_SECONDS`` of silence between them),
    ``GAP_SECONDS`` of silence, the right party's, the gap again. The gap is longer than Whisper's
    window, so no chunk or window holds both parties; within one party's speech the chunks are as full
    as in the mixed call (the other party's turns are not there at all), and the decoder's batches hold
    both parties' chunks. ``spans`` say where each stretch came from."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self._starts: list[int] = []  # of the spans, for bisect
        self._at = 0  # stream samples so far
        self._file_at = 0

    def blocks(self, stereo: Iterator[np.ndarray], spans: SpeechSpans) -> Iterator[np.ndarray]:
        """The stream of the call's int16 stereo ``blocks`` as int16 mono blocks (``spans``: the VAD)."""
        size, search = int(PAIR_SECONDS * RATE), int(CUT_SEARCH_SECONDS * RATE)
        pending: list[np.ndarray] = []
        held = 0
        for block in stereo:
            pending.append(block)
            held += len(block)
            if held >= size:
                buffer = np.concatenate(pending)
                # a part ends in the longest silence of both parties in its last seconds, not in a word
                tail = buffer[size - search : size].astype(np.float32).mean(axis=1) / 32768.0
                cut = size - search + cut_point(tail, spans)[0]
                yield from self._pair(buffer[:cut], spans)
                pending, held = [buffer[cut:]], len(buffer) - cut
        if held:
            yield from self._pair(np.concatenate(pending), spans)

    @staticmethod
    def seconds(duration: float) -> float:
        """How long the stream of a call of ``duration`` seconds is at most."""
        pairs = max(1, math.ceil(duration / PAIR_SECONDS))
        return 2 * duration + 2 * pairs * GAP_SECONDS

    def _pair(self, stereo: np.ndarray, vad: SpeechSpans) -> Iterator[np.ndarray]:
        join = np.zeros(int(JOIN_SECONDS * RATE), dtype=np.int16)
        gap = np.zeros(int(GAP_SECONDS * RATE), dtype=np.int16)
        pair = (self._file_at, len(stereo))
        for channel in (0, 1):
            for a, b in own_spans(stereo, channel, vad):
                self.spans.append(Span(self._at, b - a, self._file_at + a, channel, pair))
                self._starts.append(self._at)
                yield stereo[a:b, channel].copy()
                yield join
                self._at += b - a + len(join)
            yield gap
            self._at += len(gap)
        self._file_at += len(stereo)

    def locate(self, seconds: float) -> Span | None:
        """The stretch a point of the stream is in, or the one before it (None before the first)."""
        at = seconds * RATE
        index = bisect.bisect_right(self._starts, at) - 1
        return self.spans[index] if index >= 0 else None

    def file_time(self, seconds: float, *, starting: bool = False) -> tuple[float, str]:
        """The file time of a point of the stream, and whose speech it is. A point between two stretches
        is the end of the one before it, or, ``starting`` (where something begins), the start of the
        next one."""
        span = self.locate(seconds)
        if span is None:
            return (self.spans[0].file_start / RATE if self.spans else 0.0), SPEAKERS[0]
        into = seconds * RATE - span.start
        index = bisect.bisect_right(self._starts, seconds * RATE) - 1
        if starting and into >= span.length and index + 1 < len(self.spans):
            following = self.spans[index + 1]
            return following.file_start / RATE, SPEAKERS[following.channel]
        return (span.file_start + min(max(into, 0), span.length)) / RATE, SPEAKERS[span.channel]

    def file_seconds(self, seconds: float) -> float:
        """Where the decoder is in the call: a part of it counts as half done once its left party's
        speech is decoded."""
        span = self.locate(seconds)
        if span is None:
            return 0.0
        start, length = span.pair
        into = (self.file_time(seconds)[0] * RATE - start) / max(length, 1)
        return (start + (span.channel + min(max(into, 0.0), 1.0)) / 2 * length) / RATE


def by_span(phrase: Phrase, stream: Interleaved) -> list[Phrase]:
    """``phrase`` cut where its words go from one stretch of the stream to another that is
    ``TURN_GAP_SECONDS`` or more later in the file (in the stream one party's turns are 0.3 s apart; in
    the file the other party speaks between them)."""
    if len(phrase.words) < 2:
        return [phrase]
    parts: list[list[Word]] = [[phrase.words[0]]]
    span = stream.locate(phrase.words[0].start)
    for before, word in itertools.pairwise(phrase.words):
        here = stream.locate(word.start)
        if here is not span:
            gap = stream.file_time(word.start, starting=True)[0] - stream.file_time(before.end)[0]
            if gap >= TURN_GAP_SECONDS:
                parts.append([])
            span = here
        parts[-1].append(word)
    if len(parts) == 1:
        return [phrase]
    out = []
    for index, words in enumerate(parts):
        start = phrase.start if index == 0 else words[0].start
        end = phrase.end if index == len(parts) - 1 else words[-1].end
        text = "".join(w.word for w in words).strip()
        out.append(
            dataclasses.replace(phrase, start=start, end=max(start, end), text=text, words=tuple(words))
        )
    return out


def placed(phrase: Phrase, stream: Interleaved) -> Phrase:
    """``phrase`` from the stream's time to the file's: each word by its own time, the phrase from its
    first word to its last (its own start and end when it has no words), its speaker the one whose
    speech it starts in."""
    words = tuple(
        dataclasses.replace(
            w, start=stream.file_time(w.start, starting=True)[0], end=stream.file_time(w.end)[0]
        )
        for w in phrase.words
    )
    first = phrase.words[0].start if phrase.words else phrase.start
    start, speaker = stream.file_time(first, starting=True)
    end = words[-1].end if words else stream.file_time(phrase.end)[0]
    words = tuple(dataclasses.replace(w, end=max(w.start, w.end)) for w in words)
    return dataclasses.replace(phrase, start=start, end=max(start, end), words=words, speaker=speaker)


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
            span = stream.locate(phrase.start)
            part = span.pair[0] if span is not None else 0
            if part != pair and held:
                yield from sorted(held, key=lambda p: p.start)
                held = []
            pair = part
            held.extend(placed(part, stream) for part in by_span(phrase, stream))
            update()
        yield from sorted(held, key=lambda p: p.start)
        update()
        progress.done(joint.duration)

    joint.phrases = phrases()
    return joint
