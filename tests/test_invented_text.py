"""No invented text, on real recordings with the real model: a loop decoded again, nothing written
over silence and noise, and the task saying what the guards did."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import real_harness, repo_audio
from transcriber.config import Settings
from transcriber.engine import WhisperTranscriber
from transcriber.engine.loops import repetition
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings

SAMPLE_RATE = 16_000


@pytest.mark.slow
def test_the_german_half_comes_out_without_a_loop(settings: Settings, models_dir: Path) -> None:
    # faster-whisper's batched pipeline once wrote "... is distributed by the company and is
    # distributed by the company ..." five times over the German half of multilingual.mp3 with base
    with real_harness(settings, models_dir) as harness:
        status = harness.transcribe(repo_audio("multilingual.mp3"), model="base", beam_size=5)
    assert status["status"] == "COMPLETED", status
    phrases = status["results"]["phrases"]
    german = [p for p in phrases if p["start"] >= 30.0]
    assert german, phrases
    for phrase in phrases:
        assert not repetition(phrase["text"]).looping, phrase["text"]
    assert not repetition(" ".join(p["text"] for p in german)).looping
    assert status["quality"]["dropped"] == 0, status["quality"]
    # the English half is all there (nothing dropped as invented)
    english = " ".join(p["text"] for p in phrases if p["start"] < 30.0)
    assert "Permission is hereby granted" in english
    assert "substantial portions" in english


def looping(phrases: list[str]) -> list[str]:
    return [text for text in phrases if repetition(text).looping]


@pytest.mark.slow
def test_a_looping_window_is_decoded_again_and_the_task_counts_it(
    settings: Settings, models_dir: Path
) -> None:
    # the English-only tiny.en hearing German loops in the batched pipeline ("tuh-tuh-tuh-..." twenty
    # times): without the guard the loop is kept
    audio = repo_audio("multilingual.mp3")
    engine = WhisperTranscriber(ModelCatalog(models_dir), cpu_threads=2)
    tiny = RecognitionSettings(WHISPER_MODEL="tiny.en", WHISPER_BEAM=1)
    unguarded = engine.transcribe(audio, tiny, guard_loops=False)
    assert looping([p.text for p in unguarded.phrases]), "the loop this test guards against is gone"
    assert unguarded.redecoded == 0
    # real_harness decodes with tiny.en, beam 1: the same loop, decoded again
    with real_harness(settings, models_dir) as harness:
        status = harness.transcribe(audio)
    assert status["status"] == "COMPLETED", status
    phrases = status["results"]["phrases"]
    assert looping([p["text"] for p in phrases]) == [], phrases
    assert status["quality"]["redecoded"] >= 1, status["quality"]
    # the re-decoded window still has its speech: phrases through the German half to its end
    assert max(p["end"] for p in phrases) > 55.0, phrases
    assert len([p for p in phrases if p["start"] >= 30.0]) >= 3, phrases


def silence_and_noise(out: Path) -> Path:
    """20 s of digital silence, then 40 s of white noise at about -41 dBFS."""
    noise = np.random.default_rng(7).normal(0, 300, 40 * SAMPLE_RATE)
    samples = np.concatenate([np.zeros(20 * SAMPLE_RATE), noise]).clip(-32768, 32767).astype(np.int16)
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.tobytes())
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [
        {},  # the defaults: batched, VAD on
        {"batch_size": 0, "vad_min_silence_ms": 0},  # sequential with the VAD off: Whisper hears it all
        {"batch_size": 0, "vad_min_silence_ms": 0, "language": "ru"},
    ],
    ids=["batched", "sequential-no-vad", "sequential-no-vad-ru"],
)
def test_a_minute_of_silence_and_low_noise_gives_no_text(
    models_dir: Path, tmp_path: Path, options: dict[str, object]
) -> None:
    engine = WhisperTranscriber(ModelCatalog(models_dir), cpu_threads=2)
    run = engine.transcribe(silence_and_noise(tmp_path / "quiet.wav"), RecognitionSettings(**options))
    phrases = list(run.phrases)
    assert run.duration == pytest.approx(60.0)
    assert phrases == [], [(p.start, p.text) for p in phrases]
