"""Measuring a freshly loaded model's speed on a bundled clip, so the first task has an ETA."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from transcriber.recognition import RecognitionSettings
from transcriber.transcription import Transcriber

log = logging.getLogger(__name__)

CLIP = Path(__file__).parents[1] / "data" / "calibration.mp3"
"""11 s of speech (licence: ``data/SOURCES.md``)."""


def measure(transcriber: Transcriber, settings: RecognitionSettings) -> tuple[float, float]:
    """(audio seconds, wall seconds) of transcribing the clip with ``settings`` and the loaded model.
    The prompt is left out: it is the user's text, not the clip's."""
    clip_settings = settings.model_copy(update={"initial_prompt": ""})
    started = time.monotonic()
    run = transcriber.transcribe(CLIP, clip_settings)
    for _ in run.phrases:
        pass
    return run.duration, time.monotonic() - started
