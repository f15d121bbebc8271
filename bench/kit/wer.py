"""Word error rate: normalise both texts, then a word-level Levenshtein distance.

Normalisation: lower case, ``ё`` read as ``е``, every character that is not a letter or a digit
(punctuation, hyphens, slashes, apostrophes) becomes a space, spaces collapse. Numbers are compared as
words as they stand: "1961" and "nineteen sixty one" differ.
"""

from __future__ import annotations

from dataclasses import dataclass


def normalise(text: str) -> list[str]:
    lowered = text.lower().replace("ё", "е").replace("'", "").replace("’", "")
    cleaned = "".join(ch if ch.isalnum() else " " for ch in lowered)
    return cleaned.split()


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Substitutions + deletions + insertions turning ``reference`` into ``hypothesis`` (two-row DP)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_word in enumerate(hypothesis, start=1):
            current[j] = min(
                previous[j] + 1,  # deletion
                current[j - 1] + 1,  # insertion
                previous[j - 1] + (ref_word != hyp_word),  # substitution or match
            )
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class WordErrors:
    errors: int
    words: int

    @property
    def rate(self) -> float:
        return self.errors / self.words if self.words else 0.0

    def __add__(self, other: WordErrors) -> WordErrors:
        return WordErrors(self.errors + other.errors, self.words + other.words)


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    ref = normalise(reference)
    return WordErrors(edit_distance(ref, normalise(hypothesis)), len(ref))
