"""Where a worker gets a task's audio: the protocol, and the upload folder it reads by default.

A worker on the API's machine (or with the API host's upload folder mounted) reads the stored file in
place (:class:`StoredAudio`); a worker on another machine without a shared folder fetches a copy over
HTTP (``fetch.RemoteAudio``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from transcriber.errors import ServiceError
from transcriber.storage import UploadStorage
from transcriber.store import UploadRecord


class AudioUnreachable(Exception):
    """The audio cannot be had now for a reason that is not the task's (the API does not answer, or
    refuses this worker's key): the worker gives the task back to the queue and pauses ``pause`` s."""

    def __init__(self, detail: str, *, pause: float) -> None:
        super().__init__(detail)
        self.detail = detail
        self.pause = pause


class AudioSource(Protocol):
    def fetch(self, task_id: str, upload: UploadRecord, *, check: Callable[[], None]) -> Path:
        """A local file with the task's audio. ``check`` raises once the task must stop (cancelled, or
        the worker stopping); a slow source calls it between pieces of work. A :class:`ServiceError`
        fails the task (its audio cannot be had); :class:`AudioUnreachable` gives it back."""
        ...

    def release(self, task_id: str) -> None:
        """The task is over, whatever its outcome, and nothing reads its audio any more: drop any copy."""
        ...


class StoredAudio:
    """The upload folder itself: this machine's, or the API host's mounted here (``--storage``)."""

    def __init__(self, storage: UploadStorage) -> None:
        self.storage = storage

    def fetch(self, task_id: str, upload: UploadRecord, *, check: Callable[[], None]) -> Path:
        path = self.storage.path_of(upload.stored_name)
        if not path.is_file():
            raise ServiceError(f"the uploaded file {upload.original_name!r} is missing from storage")
        return path

    def release(self, task_id: str) -> None:
        """The stored file belongs to the upload, not to the task: it stays."""


def audio_source(audio: AudioSource | None, storage: UploadStorage | None) -> AudioSource:
    """``audio``, or else the upload folder ``storage`` read in place."""
    if audio is not None:
        return audio
    if storage is None:
        raise TypeError("a worker needs an upload storage or another audio source")
    return StoredAudio(storage)
