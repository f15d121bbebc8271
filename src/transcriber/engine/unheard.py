"""Chunks the model stopped reading early when it decodes without timestamp tokens.

Decoding a chunk without timestamps (``WHISPER_PHRASE_BOUNDARIES=words``, and faster-whisper's own
``without_timestamps``), Whisper sometimes ends its text at a pause inside the chunk and never reads
the rest: on a 51 s conversation, the 23 s second chunk came back as its first sentence alone, 18 s
of speech gone without a trace (faster-whisper 1.2.1's pipeline does the same). Decoded again from
that point it stops at the same pause. With timestamp tokens the pipeline sees where the model stopped
and reads on from there (``chunks.unread_after``), so such a chunk is decoded once more with them.

Without timestamps only the words' times tell where the model stopped: the last word ends
``UNHEARD_SECONDS`` or more before the chunk does, or the alignment stretched a word over the speech
nobody read (``tiny.en``: "what" from 28.6 to 50.0 s), a word longer than ``LONG_WORD_SECONDS``.
"""

from __future__ import annotations

from typing import Any

UNHEARD_SECONDS = 1.0
LONG_WORD_SECONDS = 3.0  # no word is spoken this long: the alignment spread it over unread speech


def stopped_early(segmented: list[list[dict[str, Any]]], chunks: list[dict[str, Any]]) -> list[int]:
    """The chunks whose words (aligned, in chunk-offset time) show the model stopped reading early."""
    out = []
    for index, (chunk, segments) in enumerate(zip(chunks, segmented, strict=True)):
        words = [word for segment in segments for word in segment.get("words") or ()]
        if not words:  # nothing read at all: the same with timestamps
            continue
        stretched = any(word["end"] - word["start"] > LONG_WORD_SECONDS for word in words)
        unread = chunk["offset"] + chunk["duration"] - float(words[-1]["end"])
        if stretched or unread >= UNHEARD_SECONDS:
            out.append(index)
    return out
