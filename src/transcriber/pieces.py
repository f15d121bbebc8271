"""Long recordings in pieces: audio decoded lazily to 16 kHz mono and cut in silences.

faster-whisper decodes a whole file to float32 and runs its VAD over all of it before the first phrase
comes out; on CPU with ``base`` that costs about 3.2 GiB of memory per hour of audio (measured by
``bench/long_audio.py``). The engine instead takes the audio a piece at a time: ``decoding`` decodes
packets as they are needed, and every ``piece_seconds`` the cut is placed in the middle of the longest
silence of the piece's last ``search_seconds`` (the quietest 20 ms if there is no silence of at least
``MIN_GAP_SECONDS``), so no phrase is cut in two. Offsets are counted in samples, so phrase times stay
exact however many pieces a recording has. A ``cutter`` may place the cut itself: the batched decoder
ends a piece after its last full batch of chunks, the rest of the buffer starting the next piece.

What counts as speech is the caller's choice (``speech_spans``), so this module needs no model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from transcriber.decoding import SAMPLE_RATE

PIECE_SECONDS = 600.0  # 10 minutes: about 0.5 GiB of decoding memory with ``base`` on CPU
MIN_GAP_SECONDS = 0.2  # a silence shorter than this is not a safe place to cut
_FRAME = SAMPLE_RATE // 50  # 20 ms, the step of the quietest-point search

SpeechSpans = Callable[[np.ndarray], list[tuple[int, int]]]
"""Speech in float32 16 kHz samples as (start, end) sample indices, in order."""

Cutter = Callable[[np.ndarray, bool], "Cut | None"]
"""Where to end a piece of a full buffer (float32; True for the recording's first piece), or None for
the default cut in the longest silence of its end (see :func:`split_pieces`)."""


@dataclass(frozen=True, slots=True)
class Cut:
    index: int  # the piece is the buffer's samples before it
    speech: tuple[tuple[int, int], ...]  # the piece's speech as its decoder would find it (sample spans)


@dataclass(frozen=True, slots=True)
class AudioPiece:
    offset: int  # first sample of the piece in the whole recording
    samples: np.ndarray  # float32 in [-1, 1), 16 kHz mono
    cut: str  # how the piece ends: "silence", "quiet" (no silence found), "cutter" or "end"
    speech: tuple[tuple[int, int], ...] | None = None  # found by the cutter, so not looked for again

    @property
    def start_seconds(self) -> float:
        return self.offset / SAMPLE_RATE

    @property
    def end_seconds(self) -> float:
        return (self.offset + len(self.samples)) / SAMPLE_RATE


def even_piece_seconds(duration: float | None, longest: float) -> float:
    """The piece length that cuts a recording of ``duration`` seconds into the fewest pieces of at most
    ``longest``, all about as long: 10.7 minutes become two pieces of 5.35, not 10 and 0.7 (a short last
    piece is decoded in a small batch, which costs more per second of speech). ``longest`` when the
    duration is not known or fits in one piece."""
    if duration is None or not math.isfinite(duration) or duration <= longest:
        return longest
    return duration / math.ceil(duration / longest)


def cut_point(tail: np.ndarray, speech_spans: SpeechSpans) -> tuple[int, str]:
    """Where to cut ``tail`` (float32): the middle of its longest silence, else its quietest 20 ms."""
    edges = [0, *(x for span in speech_spans(tail) for x in span), len(tail)]
    gaps = [(edges[i + 1] - edges[i], edges[i]) for i in range(0, len(edges), 2)]
    length, start = max(gaps)  # ties: the later gap
    if length >= MIN_GAP_SECONDS * SAMPLE_RATE:
        return start + length // 2, "silence"
    usable = len(tail) // _FRAME * _FRAME
    if usable == 0:
        return len(tail), "quiet"
    energy = np.square(tail[:usable].reshape(-1, _FRAME)).mean(axis=1)
    return int(np.argmin(energy)) * _FRAME + _FRAME // 2, "quiet"


def split_pieces(
    blocks: Iterator[np.ndarray],
    speech_spans: SpeechSpans,
    *,
    piece_seconds: float = PIECE_SECONDS,
    search_seconds: float = 30.0,
    cutter: Cutter | None = None,
) -> Iterator[AudioPiece]:
    """Pieces of about ``piece_seconds`` from int16 ``blocks``; only one piece is held at a time.

    A ``cutter`` may end a piece anywhere in a full buffer instead (the batched decoder ends it after its
    last full batch of chunks); the rest of the buffer starts the next piece."""
    target = int(piece_seconds * SAMPLE_RATE)
    search = min(int(search_seconds * SAMPLE_RATE), target)
    pending: list[np.ndarray] = []
    pending_len = offset = 0
    for block in blocks:
        pending.append(block)
        pending_len += len(block)
        if pending_len < target:
            continue
        buffer = np.concatenate(pending)
        while len(buffer) >= target:
            piece = _cut_piece(buffer, offset, target, search, speech_spans, cutter)
            yield piece
            offset += len(piece.samples)
            buffer = buffer[len(piece.samples) :].copy()  # a copy lets the piece's samples be freed
        pending, pending_len = [buffer], len(buffer)
    if pending_len:
        yield AudioPiece(offset, _float(np.concatenate(pending)), "end")


def _cut_piece(
    buffer: np.ndarray,
    offset: int,
    target: int,
    search: int,
    speech_spans: SpeechSpans,
    cutter: Cutter | None,
) -> AudioPiece:
    """The piece at the start of ``buffer`` (int16, at least ``target`` samples long)."""
    if cutter is not None:
        whole = _float(buffer[:target])
        chosen = cutter(whole, offset == 0)
        if chosen is not None and 0 < chosen.index <= target:
            return AudioPiece(offset, whole[: chosen.index].copy(), "cutter", chosen.speech)
    tail = _float(buffer[target - search : target])
    index, how = cut_point(tail, speech_spans)
    cut = max(1, target - search + index)
    return AudioPiece(offset, _float(buffer[:cut]), how)


def _float(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.float32) / 32768.0
