"""Speakers' names: defaults, the comma-separated setting, renaming, and the stored form."""

from __future__ import annotations

import pytest

from transcriber.domain import Speaker
from transcriber.errors import Conflict, InvalidSettings, InvalidSpeaker
from transcriber.recognition import RecognitionSettings, apply_overrides
from transcriber.speakers import MAX_SPEAKERS, from_json, named, parse_names, renamed, to_json


def test_names_are_given_in_order_and_the_rest_get_a_default() -> None:
    assert parse_names("Оператор, Клиент") == ("Оператор", "Клиент")
    assert parse_names("  ") == ()
    assert parse_names(",Клиент") == ("", "Клиент")  # an empty item keeps its place
    assert named([("S1", 0), ("S2", 1)], parse_names(",Клиент")) == (
        Speaker("S1", "Спикер 1", 0),
        Speaker("S2", "Клиент", 1),
    )
    assert [s.name for s in named([("S1", None), ("S2", None), ("S3", None)], ("Анна",))] == [
        "Анна",
        "Спикер 2",
        "Спикер 3",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Оператор\tКлиент", "control characters"),
        ("x" * 101, "at most 100 characters"),
        (",".join(["a"] * (MAX_SPEAKERS + 1)), f"at most {MAX_SPEAKERS} names"),
    ],
)
def test_bad_names_are_refused_saying_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_names(text)
    with pytest.raises(InvalidSettings, match=f"WHISPER_SPEAKER_NAMES: .*{message}"):
        apply_overrides(RecognitionSettings(), {"WHISPER_SPEAKER_NAMES": text})


def test_the_setting_is_stored_normalised() -> None:
    settings = apply_overrides(RecognitionSettings(), {"WHISPER_SPEAKER_NAMES": " Оператор ,  Клиент  "})
    assert settings.speaker_names == "Оператор,Клиент"


def test_renaming_by_id_keeps_the_others_and_the_channels() -> None:
    speakers = named([("S1", 0), ("S2", 1)], ("Оператор", "Клиент"))
    assert renamed(speakers, {"S2": "Иван"}) == (Speaker("S1", "Оператор", 0), Speaker("S2", "Иван", 1))
    assert renamed(speakers, {"S1": "", "S2": None})[0].name == "Спикер 1"
    with pytest.raises(InvalidSpeaker, match="no speaker 'S9'"):
        renamed(speakers, {"S9": "Кто"})
    with pytest.raises(InvalidSpeaker, match="control characters or line breaks"):
        renamed(speakers, {"S1": "Опе\u2028ратор"})
    with pytest.raises(Conflict, match="no speakers"):
        renamed((), {"S1": "Оператор"})


def test_the_stored_form_round_trips() -> None:
    speakers = (Speaker("S1", "Оператор «Первый»", 0), Speaker("S2", "Спикер 2", None))
    stored = to_json(speakers)
    assert stored is not None
    assert "Оператор «Первый»" in stored  # readable in the database
    assert from_json(stored) == speakers
    assert to_json(()) is None
    assert from_json(None) == ()


def test_the_speaker_range_is_checked_naming_the_setting() -> None:
    with pytest.raises(InvalidSettings, match=r"WHISPER_MIN_SPEAKERS: .*is more than WHISPER_MAX_SPEAKERS"):
        apply_overrides(RecognitionSettings(), {"WHISPER_MIN_SPEAKERS": 5, "WHISPER_MAX_SPEAKERS": 3})
    with pytest.raises(InvalidSettings, match="WHISPER_NUM_SPEAKERS"):
        apply_overrides(RecognitionSettings(), {"WHISPER_NUM_SPEAKERS": 33})
    assert apply_overrides(RecognitionSettings(), {"WHISPER_DIARIZE": "true"}).diarize is True
