"""Telling invented text from speech, on phrases as the engine gives them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from transcriber.channels import level_dbfs
from transcriber.domain import Phrase, Word
from transcriber.engine.inventions import (
    SILENT_DBFS,
    Evidence,
    invented,
    known_hallucination,
    normalised,
    speech_share,
)


def phrase(text: str, probability: float | None = 0.9) -> Phrase:
    parts = text.split()
    words = (
        ()
        if probability is None
        else tuple(Word(float(i), i + 0.5, " " + part, probability) for i, part in enumerate(parts))
    )
    return Phrase(0.0, float(len(parts)), text, words)


@pytest.mark.parametrize(
    "text",
    [
        "Продолжение следует...",
        "ПРОДОЛЖЕНИЕ СЛЕДУЕТ",
        "Субтитры сделал DimaTorzok",
        "Субтитры создавал DimaTorzok",
        "Редактор субтитров А.Синецкая Корректор А.Егорова",
        "Thank you.",
        "Thanks for watching!",
        "Спасибо за просмотр!",
        "Untertitel im Auftrag des ZDF, 2017",
        "Подписывайтесь на канал и поддержите на канал!",  # what base wrote over -40 dBFS noise
    ],
)
def test_known_hallucinations(text: str) -> None:
    assert known_hallucination(text)


@pytest.mark.parametrize(
    "text", ["Спасибо.", "Продолжение следует в понедельник, в десять утра.", "Thank you for the order.", ""]
)
def test_ordinary_phrases_are_not_known_hallucinations(text: str) -> None:
    assert not known_hallucination(text)


def test_normalised() -> None:
    assert normalised("  Продолжение   следует... ") == "продолжение следует"
    assert normalised("Ещё!") == "еще"


def test_a_known_phrase_is_dropped_only_where_it_does_not_sound_like_speech() -> None:
    thanks = phrase("Thank you.")
    assert not invented(thanks, Evidence(speech_share=1.0, no_speech_prob=0.02))  # the end of a real call
    assert invented(thanks, Evidence(speech_share=0.1, no_speech_prob=0.02))  # over silence
    assert invented(thanks, Evidence(speech_share=1.0, no_speech_prob=0.5))  # the model heard no speech
    assert invented(phrase("Thank you.", probability=0.3), Evidence())  # unsure words
    assert not invented(phrase("Thank you.", probability=None), Evidence())  # no word timings: only evidence


def test_unsure_words_are_dropped_only_outside_speech() -> None:
    mumble = phrase("и вот это самое", probability=0.2)
    assert invented(mumble, Evidence(speech_share=0.2))
    assert not invented(mumble, Evidence(speech_share=0.9))  # quiet, unclear speech stays
    assert not invented(phrase("и вот это самое", probability=0.6), Evidence(speech_share=0.0))
    assert not invented(Phrase(0.0, 1.0, "  "), Evidence(speech_share=0.0))


def test_a_phrase_over_silence_is_dropped_however_sure_the_model_is() -> None:
    # over digital silence, with the VAD off, base wrote "ouch" at probability 0.88
    ouch = phrase("ouch", probability=0.88)
    assert invented(ouch, Evidence(speech_share=0.0, level_dbfs=-math.inf))
    assert invented(ouch, Evidence(speech_share=0.0, level_dbfs=SILENT_DBFS - 1))
    assert not invented(ouch, Evidence(speech_share=0.0, level_dbfs=-35.0))  # sure words over sound
    assert not invented(ouch, Evidence(speech_share=1.0, level_dbfs=-70.0))  # the VAD heard speech


def test_level_dbfs() -> None:
    assert level_dbfs(np.zeros(1600, dtype=np.float32)) == -math.inf
    assert level_dbfs(np.array([], dtype=np.float32)) == -math.inf
    assert level_dbfs(np.full(1600, 0.5, dtype=np.float32)) == pytest.approx(-6.02, abs=0.01)
    noise = np.random.default_rng(1).normal(0, 0.01, 16000).astype(np.float32)
    assert level_dbfs(noise) == pytest.approx(-40.0, abs=0.2)


def test_speech_share() -> None:
    spans = [(0.0, 1.0), (2.0, 3.0)]
    assert speech_share(0.0, 3.0, spans) == pytest.approx(2 / 3)
    assert speech_share(0.5, 2.5, spans) == pytest.approx(0.5)
    assert speech_share(3.5, 4.0, spans) == 0.0
    assert speech_share(0.2, 0.8, spans) == 1.0
    assert speech_share(2.5, 2.5, spans) == 1.0
    assert speech_share(1.5, 1.5, spans) == 0.0
    assert speech_share(0.0, 1.0, []) == 0.0
