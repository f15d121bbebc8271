"""Tests for transcriber.recognition: the WHISPER_* settings, their layering and validation."""

from __future__ import annotations

from typing import Any

import pytest

from transcriber.engine import decode_options
from transcriber.errors import InvalidInput, InvalidSettings
from transcriber.recognition import (
    KEYS,
    RecognitionSettings,
    apply_overrides,
    describe,
    from_environ,
    layered,
    normalise_update,
    public_dict,
    task_overrides,
)

SEED_DEFAULTS: dict[str, Any] = {
    "WHISPER_DEVICE": "auto",
    "WHISPER_MODEL": "base",
    "WHISPER_COMPUTE_TYPE": "auto",
    "WHISPER_LANGUAGE": "",
    "WHISPER_TASK": "transcribe",
    "WHISPER_BEAM": 8,
    "WHISPER_PATIENCE": 1.0,
    "WHISPER_LENGTH_PENALTY": 1.0,
    "WHISPER_CONDITION_PREV": True,
    "WHISPER_VAD_MIN_SIL_MS": 300,
    "WHISPER_PROMPT": "",
}
DEFAULTS: dict[str, Any] = {
    **SEED_DEFAULTS,
    "WHISPER_BEAM": 5,
    "WHISPER_BATCH_SIZE": 8,
    "WHISPER_WORD_TIMESTAMPS": True,
    "WHISPER_PHRASE_BOUNDARIES": "words",
    "WHISPER_MULTILINGUAL": False,
    "WHISPER_CHANNELS": "auto",
    "WHISPER_DIARIZE": False,
    "WHISPER_NUM_SPEAKERS": 0,
    "WHISPER_MIN_SPEAKERS": 1,
    "WHISPER_MAX_SPEAKERS": 8,
    "WHISPER_SPEAKER_NAMES": "",
}
"""The seed's eleven variables, plus our additions, with our defaults (beam 5 and batches of 8 were
chosen by bench/decoding.py; word timings cost what bench/words.py measures)."""

INVALID_VALUES = [
    ("WHISPER_BATCH_SIZE", "-1"),
    ("WHISPER_BATCH_SIZE", "65"),
    ("WHISPER_BEAM", "0"),
    ("WHISPER_BEAM", "x"),
    ("WHISPER_BEAM", "21"),
    ("WHISPER_DEVICE", "gpu"),
    ("WHISPER_TASK", "summarize"),
    ("WHISPER_LANGUAGE", "xx"),
    ("WHISPER_PATIENCE", "0"),
    ("WHISPER_PATIENCE", "-1.5"),
    ("WHISPER_LENGTH_PENALTY", "-0.1"),
    ("WHISPER_COMPUTE_TYPE", "fp8"),
    ("WHISPER_VAD_MIN_SIL_MS", "-1"),
    ("WHISPER_CONDITION_PREV", "maybe"),
    ("WHISPER_PROMPT", "x" * 2001),
]


# -- defaults and the environment ------------------------------------------------------------------


def test_defaults_are_the_seeds_but_faster_decoding() -> None:
    assert public_dict(RecognitionSettings()) == DEFAULTS
    assert public_dict(from_environ({})) == DEFAULTS
    changed = {k for k in SEED_DEFAULTS if DEFAULTS[k] != SEED_DEFAULTS[k]}
    assert changed == {"WHISPER_BEAM"}


def test_the_seeds_explicit_beam_8_still_means_beam_8() -> None:
    settings = from_environ({"WHISPER_BEAM": "8"})
    assert settings.beam_size == 8
    assert decode_options(settings, multilingual=True)["beam_size"] == 8
    sequential = from_environ({"WHISPER_BEAM": "8", "WHISPER_BATCH_SIZE": "0"})
    assert (sequential.beam_size, sequential.batch_size) == (8, 0)


def test_keys_are_the_seeds_eleven_plus_ours() -> None:
    assert set(SEED_DEFAULTS) <= set(KEYS)
    assert set(KEYS) == set(DEFAULTS)


def test_environment_strings_are_parsed_to_typed_values() -> None:
    settings = from_environ(
        {
            "WHISPER_BEAM": "7",
            "WHISPER_CONDITION_PREV": "false",
            "WHISPER_PATIENCE": "0.5",
            "WHISPER_LENGTH_PENALTY": "2",
            "WHISPER_VAD_MIN_SIL_MS": "0",
            "WHISPER_DEVICE": "cpu",
            "WHISPER_COMPUTE_TYPE": "int8",
            "WHISPER_TASK": "translate",
            "WHISPER_LANGUAGE": "de",
            "WHISPER_MODEL": " tiny.en ",
            "WHISPER_PROMPT": "Иванов, Петров",
        }
    )
    assert settings.beam_size == 7
    assert settings.condition_on_previous_text is False
    assert settings.patience == 0.5
    assert settings.length_penalty == 2.0
    assert settings.vad_min_silence_ms == 0
    assert settings.device == "cpu"
    assert settings.compute_type == "int8"
    assert settings.task == "translate"
    assert settings.language == "de"
    assert settings.model == "tiny.en"
    assert settings.initial_prompt == "Иванов, Петров"
    assert isinstance(settings.beam_size, int)
    assert isinstance(settings.vad_min_silence_ms, int)


@pytest.mark.parametrize("value", ["", "   ", "\t"])
def test_empty_environment_values_are_ignored(value: str) -> None:
    environ = dict.fromkeys(KEYS, value)
    assert public_dict(from_environ(environ)) == DEFAULTS


def test_unrelated_environment_variables_are_ignored() -> None:
    settings = from_environ({"PATH": "/usr/bin", "WHISPER_BEAMS": "3", "whisper_beam": "3"})
    assert settings.beam_size == 5


@pytest.mark.parametrize(("key", "value"), INVALID_VALUES)
def test_invalid_environment_value_names_its_key(key: str, value: str) -> None:
    with pytest.raises(InvalidSettings) as info:
        from_environ({key: value})
    assert info.value.key == key
    assert info.value.code == "invalid_setting"
    assert isinstance(info.value, InvalidInput)
    assert str(info.value).startswith(f"{key}: ")


def test_first_invalid_key_is_reported_among_valid_ones() -> None:
    with pytest.raises(InvalidSettings) as info:
        from_environ({"WHISPER_BEAM": "4", "WHISPER_DEVICE": "gpu", "WHISPER_MODEL": "small"})
    assert info.value.key == "WHISPER_DEVICE"


# -- language normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [("RU", "ru"), (" en ", "en"), ("Yue", "yue"), ("auto", ""), ("AUTO", ""), ("", "")],
)
def test_language_is_normalised(given: str, expected: str) -> None:
    assert RecognitionSettings(language=given).language == expected
    assert apply_overrides(RecognitionSettings(), {"WHISPER_LANGUAGE": given}).language == expected


def test_environment_language_is_normalised() -> None:
    assert from_environ({"WHISPER_LANGUAGE": "RU"}).language == "ru"
    assert from_environ({"WHISPER_LANGUAGE": "auto"}).language == ""


# -- updates from the API -----------------------------------------------------------------------------


def test_normalise_update_rejects_an_unknown_key() -> None:
    with pytest.raises(InvalidSettings) as info:
        normalise_update({"WHISPER_BEAM": 3, "WHISPER_TEMPERATURE": 0.2})
    assert info.value.key == "WHISPER_TEMPERATURE"
    assert "WHISPER_BEAM" in info.value.detail  # the message lists the known keys


def test_normalise_update_rejects_field_names_in_place_of_keys() -> None:
    with pytest.raises(InvalidSettings) as info:
        normalise_update({"beam_size": 3})
    assert info.value.key == "beam_size"


def test_normalise_update_maps_none_and_empty_to_reset() -> None:
    update = normalise_update(
        {"WHISPER_BEAM": None, "WHISPER_LANGUAGE": "", "WHISPER_PROMPT": "   ", "WHISPER_MODEL": "small"}
    )
    assert update == {
        "WHISPER_BEAM": None,
        "WHISPER_LANGUAGE": None,
        "WHISPER_PROMPT": None,
        "WHISPER_MODEL": "small",
    }


def test_normalise_update_keeps_falsy_non_string_values() -> None:
    update = normalise_update({"WHISPER_CONDITION_PREV": False, "WHISPER_VAD_MIN_SIL_MS": 0})
    assert update == {"WHISPER_CONDITION_PREV": False, "WHISPER_VAD_MIN_SIL_MS": 0}


def test_reset_values_fall_back_to_the_base() -> None:
    base = from_environ({"WHISPER_BEAM": "3", "WHISPER_LANGUAGE": "ru"})
    update = normalise_update({"WHISPER_BEAM": None, "WHISPER_LANGUAGE": ""})
    result = apply_overrides(base, update)
    assert result.beam_size == 3
    assert result.language == "ru"


# -- layering ----------------------------------------------------------------------------------------


def test_apply_overrides_returns_a_new_validated_object() -> None:
    base = RecognitionSettings()
    result = apply_overrides(
        base, {"WHISPER_BEAM": "4", "WHISPER_LANGUAGE": "RU", "WHISPER_CONDITION_PREV": "no"}
    )
    assert (result.beam_size, result.language, result.condition_on_previous_text) == (4, "ru", False)
    assert base == RecognitionSettings()  # the base is untouched (and frozen)
    with pytest.raises(ValueError, match="frozen"):
        base.beam_size = 2  # type: ignore[misc]


@pytest.mark.parametrize(("key", "value"), INVALID_VALUES)
def test_apply_overrides_rejects_invalid_values(key: str, value: str) -> None:
    with pytest.raises(InvalidSettings) as info:
        apply_overrides(RecognitionSettings(), {"WHISPER_BEAM": 2, key: value})
    assert info.value.key == key


def test_apply_overrides_rejects_an_unknown_key() -> None:
    with pytest.raises(InvalidSettings) as info:
        apply_overrides(RecognitionSettings(), {"WHISPER_NOPE": 1})
    assert info.value.key == "WHISPER_NOPE"


def test_apply_overrides_checks_native_types_too() -> None:
    with pytest.raises(InvalidSettings) as info:
        apply_overrides(RecognitionSettings(), {"WHISPER_BEAM": 2.5})
    assert info.value.key == "WHISPER_BEAM"
    with pytest.raises(InvalidSettings) as info:
        apply_overrides(RecognitionSettings(), {"WHISPER_LANGUAGE": 7})
    assert info.value.key == "WHISPER_LANGUAGE"


def test_whitespace_only_model_is_rejected() -> None:
    with pytest.raises(InvalidSettings) as info:
        apply_overrides(RecognitionSettings(), {"WHISPER_MODEL": "   "})
    assert info.value.key == "WHISPER_MODEL"


def test_layers_stack_environment_then_saved_then_task() -> None:
    base = from_environ({"WHISPER_BEAM": "3", "WHISPER_MODEL": "small", "WHISPER_DEVICE": "cpu"})
    saved = apply_overrides(base, {"WHISPER_BEAM": 6, "WHISPER_LANGUAGE": "en"})
    task = apply_overrides(saved, task_overrides({"beam_size": 1, "language": None, "model": None}))
    assert (task.device, task.model, task.language, task.beam_size) == ("cpu", "small", "en", 1)


def test_layered_stacks_saved_then_task_over_the_base() -> None:
    base = from_environ({"WHISPER_BEAM": "3", "WHISPER_MODEL": "small", "WHISPER_DEVICE": "cpu"})
    saved = {"WHISPER_BEAM": 6, "WHISPER_LANGUAGE": "en", "WHISPER_PROMPT": None}
    run = layered(base=base, saved=saved, task=task_overrides({"beam_size": 1, "language": None}))
    assert (run.device, run.model, run.language, run.beam_size, run.initial_prompt) == (
        "cpu",
        "small",
        "en",
        1,
        "",
    )
    assert layered(base=base, saved=saved) == apply_overrides(base, saved)
    assert layered(base=base) == base


def test_layered_refuses_a_bad_lower_layer_even_when_a_higher_one_overrides_it() -> None:
    with pytest.raises(InvalidSettings) as info:
        layered(base=RecognitionSettings(), saved={"WHISPER_BEAM": 0}, task={"WHISPER_BEAM": 2})
    assert info.value.key == "WHISPER_BEAM"


# -- per-task options ----------------------------------------------------------------------------------


def test_task_overrides_maps_option_names_to_keys() -> None:
    overrides = task_overrides(
        {
            "language": "RU",
            "beam_size": 2,
            "model": "tiny.en",
            "task": "translate",
            "initial_prompt": "Kubernetes, PostgreSQL",
        }
    )
    assert overrides == {
        "WHISPER_LANGUAGE": "RU",
        "WHISPER_BEAM": 2,
        "WHISPER_MODEL": "tiny.en",
        "WHISPER_TASK": "translate",
        "WHISPER_PROMPT": "Kubernetes, PostgreSQL",
    }
    settings = apply_overrides(RecognitionSettings(), overrides)
    assert settings.language == "ru"
    assert settings.beam_size == 2
    assert settings.model == "tiny.en"
    assert settings.task == "translate"
    assert settings.initial_prompt == "Kubernetes, PostgreSQL"


def test_task_overrides_skips_unset_options() -> None:
    assert task_overrides({"language": None, "beam_size": None}) == {}
    assert task_overrides({}) == {}


def test_invalid_task_option_is_reported_by_its_key() -> None:
    with pytest.raises(InvalidSettings) as info:
        apply_overrides(RecognitionSettings(), task_overrides({"beam_size": 0}))
    assert info.value.key == "WHISPER_BEAM"


# -- what the API and the UI show ----------------------------------------------------------------------


def test_public_dict_round_trips_through_overrides() -> None:
    settings = from_environ({"WHISPER_BEAM": "2", "WHISPER_PROMPT": "hello"})
    shown = public_dict(settings)
    assert list(shown) == list(KEYS)
    assert apply_overrides(RecognitionSettings(), shown) == settings


def test_engine_key_changes_only_with_model_device_and_compute() -> None:
    base = RecognitionSettings()
    assert apply_overrides(base, {"WHISPER_BEAM": 1}).engine_key() == base.engine_key()
    assert apply_overrides(base, {"WHISPER_MODEL": "small"}).engine_key() != base.engine_key()
    assert apply_overrides(base, {"WHISPER_DEVICE": "cpu"}).engine_key() != base.engine_key()
    assert apply_overrides(base, {"WHISPER_COMPUTE_TYPE": "int8"}).engine_key() != base.engine_key()


def test_describe_lists_every_key_with_default_and_description() -> None:
    rows = describe()
    assert [row["key"] for row in rows] == list(KEYS)
    assert len(rows) == len(DEFAULTS)
    assert {row["key"]: row["default"] for row in rows} == DEFAULTS
    for row in rows:
        assert isinstance(row["description"], str)
        assert len(row["description"]) > 10, row
    descriptions = {row["key"]: row["description"] for row in rows}
    assert "CUDA" in descriptions["WHISPER_DEVICE"]
    assert "greedy" in descriptions["WHISPER_BEAM"]
