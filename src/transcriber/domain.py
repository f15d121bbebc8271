"""The domain vocabulary: task and worker states, words, phrases and transcripts.

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


class WorkerState(StrEnum):
    """The closed set of worker states: what a worker records about itself, plus ``UNRESPONSIVE``,
    which only health reports derive (a worker whose heartbeat is older than the stale timeout).
    The UI has a label for each (``worker.<state>`` in static/i18n.js)."""

    STARTING = "starting"
    LOADING = "loading"
    IDLE = "idle"
    BUSY = "busy"
    ERROR = "error"
    STOPPED = "stopped"
    UNRESPONSIVE = "unresponsive"


TAKES_TASKS = frozenset({WorkerState.IDLE, WorkerState.BUSY, WorkerState.LOADING})
"""Workers that count for the queue's estimates: they take tasks now or will once a model is loaded."""
READY = frozenset({WorkerState.IDLE, WorkerState.BUSY})
"""Workers with a model loaded: the service is ready while one is."""


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word, timed in seconds from the start of the audio (file time).

    ``word`` is the text as Whisper gives it: usually with its leading space (``" hello"``), and
    with the punctuation that follows it (``" world."``); languages written without spaces have
    words without one.
    """

    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True, slots=True)
class Phrase:
    """One recognised phrase with its time span in seconds from the start of the audio.

    ``words`` is empty when the engine gave no word timings (older tasks, or word timestamps
    turned off). ``language`` is the language detected for the phrase's own window when the task
    detects it per window (``multilingual``); None otherwise (the task's language applies).
    ``speaker`` is who said it (``S1``, ``S2``...) when the recording was split by speaker (the two
    channels of a call); None otherwise.
    """

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    language: str | None = None
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class Speaker:
    """Someone who speaks in a recording: ``id`` as its phrases carry it (``S1``, ``S2``...), the
    ``name`` shown for it, and for a stereo call the ``channel`` its party is on (0 left, 1 right)."""

    id: str
    name: str
    channel: int | None = None


@dataclass(frozen=True, slots=True)
class TaskWarning:
    """Something a finished transcript's reader must know: it is not the whole recording."""

    code: str
    message: str
    seconds: float | None = None


UNDECODABLE_AUDIO = "undecodable_audio"


def task_warnings(*, undecoded_seconds: float | None) -> tuple[TaskWarning, ...]:
    """The warnings of a task from what its decoding found (none for a clean recording)."""
    if not undecoded_seconds:
        return ()
    seconds = round(undecoded_seconds, 1) or 0.1
    return (
        TaskWarning(
            code=UNDECODABLE_AUDIO,
            seconds=round(undecoded_seconds, 3),
            message=(
                f"{seconds:g} s of the audio could not be decoded (the file is damaged there) and were "
                "skipped; the transcript has gaps"
            ),
        ),
    )


@dataclass(frozen=True, slots=True)
class Transcript:
    """A finished (or partial) transcript as the exporters see it."""

    task_id: str
    language: str | None
    duration: float
    phrases: list[Phrase] = field(default_factory=list)
    source_name: str | None = None
    warnings: tuple[TaskWarning, ...] = ()
    speakers: tuple[Speaker, ...] = ()
    """Who speaks, when the recording was split by speaker; empty otherwise."""

    def speaker_name(self, speaker: str | None) -> str | None:
        """The name shown for the phrases of ``speaker`` (its id when it has no entry)."""
        if speaker is None:
            return None
        return next((s.name for s in self.speakers if s.id == speaker), speaker)

    @property
    def text(self) -> str:
        return " ".join(p.text.strip() for p in self.phrases if p.text.strip())
