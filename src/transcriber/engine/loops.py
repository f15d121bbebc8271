"""Telling a decoding that repeats itself (Whisper's loop) from ordinary speech, and the better of two.

Pure functions over text: no model. Whisper decoding without a temperature fallback (the batched
pipeline) can lock into a loop and write the same words over and over ("... is distributed by the
company and is distributed by the company and ..."). Two signs, either one enough:

- a run of words comes back at once, again and again: ``MIN_COPIES`` (3) or more copies in a row of the
  same words, and at least ``MAX_REPEATED_WORDS`` (6) words in the copies after the first. A loop does
  that at once; ordinary speech does not ("да, да, да" is three copies of one word, three in all), and
  words said twice or far apart ("ask not what your country can do for you, ask what you can do for
  your country", or one clip heard twice in one window) are not copies in a row;
- the text compresses far too well: zlib's ratio over ``MAX_COMPRESSION`` (3.0). Whisper's own fallback
  retries above 2.4, but one 11 s clip heard twice in a 30 s window already compresses 2.5: above 3.0 is
  a loop that changes a word now and then.

Speech that really is said three times in a row (a phone queue's "ваш звонок очень важен для нас") is
found too: that is why a decoding again is kept only when it is better (``Repetition.better_than``),
and the caller keeps the first one otherwise.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

MAX_COMPRESSION = 3.0
MIN_COPIES = 3
MAX_REPEATED_WORDS = 6
MAX_PERIOD = 40  # the longest run of words looked for as a repeating unit

_WORD = re.compile(r"\w+", re.UNICODE)


def compression_ratio(text: str) -> float:
    """UTF-8 length over zlib-compressed length (what Whisper calls the compression ratio)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def words_of(text: str) -> list[str]:
    """The words of ``text``, lower-cased, without punctuation."""
    return [w.lower() for w in _WORD.findall(text)]


def repeated_words(words: list[str], min_copies: int = MIN_COPIES) -> int:
    """The most words repeated in a row: over every run of ``period`` words followed at once by copies
    of itself (``min_copies`` in all, or more), the words in the copies after the first; 0 if none."""
    best = 0
    count = len(words)
    for period in range(1, min(MAX_PERIOD, count // min_copies) + 1):
        run = 0  # words so far equal to the word one period earlier
        for index in range(period, count):
            if words[index] == words[index - period]:
                run += 1
                if run >= period * (min_copies - 1):
                    best = max(best, run - run % period)
            else:
                run = 0
    return best


@dataclass(frozen=True, slots=True)
class Repetition:
    """How much a window's text repeats itself."""

    compression: float
    repeated: int  # words repeated in a row (``repeated_words``)

    @property
    def looping(self) -> bool:
        return self.compression > MAX_COMPRESSION or self.repeated >= MAX_REPEATED_WORDS

    def better_than(self, other: Repetition) -> bool:
        """Whether this text is the better of two decodings of one window: not looping where the other
        loops; of two that loop, the one with fewer words repeated in a row. Of two that do not loop
        neither is better, so the first decoding stays."""
        if self.looping != other.looping:
            return not self.looping
        return self.looping and self.repeated < other.repeated


def repetition(text: str) -> Repetition:
    """How much ``text`` (one window's decoding) repeats itself."""
    return Repetition(compression_ratio(text), repeated_words(words_of(text)))
