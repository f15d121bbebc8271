"""Phrases cut from words: where a decoding has no timestamp tokens, its boundaries come from the words.

Batched decoding without Whisper's timestamp tokens gives one text per speech chunk (up to 30 s); with
word timings that text is cut here into phrases of the kind Whisper's own segments are (a sentence or a
clause, a few seconds), so a transcript's rows read the same whichever way it was decoded.

Pure functions over the domain types. The rules, in order:

1. A long pause (``PAUSE_SECONDS``) always ends a phrase: nothing is shown over silence.
2. A sentence end (``.``, ``?``, ``!``, ``…``) ends a phrase once it is at least ``MIN_SECONDS`` long.
3. A phrase that would run past ``MAX_SECONDS`` is cut at its best point so far: the last sentence end,
   else the last clause mark (``,``, ``;``, ``:``, a dash), else the longest pause between its words;
   never inside a word.
4. A chunk's text can end inside a sentence (a chunk is cut where 30 s of speech are full): its last
   phrase is then joined to the next chunk's text when that follows without a pause (``PhraseJoiner``),
   and the rules above cut the whole again.
"""

from __future__ import annotations

from collections.abc import Sequence

from transcriber.domain import Phrase, Word

PAUSE_SECONDS = 1.0
MIN_SECONDS = 1.5
MAX_SECONDS = 10.0

_SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")
_CLAUSE_END = (",", ";", ":", "—", "–", "、", "，", "；")
_CLOSING = "\"'»”)]"  # quotes and brackets that may follow a sentence's mark


def _ends(word: Word, marks: tuple[str, ...]) -> bool:
    return word.word.rstrip().rstrip(_CLOSING).endswith(marks)


def split_phrase(
    phrase: Phrase,
    *,
    pause_seconds: float = PAUSE_SECONDS,
    min_seconds: float = MIN_SECONDS,
    max_seconds: float = MAX_SECONDS,
) -> list[Phrase]:
    """``phrase`` cut into phrases at its words (see the module's rules); a phrase without words, or
    already one phrase by the rules, is returned as it is. The words, their times and the language are
    kept; each new phrase's text is its words' text."""
    words = phrase.words
    if len(words) < 2:
        return [phrase]
    groups: list[list[Word]] = [[]]
    for index, word in enumerate(words):
        group = groups[-1]
        while group and word.end - group[0].start > max_seconds:  # each cut leaves fewer words
            cut = _best_cut(group)
            groups[-1], group = group[:cut], group[cut:]
            groups.append(group)
        group.append(word)
        following = words[index + 1] if index + 1 < len(words) else None
        if following is None:
            break
        pause = following.start - word.end
        long_enough = word.end - group[0].start >= min_seconds
        if pause >= pause_seconds or (long_enough and _ends(word, _SENTENCE_END)):
            groups.append([])
    groups = [g for g in groups if g]
    if len(groups) == 1:
        return [phrase]
    return [_phrase(group, phrase.language) for group in groups]


def _best_cut(group: Sequence[Word]) -> int:
    """Where to cut ``group`` (the index of the first word of the second part: 1..len-1; len for a
    single word, which stays whole)."""
    for marks in (_SENTENCE_END, _CLAUSE_END):
        for index in range(len(group) - 1, 0, -1):
            if _ends(group[index - 1], marks):
                return index
    gaps = [(group[i].start - group[i - 1].end, i) for i in range(1, len(group))]
    return max(gaps)[1] if gaps else len(group)


def _phrase(words: Sequence[Word], language: str | None) -> Phrase:
    text = "".join(w.word for w in words).strip()
    return Phrase(start=words[0].start, end=words[-1].end, text=text, words=tuple(words), language=language)


class PhraseJoiner:
    """Phrases cut at words across the chunks of a decoding, fed one chunk's text at a time (in order):
    the last phrase of a chunk is held back until the next chunk shows whether it goes on."""

    def __init__(self, *, pause_seconds: float = PAUSE_SECONDS) -> None:
        self._pause = pause_seconds
        self._held: Phrase | None = None

    def add(self, whole: Phrase) -> list[Phrase]:
        """The phrases finished by ``whole`` (a chunk's text with its words)."""
        out: list[Phrase] = []
        held, self._held = self._held, None
        if held is not None and self._goes_on(held, whole):
            whole = _joined(held, whole)
        elif held is not None:
            out.append(held)
        *done, last = split_phrase(whole)
        out += done
        if last.words:
            self._held = last
        else:
            out.append(last)
        return out

    def flush(self) -> list[Phrase]:
        """The phrase held back, at the end of the decoding."""
        held, self._held = self._held, None
        return [held] if held is not None else []

    def _goes_on(self, held: Phrase, whole: Phrase) -> bool:
        if not whole.words or _ends(held.words[-1], _SENTENCE_END):
            return False
        return whole.words[0].start - held.words[-1].end < self._pause and whole.language == held.language


def _joined(first: Phrase, second: Phrase) -> Phrase:
    return _phrase(first.words + second.words, first.language)
