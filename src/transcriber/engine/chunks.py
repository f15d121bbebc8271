"""What a batched chunk's decoding says: the speech each chunk holds, where the model stopped reading
it, the text faster-whisper's segment splitter drops, and how likely a decoding is."""

from __future__ import annotations

from typing import Any

import numpy as np
from faster_whisper.vad import collect_chunks

MIN_FILL_SECONDS = 3.0  # room left in a chunk worth filling with the start of the next speech segment
MIN_PART_SECONDS = 1.0  # the shortest part a speech segment is split into
SEARCH_SECONDS = 3.0  # how far back from the chunk's end a split point is looked for
_FRAME_SECONDS = 0.02  # the step of the quietest-point search


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
        if used and end - start > room >= least and end - start - room >= part:
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
    groups: list[list[dict[str, Any]]] = [[]]
    duration = 0
    for chunk in chunks:
        length = chunk["end"] - chunk["start"]
        if duration + length > max_duration * sampling_rate:
            groups.append([chunk])
            duration = length
        else:
            groups[-1].append(chunk)
            duration += length
    if len(groups) == len(metadata):
        for meta, group in zip(metadata, groups, strict=True):
            meta["segments"] = group
    return audio_chunks, metadata


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
