"""The domain vocabulary: task states, phrases and transcripts.

Imports neither FastAPI nor faster-whisper; every other module may import this one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class TaskStatus(StrEnum):
    """The closed set of task states (the seed's names, plus CANCELLED)."""

    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def finished(self) -> bool:
        return self in FINISHED_STATUSES


FINISHED_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})


@dataclass(frozen=True, slots=True)
class Phrase:
    """One recognised phrase with its time span in seconds from the start of the audio."""

    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class Transcript:
    """A finished (or partial) transcript as the exporters see it."""

    task_id: str
    language: str | None
    duration: float
    phrases: list[Phrase] = field(default_factory=list)
    source_name: str | None = None

    @property
    def text(self) -> str:
        return " ".join(p.text.strip() for p in self.phrases if p.text.strip())
