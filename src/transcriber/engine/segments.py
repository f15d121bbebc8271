"""A piece's speech as the VAD hears it, and faster-whisper's segments as our phrases in the recording's
time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from transcriber.domain import Phrase, Word
from transcriber.pieces import AudioPiece, SpeechSpans


def speech_spans(min_silence_ms: int, threshold: float = 0.5) -> SpeechSpans:
    """The VAD's speech (``threshold``: Silero's speech probability that counts, 0.5 by default)."""
    options = VadOptions(
        threshold=threshold, min_silence_duration_ms=max(min_silence_ms, 100), speech_pad_ms=0
    )

    def spans(samples: np.ndarray) -> list[tuple[int, int]]:
        return [(s["start"], s["end"]) for s in get_speech_timestamps(samples, options)]

    return spans


def piece_phrase(
    start: float,
    end: float,
    text: str,
    piece: AudioPiece,
    words: Iterable[Any] | None = None,
    *,
    language: str | None = None,
) -> Phrase:
    """Our phrase from a piece's segment, in the recording's time and inside the piece: Whisper's last
    window can end past the audio. ``words`` (faster-whisper's, with ``start``, ``end``, ``word`` and
    ``probability`` in the piece's time) become the phrase's, inside its span and in order; ``language``
    is the one detected for the segment's window, if it was detected per window."""
    low, high = piece.start_seconds, piece.end_seconds
    start = min(max(low, low + float(start)), high)
    end = min(max(start, low + float(end)), high)
    timed: list[Word] = []
    floor = start
    for word in words or ():
        word_start = min(max(floor, low + float(word.start)), end)
        word_end = min(max(word_start, low + float(word.end)), end)
        timed.append(Word(word_start, word_end, str(word.word), float(word.probability)))
        floor = word_start
    return Phrase(start=start, end=end, text=text.strip(), words=tuple(timed), language=language)
