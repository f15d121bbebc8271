"""faster-whisper's ``transcribe()`` options from our recognition settings."""

from __future__ import annotations

from typing import Any

from faster_whisper.vad import VadOptions

from transcriber.recognition import RecognitionSettings

WINDOW = 30.0  # seconds of audio Whisper decodes at once
NARROWBAND_RATE = 8000  # telephone audio: recorded at this sample rate or lower
NARROWBAND_VAD_THRESHOLD = 0.25  # Silero's speech probability that counts as speech in such audio
"""Measured on the repository's real recordings sent through 8 kHz G.711 (μ-law) and back, against the
speech the VAD hears in the 16 kHz original: at Silero's default 0.5 it heard 91.7-100 % of it (the
stereo call's left party lost 8.3 %), at 0.35 still 91.7 %, at 0.25 all of it on every file, with up
to 12 % more around it (the 1961 jfk recording's crowd). See docs/performance.md."""


def decode_options(
    settings: RecognitionSettings, *, multilingual: bool, narrowband: bool = False
) -> dict[str, Any]:
    """faster-whisper's transcribe() options for ``settings`` (an English-only model is told so; with
    per-window detection the file's language is the first window's, whatever ``language`` says; a
    ``narrowband`` recording, telephone audio, gets the VAD threshold that suits it)."""
    per_window = settings.multilingual and multilingual  # then every window's language is detected
    options: dict[str, Any] = {
        "language": None if per_window else (settings.language or None) if multilingual else "en",
        "task": settings.task if multilingual else "transcribe",
        "beam_size": settings.beam_size,
        "patience": settings.patience,
        "length_penalty": settings.length_penalty,
        "condition_on_previous_text": settings.condition_on_previous_text,
        "initial_prompt": settings.initial_prompt or None,
        "vad_filter": settings.vad_min_silence_ms > 0,
        "word_timestamps": settings.word_timestamps,
        "multilingual": per_window,
    }
    if settings.vad_min_silence_ms > 0:
        options["vad_parameters"] = {"min_silence_duration_ms": settings.vad_min_silence_ms}
        if narrowband:
            options["vad_parameters"]["threshold"] = NARROWBAND_VAD_THRESHOLD
    return options


def batched_vad(options: dict[str, Any]) -> VadOptions:
    """The VAD options faster-whisper's batched pipeline uses with ``options`` (its chunk length is
    Whisper's window)."""
    return VadOptions(**options["vad_parameters"], max_speech_duration_s=WINDOW)
