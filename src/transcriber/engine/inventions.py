"""Telling text Whisper invented over silence or noise from speech: pure functions, no model.

Whisper was trained on subtitles, so over silence, music or line noise it writes what subtitle files
end with ("Продолжение следует...", "Субтитры сделал DimaTorzok", "Thank you.", "Thanks for
watching!"), or low-confidence words. A phrase is dropped as invented when

- it is one of those known phrases (``KNOWN``, compared without case and punctuation) and it does not
  sound like speech: it lies mostly outside what the voice activity detector calls speech, or the model
  itself thought the window held no speech (``no_speech_prob`` over ``KNOWN_NO_SPEECH``), or its words
  are unsure (mean probability under ``KNOWN_MIN_PROBABILITY``); a real "Спасибо." at the end of a call
  is clear speech and stays;
- or it lies mostly outside speech and either every one of its words is low-probability (under
  ``LOW_PROBABILITY``) or there is nothing to hear: its span is quieter than ``SILENT_DBFS`` (-60 dBFS
  RMS, below any line noise; over digital silence Whisper writes "ouch" at probability 0.88).

A phrase that starts like a known one ("Подписывайтесь на канал и поддержите...") counts as known too
(``KNOWN_PREFIXES``): the rule that decides is whether it sounds like speech.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from transcriber.domain import Phrase

KNOWN_NO_SPEECH = 0.3
KNOWN_MIN_PROBABILITY = 0.6
LOW_PROBABILITY = 0.4
SILENT_DBFS = -60.0
MIN_SPEECH_SHARE = 0.5
"""Of a phrase's span, the share that must be speech (as the VAD hears it) for it to count as spoken."""

KNOWN = frozenset(
    {
        # Russian subtitle credits and endings
        "продолжение следует",
        "спасибо за просмотр",
        "спасибо за внимание",
        "подписывайтесь на канал",
        "ставьте лайки и подписывайтесь на канал",
        "до новых встреч",
        "субтитры подготовлены сообществом амара орг",
        # English
        "thank you",
        "thanks for watching",
        "thank you for watching",
        "please subscribe",
        "subscribe to my channel",
        "subtitles by the amara org community",
        "you",
        # German, Ukrainian
        "untertitel im auftrag des zdf 2017",
        "untertitel der amara org community",
        "vielen dank",
        "дякую за перегляд",
    }
)
KNOWN_PREFIXES = (
    "спасибо за просмотр",
    "подписывайтесь на канал",
    "ставьте лайки",
    "thanks for watching",
    "thank you for watching",
    "please subscribe",
    "субтитры сделал",
    "субтитры создавал",
    "субтитры делал",
    "редактор субтитров",
    "корректор а",
    "untertitel im auftrag",
    "untertitelung",
    "subtitles by",
)

_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalised(text: str) -> str:
    """Lower case, punctuation and extra spaces removed: ``"Продолжение следует..."`` ->
    ``"продолжение следует"``."""
    return " ".join(_NOT_WORD.sub(" ", text.lower().replace("ё", "е")).split())


def known_hallucination(text: str) -> bool:
    """Whether ``text`` is one of the phrases Whisper is known to write over silence."""
    plain = normalised(text)
    return bool(plain) and (plain in KNOWN or plain.startswith(KNOWN_PREFIXES))


@dataclass(frozen=True, slots=True)
class Evidence:
    """What is known about a phrase beside its text."""

    speech_share: float = 1.0
    """The share of its span that the voice activity detector calls speech (1.0 when not measured)."""
    no_speech_prob: float = 0.0
    """The model's probability that its window held no speech."""
    level_dbfs: float = 0.0
    """The span's loudness: RMS in dB below full scale (0.0 when not measured)."""


def invented(phrase: Phrase, evidence: Evidence) -> bool:
    """Whether ``phrase`` is text Whisper invented over silence or noise (see the module's docstring)."""
    if not phrase.text.strip():
        return False
    probabilities = [w.probability for w in phrase.words]
    outside_speech = evidence.speech_share < MIN_SPEECH_SHARE
    if known_hallucination(phrase.text):
        unsure = bool(probabilities) and sum(probabilities) / len(probabilities) < KNOWN_MIN_PROBABILITY
        return outside_speech or evidence.no_speech_prob > KNOWN_NO_SPEECH or unsure
    if not outside_speech:
        return False
    silent = evidence.level_dbfs < SILENT_DBFS
    return silent or (bool(probabilities) and max(probabilities) < LOW_PROBABILITY)


def speech_share(start: float, end: float, spans: Sequence[tuple[float, float]]) -> float:
    """The share of ``start..end`` covered by the speech ``spans`` (seconds, sorted, not overlapping);
    for an empty span, 1.0 if it lies inside speech, else 0.0."""
    if end <= start:
        return 1.0 if any(a <= start <= b for a, b in spans) else 0.0
    covered = sum(max(0.0, min(end, b) - max(start, a)) for a, b in spans)
    return min(covered / (end - start), 1.0)
