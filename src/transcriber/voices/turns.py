"""Who speaks when, in a mono recording: speaker embeddings of short windows of its speech, grouped
into speakers, voted back onto the speech frame by frame.

The speech (the VAD's spans) is cut into windows of ``WINDOW_SECONDS`` every ``HOP_SECONDS``; a span
shorter than a window gets one window centred on it. Each window's filter banks, less their mean, go
through the CAM++ model (:mod:`transcriber.voices.model`); the embeddings are clustered
(:mod:`transcriber.voices.clustering`), and every 10 ms of speech takes the speaker most of the windows
covering it belong to, each window's vote the stronger the nearer the frame is to its middle (so a
change of speaker falls between the middles of two windows, not at the edge of either). The recording
is read block by block (:class:`TurnFinder` is fed blocks of samples), so memory stays that of one
block and the embeddings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from transcriber.voices.clustering import cluster
from transcriber.voices.fbank import FRAME, RATE, SHIFT, fbank

WINDOW_SECONDS = 1.5
HOP_SECONDS = 0.75
MIN_SPEECH_SECONDS = 0.25  # shorter speech gets no window of its own (its words go to a neighbour)
BATCH = 32

Embed = Callable[[np.ndarray], np.ndarray]
"""(windows, frames, 80) mean-normalised filter banks -> (windows, dim) embeddings."""


@dataclass(frozen=True, slots=True)
class Turn:
    """``speaker`` (0, 1, ... in the order first heard) speaks from ``start`` to ``end`` seconds."""

    start: float
    end: float
    speaker: int


def windows(spans: Sequence[tuple[int, int]], total: int) -> list[tuple[int, int, int, int]]:
    """``(start, end, covers_start, covers_end)`` sample ranges: each window, and the speech it speaks
    for (itself inside a long span; the whole of a short span, whose window reaches around it)."""
    size, hop = int(WINDOW_SECONDS * RATE), int(HOP_SECONDS * RATE)
    out = []
    for a, b in spans:
        if b - a < MIN_SPEECH_SECONDS * RATE:
            continue
        if b - a <= size:
            start = max(0, min((a + b - size) // 2, total - size))
            out.append((start, min(total, start + size), a, b))
            continue
        starts = list(range(a, b - size + 1, hop))
        if starts[-1] + size < b:
            starts.append(b - size)
        out.extend((s, s + size, s, s + size) for s in starts)
    return out


class TurnFinder:
    """Fed the recording in blocks with their speech; :meth:`turns` once it has all of it."""

    def __init__(self, embed: Embed) -> None:
        self._embed = embed
        self._vectors: list[np.ndarray] = []
        self._covers: list[tuple[int, int]] = []  # file samples each embedding speaks for
        self._speech: list[tuple[int, int]] = []  # file samples

    def feed(self, samples: np.ndarray, offset: int, spans: Sequence[tuple[int, int]]) -> None:
        """A block of float32 16 kHz ``samples`` starting at file sample ``offset``, and its speech
        ``spans`` (sample indices in the block)."""
        self._speech.extend((offset + a, offset + b) for a, b in spans)
        found = windows(spans, len(samples))
        if not found:
            return
        features = fbank(samples)
        size = (int(WINDOW_SECONDS * RATE) - FRAME) // SHIFT + 1  # the frames of one window
        batch: list[np.ndarray] = []
        for index, (start, _end, cover_a, cover_b) in enumerate(found):
            first = min(start // SHIFT, max(0, len(features) - size))
            window = features[first : first + size]
            if len(window) < size:  # a block shorter than a window: repeat it to length
                window = np.resize(window, (size, window.shape[1]))
            batch.append(window - window.mean(axis=0, keepdims=True))
            self._covers.append((offset + cover_a, offset + cover_b))
            if len(batch) == BATCH or index == len(found) - 1:
                self._vectors.append(self._embed(np.stack(batch).astype(np.float32)))
                batch = []

    def turns(self, *, num_speakers: int = 0, min_speakers: int = 1, max_speakers: int = 8) -> list[Turn]:
        """The speech as turns of speakers, in time order (none when no window was long enough)."""
        if not self._vectors:
            return []
        labels = cluster(
            np.concatenate(self._vectors),
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
        )
        return _voted(self._speech, self._covers, labels)


def _voted(speech: list[tuple[int, int]], covers: list[tuple[int, int]], labels: np.ndarray) -> list[Turn]:
    """Each 10 ms of ``speech`` to the speaker most windows covering it belong to (the nearest window's
    speaker where none covers it), merged into turns."""
    step = SHIFT
    speakers = int(labels.max()) + 1
    turns: list[Turn] = []
    starts = np.asarray([c[0] for c in covers])
    ends = np.asarray([c[1] for c in covers])
    middles = (starts + ends) / 2
    for a, b in speech:
        frames = max(1, (b - a) // step)
        votes = np.zeros((frames, speakers))
        centres = a + (np.arange(frames) + 0.5) * step
        for index in np.flatnonzero((starts < b) & (ends > a)):
            lo, hi = max(int(starts[index]), a), min(int(ends[index]), b)
            first, past = (lo - a) // step, max((lo - a) // step + 1, (hi - a) // step)
            half = max((ends[index] - starts[index]) / 2, 1.0)
            nearness = 1.0 - np.abs(centres[first:past] - middles[index]) / half
            votes[first:past, labels[index]] += np.maximum(nearness, 0.05)
        empty = votes.sum(axis=1) == 0
        if empty.any():
            nearest = np.abs(middles[None, :] - centres[empty][:, None]).argmin(axis=1)
            votes[np.flatnonzero(empty), labels[nearest]] = 1
        who = votes.argmax(axis=1)
        edges = np.flatnonzero(np.diff(who)) + 1
        for first, past in zip(np.r_[0, edges], np.r_[edges, frames], strict=True):
            start = (a + first * step) / RATE
            end = b / RATE if past == frames else (a + past * step) / RATE
            if turns and turns[-1].speaker == who[first] and start - turns[-1].end < 1e-6:
                turns[-1] = Turn(turns[-1].start, end, int(who[first]))
            else:
                turns.append(Turn(start, end, int(who[first])))
    return turns
