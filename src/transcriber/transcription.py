"""What the worker needs from a speech recogniser, and what one hands back: no ML imports.

The worker, the tests' fake engines and the benchmarks name these types; only ``transcriber.engine``
implements them on faster-whisper.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from transcriber.domain import Phrase
from transcriber.recognition import RecognitionSettings


@dataclass(frozen=True, slots=True)
class LoadedModel:
    name: str
    path: str
    device: str
    compute_type: str
    multilingual: bool


@dataclass
class TranscriptionRun:
    """A transcription under way: what is known up front, and the phrases as they are decoded."""

    language: str | None
    language_probability: float | None
    duration: float  # from the container up front; the decoded length once ``phrases`` is exhausted
    phrases: Iterator[Phrase]
    undecoded_seconds: float = 0.0  # audio that could not be decoded; final once ``phrases`` is exhausted


class Transcriber(Protocol):
    """What the worker needs from an engine."""

    @property
    def loaded(self) -> LoadedModel | None: ...

    def load(self, settings: RecognitionSettings) -> LoadedModel: ...

    def unload(self) -> None: ...

    def transcribe(
        self, audio: Path, settings: RecognitionSettings, *, duration: float | None = None
    ) -> TranscriptionRun:
        """Start transcribing; ``duration``, when the caller already knows it (the upload was probed),
        saves reading the file once more."""
        ...
