"""Request and response models of the HTTP API (the seed's field names, plus additions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from transcriber.domain import TaskStatus


class UploadOut(BaseModel):
    id: str
    stored_path: str = Field(description="Pass this to /api/v1/create_task as file_path")
    name: str = Field(description="The original file name, for display")
    path: str = Field(description="Same as stored_path (the name used in /api/v1/uploads)")
    size: int
    duration: float | None = Field(description="Audio duration, seconds")
    format: str | None = None
    uploaded_at: datetime


class UploadList(BaseModel):
    files: list[UploadOut]


class TaskOptions(BaseModel):
    """Per-task options; each overrides the global setting for this task only."""

    model_config = ConfigDict(extra="forbid")

    language: str | None = Field(None, description="ISO code (ru, en, ...); empty = detect")
    task: Literal["transcribe", "translate"] | None = None
    model: str | None = Field(None, description="Model name, e.g. base, tiny.en, large-v3")
    beam_size: int | None = Field(None, ge=1, le=20)
    initial_prompt: str | None = Field(None, max_length=2000)
    word_timestamps: bool | None = Field(
        None, description="Time every word (phrases[].words); default: the WHISPER_WORD_TIMESTAMPS setting"
    )
    multilingual: bool | None = Field(
        None,
        description="Detect the language of every window, for recordings that switch languages "
        "(phrases[].language); default: the WHISPER_MULTILINGUAL setting",
    )
    channels: Literal["auto", "split", "mix"] | None = Field(
        None,
        description="A stereo call: split = each channel on its own, phrases[].speaker S1 (left) / S2 "
        "(right); mix = mixed to mono; auto = split when the channels are two parties; default: the "
        "WHISPER_CHANNELS setting",
    )
    diarize: bool | None = Field(
        None,
        description="Tell the speakers of a mono recording apart by voice (phrases[].speaker S1, S2... in "
        "the order first heard; phrases come at the end of the task); default: the WHISPER_DIARIZE setting",
    )
    num_speakers: int | None = Field(
        None, ge=0, le=32, description="With diarize: how many speakers; 0: found"
    )
    min_speakers: int | None = Field(
        None, ge=1, le=32, description="With diarize: at least this many speakers"
    )
    max_speakers: int | None = Field(
        None, ge=1, le=32, description="With diarize: at most this many speakers"
    )
    speaker_names: str | None = Field(
        None,
        max_length=3400,
        description="Names for the speakers, separated by commas, in the order of their ids (a stereo "
        "call: the left channel's party first, e.g. Оператор,Клиент); default: the WHISPER_SPEAKER_NAMES "
        "setting, else Спикер 1, Спикер 2...",
    )
    callback_url: str | None = Field(
        None,
        max_length=2048,
        description="Announce the task's end (task.completed, task.failed, task.cancelled) to this URL, "
        "signed as Standard Webhooks says; its host must be among TRANSCRIBE_WEBHOOKS__ALLOWED_HOSTS; "
        "default: TRANSCRIBE_WEBHOOKS__URL; empty: no webhook",
    )


class TranscribeParams(TaskOptions):
    """Query parameters of the one-call upload-and-create."""

    name: str | None = Field(None, max_length=1000, description="Original file name (URL-encoded UTF-8)")


class CreateTaskIn(TaskOptions):
    file_path: str | None = Field(None, description="stored_path returned by /api/v1/upload")
    upload_id: str | None = Field(None, description="id returned by /api/v1/upload (instead of file_path)")


class WordOut(BaseModel):
    start: float = Field(description="Seconds from the start of the recording")
    end: float
    word: str = Field(description="The word as recognised, with its leading space and punctuation")
    probability: float | None = Field(description="The model's confidence in the word, 0..1")


class PhraseOut(BaseModel):
    start: float
    end: float
    text: str
    words: list[WordOut] | None = Field(
        None, description="The phrase's words with their times; absent when word timestamps are off"
    )
    language: str | None = Field(
        None,
        description="The language detected for this phrase (ISO code); only in tasks that detect the "
        "language per window (multilingual), absent otherwise",
    )
    speaker: str | None = Field(
        None,
        description="Who said the phrase (S1, S2...: for a stereo call S1 is the left channel, S2 the "
        "right); only in tasks split by speaker, absent otherwise",
    )
    speaker_name: str | None = Field(
        None, description="The name of the phrase's speaker (see the task's speakers); with speaker only"
    )

    @model_serializer(mode="wrap")
    def _without_absent_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The seed's phrase is {start, end, text}: ``words``, ``language`` and ``speaker`` are added
        # only where set.
        data: dict[str, Any] = handler(self)
        for name in ("words", "language", "speaker", "speaker_name"):
            if getattr(self, name) is None:
                data.pop(name, None)
        return data


class Results(BaseModel):
    phrases: list[PhraseOut]


class SpeakerOut(BaseModel):
    id: str = Field(description="As phrases[].speaker carries it: S1, S2...")
    name: str = Field(description="The name shown for the speaker in the results and every export")
    channel: int | None = Field(
        None,
        description="The stereo channel of the speaker's party: 0 left, 1 right (a call split by channel)",
    )


class SpeakerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=32, description="The speaker's id (S1, S2...)")
    name: str | None = Field(
        max_length=100, description="The new name; null or empty: the default name (Спикер N) back"
    )


class TaskPatch(BaseModel):
    """What can be changed on a task once it exists."""

    model_config = ConfigDict(extra="forbid")

    speakers: list[SpeakerPatch] = Field(
        max_length=32, description="New names for the task's speakers, by id; the others keep theirs"
    )


class WarningOut(BaseModel):
    """Something the reader of a finished transcript must know (additive: new codes may appear)."""

    code: str = Field(description="undecodable_audio: part of the recording could not be decoded")
    seconds: float | None = Field(None, description="How much audio it concerns, seconds")
    message: str


class QualityOut(BaseModel):
    """What the guards against invented text did on this task (0 and 0 for a clean recording)."""

    redecoded: int = Field(
        0, description="Decoding windows whose text looped (repeated itself) and were decoded again"
    )
    dropped: int = Field(
        0, description="Phrases dropped as invented text: over silence or noise, or known hallucinations"
    )


class TaskOut(BaseModel):
    task_id: str
    status: TaskStatus
    queue_position: int | None = Field(description="0-based place among pending tasks; null otherwise")
    progress: float = Field(description="0..1")
    progress_estimated: bool = Field(
        False,
        description=(
            "true while progress is an estimate between the engine's checkpoints (moving at the "
            "expected speed), not audio known to be decoded; false at each real checkpoint"
        ),
    )
    eta_seconds: float | None = Field(
        description="seconds until done; for a running task from its first second, at the speed measured here"
    )
    error: str | None = None
    language: str | None = None
    duration: float | None = None
    upload_id: str
    file_name: str | None = None
    options: dict[str, object] = Field(default_factory=dict)
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    worker_id: str | None = Field(
        None, description="The worker that runs or ran the task (as in /health's workers); null while pending"
    )
    worker_host: str | None = Field(None, description="The host of that worker; null while pending")
    results: Results | None = Field(None, description="Present when COMPLETED")
    warnings: list[WarningOut] = Field(
        default_factory=list, description="Empty unless the transcript is not the whole recording"
    )
    quality: QualityOut = Field(default_factory=QualityOut)
    speakers: list[SpeakerOut] = Field(
        default_factory=list,
        description="Who speaks, in a task split by speaker (a stereo call by channel); empty otherwise",
    )


class TaskPage(BaseModel):
    tasks: list[TaskOut]
    total: int
    limit: int
    offset: int


class CreatedTask(BaseModel):
    task_id: str
    status: TaskStatus
    queue_position: int | None
    upload_id: str
    created_at: datetime


class ResetOut(BaseModel):
    cancelled: int
    model_generation: int


class DeletedOut(BaseModel):
    deleted: str


class ProblemOut(BaseModel):
    """Part of a request validation error."""

    loc: list[str | int]
    msg: str


class ErrorOut(BaseModel):
    """Every error: a stable machine-readable `code` and a `detail` that says what to fix."""

    code: str
    detail: str
    key: str | None = Field(None, description="The setting at fault (invalid_setting)")
    errors: list[ProblemOut] | None = Field(None, description="Each problem (invalid_request)")


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in {
        400: "Bad request (malformed body, a path outside storage, an empty file)",
        401: "An API key is required or not valid",
        404: "Not found",
        409: "Conflicts with the current state",
        413: "File too large or recording too long",
        415: "Not audio that can be decoded",
        422: "Invalid value",
        429: "Queue full (see Retry-After)",
        507: "Not enough disk space",
    }.items()
}
