"""Records as the HTTP API shows them: the response models built from what the use cases return.

Shared by the routers (tasks, uploads) and the web UI's event stream, so none borrows another's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from transcriber.api.schemas import (
    CreatedTask,
    PhraseOut,
    QualityOut,
    Results,
    SpeakerOut,
    TaskOut,
    TaskPage,
    UploadOut,
    WarningOut,
    WordOut,
)
from transcriber.domain import Phrase, TaskStatus, task_warnings
from transcriber.service.tasks import TaskList, TaskView
from transcriber.storage import UploadStorage
from transcriber.store import TaskRecord, UploadRecord


def public_upload(record: UploadRecord, *, storage: UploadStorage) -> UploadOut:
    path = str(storage.path_of(record.stored_name))
    return UploadOut(
        id=record.id,
        stored_path=path,
        path=path,
        name=record.original_name,
        size=record.size,
        duration=record.duration,
        format=record.format,
        uploaded_at=record.created_at,
    )


def created_task(task: TaskRecord) -> CreatedTask:
    return CreatedTask(
        task_id=task.id,
        status=task.status,
        queue_position=task.queue_position,
        upload_id=task.upload_id,
        created_at=task.created_at,
    )


def task_out(view: TaskView) -> TaskOut:
    task = view.task
    results = None
    if view.phrases is not None:
        names = {s.id: s.name for s in task.speakers}
        results = Results(phrases=[phrase_out(p, names) for p in view.phrases])
    return TaskOut(
        task_id=task.id,
        status=task.status,
        queue_position=task.queue_position,
        progress=task.progress,
        progress_estimated=task.progress_estimated and task.status == TaskStatus.IN_PROGRESS,
        eta_seconds=view.eta_seconds,
        error=task.error,
        language=task.language,
        duration=task.duration,
        upload_id=task.upload_id,
        file_name=task.source_name,
        options=task.options,
        created_at=task.created_at,
        started_at=task.started_at,
        finished_at=task.finished_at,
        worker_id=task.worker_id,
        worker_host=task.worker_host,
        results=results,
        warnings=[
            WarningOut(code=w.code, seconds=w.seconds, message=w.message)
            for w in task_warnings(undecoded_seconds=task.undecoded_seconds)
        ],
        quality=QualityOut(redecoded=task.redecoded_windows or 0, dropped=task.dropped_phrases or 0),
        speakers=[SpeakerOut(id=s.id, name=s.name, channel=s.channel) for s in task.speakers],
    )


def task_page(tasks: TaskList, *, limit: int, offset: int) -> TaskPage:
    return TaskPage(tasks=[task_out(v) for v in tasks.views], total=tasks.total, limit=limit, offset=offset)


def phrase_out(phrase: Phrase, names: Mapping[str, str] | None = None) -> PhraseOut:
    """A phrase as the API shows it; ``words`` only when it has word timings, ``language`` only when it
    was detected for the phrase's own window, ``speaker`` (and its name from ``names``) only in a task
    split by speaker."""
    words = None
    if phrase.words:
        words = [
            WordOut(
                start=w.start,
                end=w.end,
                word=w.word,
                probability=w.probability if math.isfinite(w.probability) else None,
            )
            for w in phrase.words
        ]
    return PhraseOut(
        start=phrase.start,
        end=phrase.end,
        text=phrase.text,
        words=words,
        language=phrase.language,
        speaker=phrase.speaker,
        speaker_name=(names or {}).get(phrase.speaker, phrase.speaker) if phrase.speaker else None,
    )
