"""What a batched chunk's decoding says: the speech each chunk holds, the batches a piece's chunks are
decoded in and where a piece ends so that they are full, where the model stopped reading a chunk, the
text faster-whisper's segment splitter drops, and how likely a decoding is."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
from faster_whisper.vad import collect_chunks, get_speech_timestamps

MIN_FILL_SECONDS = 3.0  # room left in a chunk worth filling with the start of the next speech segment
MIN_PART_SECONDS = 1.0  # the shortest part a speech segment is split into
SEARCH_SECONDS = 3.0  # how far back from the chunk's end a split point is looked for
_FRAME_SECONDS = 0.02  # the step of the quietest-point search
FIRST_BATCH_FROM = 2
"""The first batch is split off only from a piece of at least this many full batches. A chunk decoded
alone costs about 1.4x its share of a full batch on 2 CPU cores, so the split costs about 0.4/chunks of
the piece's time: 2.4 % for 16 chunks (8 minutes of speech), 6 % for a call of 6 chunks (measured in
bench/progress.py). Below that the progress between checkpoints is estimated instead."""


def filled_chunks(
    audio: np.ndarray, segments: list[dict[str, Any]], sampling_rate: int, max_duration: float
) -> list[dict[str, Any]]:
    """Speech segments split so that the chunks faster-whisper packs them into are full.

    Chunks are packed in order, a segment to a chunk while it fits in ``max_duration``: with the VAD's
    300 ms pause, segments are long (a speaker who barely pauses gives one of 20-30 s), and a chunk that
    cannot take the next whole segment is closed two-thirds full; every chunk costs the encoder a full
    30 s window. Here a segment that does not fit is split at its quietest 20 ms in the last
    ``SEARCH_SECONDS`` before the chunk's end, so the chunk is filled and the rest opens the next one.
    The parts are contiguous: the audio, the silences removed and the time mapping are the same as
    without the split. With no limit (sequential decoding) nothing is split."""
    if not np.isfinite(max_duration):
        return segments
    cap = int(max_duration * sampling_rate)
    least, part = int(MIN_FILL_SECONDS * sampling_rate), int(MIN_PART_SECONDS * sampling_rate)
    frame, search = int(_FRAME_SECONDS * sampling_rate), int(SEARCH_SECONDS * sampling_rate)
    out: list[dict[str, Any]] = []
    used = 0  # samples in the chunk being packed (collect_chunks' own rule, mirrored)
    for segment in segments:
        start, end = int(segment["start"]), int(segment["end"])
        room = cap - used
        # room > least, not >=: a part ends at most SEARCH_SECONDS (= least) before the chunk's end, so
        # segments already split here are not split again (the cutter's speech is packed once more)
        if used and end - start > room > least and end - start - room >= part:
            low, high = start + max(part, room - search), start + room
            window = audio[low:high]
            usable = len(window) // frame * frame
            if usable:
                energy = np.square(window[:usable].reshape(-1, frame)).mean(axis=1)
                cut = low + int(np.argmin(energy)) * frame + frame // 2
                out.append({**segment, "start": start, "end": cut})
                used += cut - start  # the chunk is full: the rest starts the next one
                start = cut
        length = end - start
        if used + length > cap:
            used = length
        else:
            used += length
        out.append({**segment, "start": start, "end": end})
    return out


def collect_chunks_listing_all_speech(
    audio: np.ndarray,
    chunks: list[dict[str, Any]],
    sampling_rate: int = 16000,
    max_duration: float = float("inf"),
) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """faster-whisper's ``collect_chunks`` over :func:`filled_chunks`, with each chunk's ``segments``
    listing all of its speech.

    In faster-whisper 1.2.1 the speech segment that overflows a chunk opens the next chunk's audio but
    is left out of that chunk's ``segments`` (a chunk of one segment lists none), so the batches' speech
    spans that progress is reported from came out short. The audio and the offsets are the original
    function's; the lists are rebuilt with its own rule (a segment that would take the chunk's speech
    past ``max_duration`` starts the next chunk).
    """
    chunks = filled_chunks(audio, chunks, sampling_rate, max_duration)
    audio_chunks, metadata = collect_chunks(audio, chunks, sampling_rate, max_duration)
    groups = packed(chunks, sampling_rate, max_duration)
    if len(groups) == len(metadata):
        for meta, group in zip(metadata, groups, strict=True):
            meta["segments"] = group
    return audio_chunks, metadata


def packed(
    segments: list[dict[str, Any]], sampling_rate: int, max_duration: float
) -> list[list[dict[str, Any]]]:
    """The speech segments of each chunk, packed with ``collect_chunks``' own rule (a segment that would
    take the chunk's speech past ``max_duration`` starts the next chunk, even after an empty first one)."""
    groups: list[list[dict[str, Any]]] = [[]]
    duration = 0
    for segment in segments:
        length = segment["end"] - segment["start"]
        if duration + length > max_duration * sampling_rate:
            groups.append([segment])
            duration = length
        else:
            groups[-1].append(segment)
            duration += length
    return groups


def first_chunk_audio(
    audio: np.ndarray, segments: list[dict[str, Any]], sampling_rate: int, max_duration: float
) -> np.ndarray:
    """The speech of the first chunk :func:`collect_chunks_listing_all_speech` makes of ``audio``."""
    groups = packed(filled_chunks(audio, segments, sampling_rate, max_duration), sampling_rate, max_duration)
    parts = [audio[int(s["start"]) : int(s["end"])] for s in groups[0]]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def first_split(chunks: int, batch_size: int, first: int) -> int:
    """The chunks of a piece's first batch when it is split off (``first``, for a piece of at least
    ``FIRST_BATCH_FROM`` full batches), else 0."""
    return first if 0 < first < batch_size and chunks >= FIRST_BATCH_FROM * batch_size else 0


def batch_plan(chunks: int, batch_size: int, first: int) -> list[int]:
    """The sizes of the batches a piece of ``chunks`` chunks is decoded in, in order."""
    head = first_split(chunks, batch_size, first)
    rest = chunks - head
    return ([head] if head else []) + [min(batch_size, rest - i) for i in range(0, rest, batch_size)]


def aligned_cut(
    audio: np.ndarray,
    segments: list[dict[str, Any]],
    sampling_rate: int,
    max_duration: float,
    batch_size: int,
    first: int,
) -> tuple[int, list[dict[str, Any]]] | None:
    """Where a piece of a longer recording ends so that its batches are all full, and its speech.

    ``audio`` is the start of the recording's rest, ``segments`` its speech (the VAD's, in samples).
    The piece keeps the most chunks whose batches (:func:`batch_plan`) are full, never the last chunk
    (its speech may go on past ``audio``), and ends in the middle of the silence after them, or at the
    split point where a filled chunk ends. A batch that is not full costs as much as a full one on a
    GPU and more per chunk on a CPU; each piece would otherwise end with one. None when ``audio`` does
    not hold more than one batch of chunks."""
    groups = packed(filled_chunks(audio, segments, sampling_rate, max_duration), sampling_rate, max_duration)
    kept = next(
        (n for n in range(len(groups) - 1, 0, -1) if batch_plan(n, batch_size, first)[-1] == batch_size), 0
    )
    if not kept or not groups[kept - 1] or not groups[kept]:
        return None
    cut = (int(groups[kept - 1][-1]["end"]) + int(groups[kept][0]["start"])) // 2
    return cut, [segment for group in groups[:kept] for segment in group]


_known_speech: ContextVar[Sequence[tuple[int, int]] | None] = ContextVar("known_speech", default=None)


def speech_timestamps(audio: np.ndarray, *args: Any, **kwargs: Any) -> list[dict[str, int]]:
    """faster-whisper's VAD, unless the speech of the audio being transcribed is known already
    (:func:`known_speech`)."""
    known = _known_speech.get()
    if known is not None:
        return [{"start": start, "end": end} for start, end in known]
    return get_speech_timestamps(audio, *args, **kwargs)  # type: ignore[no-any-return]


@contextmanager
def known_speech(spans: Sequence[tuple[int, int]] | None) -> Iterator[None]:
    """Let ``transcribe()`` calls in this block take ``spans`` (sample spans, found with the options
    they would use) as the VAD's answer instead of running it again; None: run it."""
    token = _known_speech.set(spans)
    try:
        yield
    finally:
        _known_speech.reset(token)


def unread_after(tokens: list[int], timestamp_begin: int) -> int | None:
    """Where the model stopped reading a chunk, as a timestamp position, when its output ends by
    closing a segment and opening another (``...<|t1|><|t2|>``); None otherwise."""
    if len(tokens) >= 2 and tokens[-1] >= timestamp_begin and tokens[-2] >= timestamp_begin:
        return tokens[-1] - timestamp_begin
    return None


def unfinished_tail(tokens: list[int], timestamp_begin: int) -> tuple[int, list[int]] | None:
    """The text tokens faster-whisper's segment splitter drops, with the timestamp position they start
    at: those after the last pair of consecutive timestamps, when the output does not end in one."""
    pairs = [
        i for i in range(1, len(tokens)) if tokens[i] >= timestamp_begin and tokens[i - 1] >= timestamp_begin
    ]
    if not pairs or tokens[-1] >= timestamp_begin:
        return None  # no pair: kept as one segment; a timestamp at the end: the last segment is closed
    last = pairs[-1]
    text = [t for t in tokens[last:] if t < timestamp_begin]
    return (tokens[last] - timestamp_begin, text) if text else None


def mean_logprob(segments: list[Any]) -> float:
    """A decoding's mean log-probability per segment (0 for one without segments: nothing to doubt)."""
    return sum(s.avg_logprob for s in segments) / len(segments) if segments else 0.0


def decoded_in_chunk(segments: list[Any], duration: float) -> list[Any]:
    """The segments of a chunk's own decoding that start inside it and have text."""
    return [s for s in segments if s.start < duration and s.text.strip()]
