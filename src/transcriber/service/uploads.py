"""Uploads: a received file checked against the limits, probed, moved into the storage and recorded.

The bytes arrive through :class:`IncomingFile` (the API streams a request body into it); the
checks while they arrive are :func:`write_limited` and :class:`DiskGuard`. A file that is not
accepted leaves nothing behind: the caller discards the incoming file on any error.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from transcriber import media
from transcriber.config import LimitSettings
from transcriber.decoding import DecodeLimits, too_long_message
from transcriber.errors import InsufficientStorage, NotFound, RecordingTooLong, TooLarge
from transcriber.storage import IncomingFile, UploadStorage, display_name, new_upload_id, safe_extension
from transcriber.store import SqlTaskStore, UploadRecord

DISK_CHECK_EVERY = 32 * 1024**2


class DiskGuard:
    """Refuses an upload before and while it streams if the disk would drop below the free-space floor."""

    def __init__(self, folder: Path, min_free: int) -> None:
        self.folder = folder
        self.min_free = min_free
        self._next_check = 0

    def check(self, written: int) -> None:
        if written < self._next_check:
            return
        self._next_check = written + DISK_CHECK_EVERY
        if shutil.disk_usage(self.folder).free < self.min_free + DISK_CHECK_EVERY:
            raise InsufficientStorage(
                "not enough free disk space for the upload; free some space on the server "
                "(old uploads and tasks can be deleted through the API)"
            )


def open_guard(*, storage: UploadStorage, limits: LimitSettings) -> DiskGuard:
    """A guard for one upload, checked once before anything is received."""
    guard = DiskGuard(storage.root, limits.min_free_disk_bytes)
    guard.check(0)
    return guard


@contextmanager
def disk_errors() -> Iterator[None]:
    """An OS 'disk full' while writing becomes 507, not a 500."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage("the disk is full; the upload was not stored") from None
        raise


def write_limited(incoming: IncomingFile, data: bytes, max_bytes: int, guard: DiskGuard) -> None:
    if incoming.size + len(data) > max_bytes:
        raise TooLarge(
            f"the file is larger than the limit of {max_bytes / 1024**2:.1f} MiB "
            "(TRANSCRIBE_LIMITS__MAX_UPLOAD_BYTES)"
        )
    guard.check(incoming.size)
    with disk_errors():
        incoming.write(data)


def receive_upload(
    *,
    store: SqlTaskStore,
    storage: UploadStorage,
    limits: LimitSettings,
    incoming: IncomingFile,
    filename: str | None,
) -> UploadRecord:
    """Probe a received file; if it is audio we can decode, move it into storage and record it."""
    info = media.probe(incoming.path, limits=DecodeLimits.of(limits))
    longest = limits.max_duration_seconds
    if info.duration > longest:
        raise RecordingTooLong(too_long_message(info.duration, longest))
    upload_id = new_upload_id()
    name = display_name(filename)
    ext = media.file_extension(info.format, safe_extension(name))
    stored_name = f"{upload_id}.{ext}"
    storage.commit(incoming, stored_name)
    return store.add_upload(
        upload_id=upload_id,
        original_name=name,
        stored_name=stored_name,
        size=incoming.size,
        duration=info.duration,
        format=info.format,
        sha256=incoming.sha256,
    )


def get_upload(*, store: SqlTaskStore, upload_id: str) -> UploadRecord:
    record = store.get_upload(upload_id)
    if record is None:
        raise NotFound(f"upload {upload_id} not found")
    return record


def upload_file(*, store: SqlTaskStore, storage: UploadStorage, upload_id: str) -> tuple[UploadRecord, Path]:
    """An upload and the path of its file, for playback; the path comes from our own record, never
    from the client."""
    record = get_upload(store=store, upload_id=upload_id)
    path = storage.path_of(record.stored_name)
    if not path.is_file():
        raise NotFound(f"the file of upload {upload_id} is missing from the storage")
    return record, path


def delete_upload(*, store: SqlTaskStore, storage: UploadStorage, upload_id: str) -> None:
    """Delete an upload and its file; :class:`Conflict` while any task uses it."""
    record = store.delete_upload(upload_id)
    storage.remove(record.stored_name)
