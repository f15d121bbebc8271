"""Recordings that switch languages: with ``multilingual`` each window is decoded in the language
detected for it and each phrase says which; by default one language for the whole file."""

from __future__ import annotations

import json
from pathlib import Path

import faster_whisper
import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from tests.conftest import JFK_TEXT, real_harness, repo_audio
from transcriber.config import Settings
from transcriber.engine import WhisperTranscriber
from transcriber.engine.languages import language_code
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings

SWITCH = 30.0  # multilingual.mp3: the MIT licence read in English, then in German from about 30 s


def test_language_token_gives_its_code() -> None:
    assert language_code("<|de|>") == "de"
    assert language_code("<|haw|>") == "haw"
    assert language_code("ru") == "ru"


@pytest.fixture(scope="module")
def engine(models_dir: Path) -> WhisperTranscriber:
    return WhisperTranscriber(ModelCatalog(models_dir), cpu_threads=2)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "language", "chunks"), [("jfk.flac", "en", 1), ("multilingual.mp3", "en", 2)]
)
def test_the_files_language_is_detected_on_its_first_chunk_encoded_once(
    engine: WhisperTranscriber, monkeypatch: pytest.MonkeyPatch, name: str, language: str, chunks: int
) -> None:
    """Batched, the language is detected on the first chunk, whose encoder output the first batch
    then takes: the encoder runs once per chunk (faster-whisper encodes 30 s more for the detection),
    and the language and its probability are those faster-whisper finds."""
    passes: list[int] = []
    real_encode = faster_whisper.WhisperModel.encode

    def counting(self: faster_whisper.WhisperModel, features: np.ndarray) -> object:
        passes.append(1 if features.ndim == 2 else len(features))
        return real_encode(self, features)

    monkeypatch.setattr(faster_whisper.WhisperModel, "encode", counting)
    audio = repo_audio(name)
    run = engine.transcribe(audio, RecognitionSettings(model="base", beam_size=1, batch_size=8))
    text = " ".join(p.text for p in run.phrases)
    assert (run.language, sum(passes)) == (language, chunks), passes
    assert run.language_probability is not None
    assert run.language_probability > 0.5
    if name == "jfk.flac":
        assert JFK_TEXT in text.lower().replace(",", "")
    monkeypatch.setattr(faster_whisper.WhisperModel, "encode", real_encode)
    assert engine._model is not None
    detected, probability, _ = engine._model.detect_language(decode_audio(audio), vad_filter=True)
    assert detected == run.language
    assert probability == pytest.approx(run.language_probability, abs=0.1)


@pytest.mark.slow
@pytest.mark.parametrize("batch_size", [8, 0], ids=["batched", "sequential"])
def test_each_window_is_decoded_in_its_own_language(engine: WhisperTranscriber, batch_size: int) -> None:
    audio = repo_audio("multilingual.mp3")
    settings = RecognitionSettings(model="base", beam_size=5, batch_size=batch_size)
    one = list(engine.transcribe(audio, settings).phrases)
    # one language per file (the default): the German half comes out in English, no phrase has a language
    assert {p.language for p in one} == {None}
    assert "Recht" not in " ".join(p.text for p in one if p.start > SWITCH)

    run = engine.transcribe(audio, settings.model_copy(update={"multilingual": True}))
    phrases = list(run.phrases)
    assert run.language == "en"  # the file's language: its first window's
    english = [p for p in phrases if p.end <= SWITCH]
    german = [p for p in phrases if p.start > SWITCH]
    assert english, phrases
    assert german, phrases
    assert {p.language for p in english} == {"en"}, [(p.start, p.language, p.text) for p in phrases]
    assert {p.language for p in german} == {"de"}, [(p.start, p.language, p.text) for p in phrases]
    assert "Permission is hereby granted" in " ".join(p.text for p in english)
    german_text = " ".join(p.text for p in german)
    for word in ("Software", "Recht", "Bedingungen"):
        assert word in german_text, german_text
    assert all(p.words for p in phrases)  # word timings as usual


@pytest.mark.slow
def test_a_multilingual_task_shows_each_phrases_language(settings: Settings, models_dir: Path) -> None:
    audio = repo_audio("multilingual.mp3")
    with real_harness(settings, models_dir) as harness:
        mixed = harness.transcribe(audio, model="base", multilingual=True)
        plain = harness.transcribe(repo_audio("jfk.flac"))
        exported = harness.client.get(f"/export/{mixed['task_id']}.json")
        plain_export = harness.client.get(f"/export/{plain['task_id']}.json")
    assert mixed["status"] == "COMPLETED", mixed
    languages = [(p["start"] > SWITCH, p["language"]) for p in mixed["results"]["phrases"]]
    assert {language for after, language in languages if not after} == {"en"}, languages
    assert {language for after, language in languages if after} == {"de"}, languages
    assert mixed["language"] == "en"
    assert exported.status_code == 200, exported.text
    document = json.loads(exported.text)
    assert [p["language"] for p in document["phrases"]] == [
        p["language"] for p in mixed["results"]["phrases"]
    ]
    # a task with one language per file keeps the seed's phrase shape (plus words)
    assert plain["status"] == "COMPLETED", plain
    assert all("language" not in p for p in plain["results"]["phrases"])
    assert all("language" not in p for p in json.loads(plain_export.text)["phrases"])
