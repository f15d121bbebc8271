"""Receiving a file from a request body, streamed to disk: multipart (``file`` field) or the bare body.

Nothing is held in memory beyond one chunk; the size limit is enforced while streaming; a file that is
not accepted leaves nothing behind.
"""

from __future__ import annotations

import errno
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

from fastapi import Request
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool

from transcriber import media
from transcriber.api.multipart import FormParser, boundary_of
from transcriber.config import LimitSettings
from transcriber.decoding import DecodeLimits, too_long_message
from transcriber.errors import BadRequest, InsufficientStorage, RecordingTooLong, TooLarge
from transcriber.storage import IncomingFile, UploadStorage, display_name, new_upload_id, safe_extension
from transcriber.store import SqlTaskStore, UploadRecord

FIELD = "file"
_FILENAME_STAR = re.compile(r"""filename\*\s*=\s*"?([^";]+)"?""", re.IGNORECASE)


def _decode_header(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def filename_from_disposition(value: bytes) -> tuple[str, str | None]:
    """The part's field name and file name (RFC 5987 ``filename*`` preferred; raw UTF-8 accepted)."""
    _kind, params = parse_options_header(value)
    name = _decode_header(params.get(b"name", b""))
    star = _FILENAME_STAR.search(_decode_header(value))
    if star:
        charset, _, rest = star.group(1).strip().partition("'")
        _lang, _, encoded = rest.partition("'")
        try:
            return name, unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass
    raw = params.get(b"filename")
    return name, _decode_header(raw) if raw is not None else None


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


@contextmanager
def disk_errors() -> Iterator[None]:
    """An OS 'disk full' while writing becomes 507, not a 500."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage("the disk is full; the upload was not stored") from None
        raise


class FileFieldSink:
    """Writes the first ``file`` part to an :class:`IncomingFile`, enforcing the size limit."""

    def __init__(self, incoming: IncomingFile, max_bytes: int, guard: DiskGuard) -> None:
        self.incoming = incoming
        self.max_bytes = max_bytes
        self.guard = guard
        self.filename: str | None = None
        self.found = False
        self._in_file = False

    def start_part(self, headers: dict[str, bytes]) -> None:
        field, filename = filename_from_disposition(headers.get("content-disposition", b""))
        self._in_file = field == FIELD and not self.found
        if self._in_file:
            self.found = True
            self.filename = filename

    def part_data(self, data: bytes) -> None:
        if self._in_file:
            write_limited(self.incoming, data, self.max_bytes, self.guard)

    def end_part(self) -> None:
        self._in_file = False


def write_limited(incoming: IncomingFile, data: bytes, max_bytes: int, guard: DiskGuard) -> None:
    if incoming.size + len(data) > max_bytes:
        raise TooLarge(
            f"the file is larger than the limit of {max_bytes / 1024**2:.1f} MiB "
            "(TRANSCRIBE_LIMITS__MAX_UPLOAD_BYTES)"
        )
    guard.check(incoming.size)
    with disk_errors():
        incoming.write(data)


def _guard(storage: UploadStorage, limits: LimitSettings) -> DiskGuard:
    guard = DiskGuard(storage.root, limits.min_free_disk_bytes)
    guard.check(0)
    return guard


async def receive_multipart(
    request: Request, *, store: SqlTaskStore, storage: UploadStorage, limits: LimitSettings
) -> UploadRecord:
    """Stream a multipart body's ``file`` field to disk, probe it, and register the upload."""
    boundary = boundary_of(request.headers.get("content-type", ""))
    guard = _guard(storage, limits)
    incoming = storage.incoming()
    sink = FileFieldSink(incoming, limits.max_upload_bytes, guard)
    parser = FormParser(boundary, sink)
    try:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(parser.write, chunk)
        parser.finalize()
        if not sink.found:
            raise BadRequest("the multipart body has no field named 'file'")
        with disk_errors():
            incoming.close()
        return await run_in_threadpool(
            store_upload,
            store=store,
            storage=storage,
            limits=limits,
            incoming=incoming,
            filename=sink.filename,
        )
    except ValueError as exc:  # python-multipart reports malformed bodies as ValueError subclasses
        incoming.discard()
        raise BadRequest(f"malformed multipart body: {exc}") from None
    except BaseException:
        incoming.discard()
        raise


def raw_file_name(request: Request, name: str | None) -> str | None:
    """The file name of a bare-body upload: the ``name`` query parameter, else ``X-File-Name``
    (percent-encoded UTF-8), else a ``filename`` in ``Content-Disposition``."""
    if name:
        return name
    header = request.headers.get("x-file-name")
    if header:
        return unquote(header, encoding="utf-8", errors="replace")
    disposition = request.headers.get("content-disposition")
    if disposition:
        return filename_from_disposition(disposition.encode("latin-1", errors="replace"))[1]
    return None


async def receive_raw(
    request: Request,
    *,
    store: SqlTaskStore,
    storage: UploadStorage,
    limits: LimitSettings,
    filename: str | None,
) -> UploadRecord:
    """Stream a bare request body (the whole body is the file) to disk, probe it, register it."""
    guard = _guard(storage, limits)
    incoming = storage.incoming()
    limit = limits.max_upload_bytes
    try:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(write_limited, incoming, chunk, limit, guard)
        with disk_errors():
            incoming.close()
        return await run_in_threadpool(
            store_upload, store=store, storage=storage, limits=limits, incoming=incoming, filename=filename
        )
    except BaseException:
        incoming.discard()
        raise


def store_upload(
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
