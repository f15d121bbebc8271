"""What the worker needs from a speech recogniser, and what one hands back: no ML imports.

The worker, the tests' fake engines and the benchmarks name these types; only ``transcriber.engine``
implements them on faster-whisper.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from transcriber.domain import Phrase, Speaker
from transcriber.recognition import RecognitionSettings


@dataclass(frozen=True, slots=True)
class LoadedModel:
    name: str
    path: str
    device: str
    compute_type: str
    multilingual: bool


@dataclass
class DecodeProgress:
    """How far an engine has decoded, in seconds of the recording. The engine's decoding thread writes
    it and the worker reads it (plain floats: each read sees a whole value).

    ``decoded`` is a real checkpoint: everything before it is decoded, and its phrases have been or
    are about to be handed out. ``decoding`` is where the step under way will end (a batch's last
    chunk, a 30 s window): an estimate of progress must not pass it."""

    decoded: float = 0.0
    decoding: float = 0.0

    def step(self, *, start: float, end: float) -> None:
        """A decoding step from ``start`` to ``end`` begins (a batch of chunks, a window)."""
        self.decoded = max(self.decoded, start)
        self.decoding = max(self.decoding, end)

    def done(self, position: float) -> None:
        """Everything up to ``position`` is decoded."""
        self.decoded = max(self.decoded, position)
        self.decoding = max(self.decoding, self.decoded)


@dataclass
class TranscriptionRun:
    """A transcription under way: what is known up front, and the phrases as they are decoded."""

    language: str | None
    language_probability: float | None
    duration: float  # from the container up front; the decoded length once ``phrases`` is exhausted
    phrases: Iterator[Phrase]
    undecoded_seconds: float = 0.0  # audio that could not be decoded; final once ``phrases`` is exhausted
    redecoded: int = 0  # windows decoded again because their text looped; final once exhausted
    dropped: int = 0  # phrases dropped as invented text over silence or noise; final once exhausted
    progress: DecodeProgress = field(default_factory=DecodeProgress)
    speakers: tuple[Speaker, ...] = ()  # who the phrases' ``speaker`` ids are, when split by speaker


class Transcriber(Protocol):
    """What the worker needs from an engine."""

    @property
    def loaded(self) -> LoadedModel | None: ...

    def load(self, settings: RecognitionSettings) -> LoadedModel: ...

    def unload(self) -> None: ...

    def transcribe(
        self,
        audio: Path,
        settings: RecognitionSettings,
        *,
        duration: float | None = None,
        guard_loops: bool = True,
    ) -> TranscriptionRun:
        """Start transcribing; ``duration``, when the caller already knows it (the upload was probed),
        saves reading the file once more. ``guard_loops=False`` keeps a window that repeats itself as
        decoded, without decoding it again: only for audio that repeats on purpose (the calibration)."""
        ...
