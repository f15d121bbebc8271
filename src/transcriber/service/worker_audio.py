"""A task's audio for the worker that runs it, when that worker is on another machine.

Only a task some worker has claimed (``IN_PROGRESS``) is served, and the file is found from the task's
own upload record, never from a name the client sends. The checksum is the SHA-256 recorded at upload;
an upload recorded without one has it computed once and kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from transcriber.domain import TaskStatus
from transcriber.errors import NotFound, TaskNotRunning
from transcriber.service.uploads import upload_file
from transcriber.storage import UploadStorage, file_sha256
from transcriber.store import SqlTaskStore, UploadRecord


@dataclass(frozen=True, slots=True)
class TaskAudio:
    upload: UploadRecord
    path: Path
    sha256: str
    """Of the whole file, lower-case hex."""


def running_task_audio(*, store: SqlTaskStore, storage: UploadStorage, task_id: str) -> TaskAudio:
    """The audio of a running task; :class:`NotFound` for an unknown task or a missing file,
    :class:`TaskNotRunning` while no worker runs the task."""
    task = store.get_task(task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    if task.status != TaskStatus.IN_PROGRESS:
        raise TaskNotRunning(
            f"task {task_id} is {task.status.value}: its audio is served only to the worker running it"
        )
    record, path = upload_file(store=store, storage=storage, upload_id=task.upload_id)
    sha256 = record.sha256
    if sha256 is None:
        sha256 = file_sha256(path)
        store.record_upload_sha256(record.id, sha256)
    return TaskAudio(upload=record, path=path, sha256=sha256)
