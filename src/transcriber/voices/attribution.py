"""Phrases given to the speakers of their words: each word to the speaker whose turn it overlaps most
(the nearest turn when it overlaps none), a phrase split where its words change speaker.

A speaker's run shorter than ``MIN_RUN_SECONDS`` of a single word between words of another speaker is
the turns' edge, not a change of speaker: it takes its neighbours' speaker.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from transcriber.domain import Phrase, Word
from transcriber.voices.turns import Turn

MIN_RUN_SECONDS = 0.5


def speaker_id(index: int) -> str:
    return f"S{index + 1}"


def _speaker_of(start: float, end: float, turns: Sequence[Turn], starts: np.ndarray, ends: np.ndarray) -> int:
    overlap = np.minimum(ends, end) - np.maximum(starts, start)
    best = int(np.argmax(overlap))
    if overlap[best] > 0:
        return turns[best].speaker
    middle = (start + end) / 2
    distance = np.maximum(starts - middle, middle - ends)
    return turns[int(np.argmin(distance))].speaker


def _smoothed(words: Sequence[Word], who: list[int]) -> list[int]:
    """``who`` with a lone short word of another speaker between two of one speaker given to them."""
    out = list(who)
    for i in range(1, len(words) - 1):
        if out[i - 1] == out[i + 1] != out[i] and words[i].end - words[i].start < MIN_RUN_SECONDS:
            out[i] = out[i - 1]
    if len(words) >= 2 and out[0] != out[1] and words[0].end - words[0].start < MIN_RUN_SECONDS:
        out[0] = out[1]
    if len(words) >= 2 and out[-1] != out[-2] and words[-1].end - words[-1].start < MIN_RUN_SECONDS:
        out[-1] = out[-2]
    return out


def attributed(phrases: Sequence[Phrase], turns: Sequence[Turn]) -> list[Phrase]:
    """``phrases`` with their ``speaker`` (``S1``...), split where the speaker changes within one."""
    if not turns:
        return list(phrases)
    starts = np.asarray([t.start for t in turns])
    ends = np.asarray([t.end for t in turns])
    out: list[Phrase] = []
    for phrase in phrases:
        if not phrase.words:
            speaker = _speaker_of(phrase.start, phrase.end, turns, starts, ends)
            out.append(
                Phrase(phrase.start, phrase.end, phrase.text, (), phrase.language, speaker_id(speaker))
            )
            continue
        who = _smoothed(
            phrase.words, [_speaker_of(w.start, w.end, turns, starts, ends) for w in phrase.words]
        )
        first = 0
        for index in range(1, len(who) + 1):
            if index < len(who) and who[index] == who[first]:
                continue
            words = phrase.words[first:index]
            text = "".join(w.word for w in words).strip()
            start = phrase.start if first == 0 else words[0].start
            end = phrase.end if index == len(who) else words[-1].end
            out.append(Phrase(start, end, text, tuple(words), phrase.language, speaker_id(who[first])))
            first = index
    return out
