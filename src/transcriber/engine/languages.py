"""The language of each decoding window, for recordings that switch languages.

faster-whisper's ``multilingual`` option detects the language of every window (each 30 s window of
sequential decoding, each speech chunk of a batch) and decodes it in that language, but its segments
do not say which language that was. Here a segment is tagged with it: :func:`segment_language` reads
the tag, None when the language was detected once for the whole file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from faster_whisper.audio import pad_or_trim

from transcriber.engine.encoder import SlicedEncoderModel

LANGUAGE_TAG = "detected_language"  # the attribute a faster-whisper Segment is given


def tag(segment: Any, language: str | None) -> Any:
    """``segment`` (faster-whisper's ``Segment``) carrying ``language``."""
    setattr(segment, LANGUAGE_TAG, language)
    return segment


def segment_language(segment: Any) -> str | None:
    """The language detected for the window ``segment`` came from; None if it was not detected per
    window (the file's language applies)."""
    language = getattr(segment, LANGUAGE_TAG, None)
    return language if isinstance(language, str) and language else None


def language_code(token: str) -> str:
    """``de`` from Whisper's language token ``<|de|>``."""
    return token[2:-2] if token.startswith("<|") and token.endswith("|>") else token


def first_chunk_language(model: SlicedEncoderModel, audio: np.ndarray) -> tuple[str, float] | None:
    """The language of a recording and its probability, detected on the first chunk the batched
    decoder will decode (``audio``: that chunk's speech), whose encoder output is remembered for that
    decoding; faster-whisper would encode the first 30 s of speech once more for the detection."""
    if not len(audio):
        return None
    features = pad_or_trim(model.feature_extractor(audio)[..., :-1])  # as the batched pipeline does
    token, probability = model.model.detect_language(model.remember(features))[0][0]
    return language_code(token), float(probability)


class EngineModel(SlicedEncoderModel):
    """The model the service decodes with: sequential decoding tags each segment with the language
    detected for its window when the options ask for per-window detection.

    faster-whisper sets the window's language on the tokenizer just before decoding the window and
    yields the window's segments before it detects the next one, so the tokenizer names each
    segment's language at the moment it is yielded."""

    def generate_segments(
        self,
        features: Any,
        tokenizer: Any,
        options: Any,
        log_progress: bool = False,
        encoder_output: Any = None,
    ) -> Iterator[Any]:
        segments = super().generate_segments(features, tokenizer, options, log_progress, encoder_output)
        for segment in segments:
            yield tag(segment, tokenizer.language_code if options.multilingual else None)
