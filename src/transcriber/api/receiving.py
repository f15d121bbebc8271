"""Receiving a file from a request body, streamed to disk: multipart (``file`` field) or the bare body.

Nothing is held in memory beyond one chunk; the size limit is enforced while streaming; a file that is
not accepted leaves nothing behind. What happens to the bytes (the limits, the disk-space floor, the
probe, the record) is the use case's, :mod:`transcriber.service.uploads`; this module only reads HTTP.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import unquote

from fastapi import Query, Request
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool

from transcriber.api.multipart import FormParser, boundary_of
from transcriber.config import LimitSettings
from transcriber.errors import BadRequest
from transcriber.service.uploads import DiskGuard, disk_errors, open_guard, receive_upload, write_limited
from transcriber.storage import IncomingFile, UploadStorage
from transcriber.store import SqlTaskStore, UploadRecord

FIELD = "file"
MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD],
                    "properties": {FIELD: {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}
RAW_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("application/octet-stream", "audio/*", "video/*")
        },
    }
}
FileName = Annotated[
    str | None,
    Query(description="Original file name (UTF-8, URL-encoded); or send header X-File-Name", max_length=1000),
]
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


MAX_FORM_FIELDS = 32
"""Parts besides the file a form may have (OpenAI's form has seven kinds)."""
MAX_FIELD_BYTES = 16 * 1024
"""The longest text field of a form (a prompt is at most a few thousand characters)."""


class FileFieldSink:
    """Writes the first ``file`` part to an :class:`IncomingFile`, enforcing the size limit; the other
    text parts are kept in ``fields`` (at most :data:`MAX_FORM_FIELDS` of :data:`MAX_FIELD_BYTES`)."""

    def __init__(self, incoming: IncomingFile, max_bytes: int, guard: DiskGuard) -> None:
        self.incoming = incoming
        self.max_bytes = max_bytes
        self.guard = guard
        self.filename: str | None = None
        self.found = False
        self.fields: dict[str, list[str]] = {}
        self._in_file = False
        self._field: str | None = None
        self._value = bytearray()
        self._field_count = 0

    def start_part(self, headers: dict[str, bytes]) -> None:
        field, filename = filename_from_disposition(headers.get("content-disposition", b""))
        self._in_file = field == FIELD and not self.found
        if self._in_file:
            self.found = True
            self.filename = filename
        elif field != FIELD and filename is None:  # a text field; other files are skipped, unread
            self._field_count += 1
            if self._field_count > MAX_FORM_FIELDS:
                raise BadRequest(f"the form has more than {MAX_FORM_FIELDS} fields besides 'file'")
            self._field = field

    def part_data(self, data: bytes) -> None:
        if self._in_file:
            write_limited(self.incoming, data, self.max_bytes, self.guard)
        elif self._field is not None:
            self._value += data
            if len(self._value) > MAX_FIELD_BYTES:
                raise BadRequest(f"the form field {self._field!r} is longer than {MAX_FIELD_BYTES} bytes")

    def end_part(self) -> None:
        if self._field is not None:
            self.fields.setdefault(self._field, []).append(_decode_header(bytes(self._value)))
        self._in_file = False
        self._field = None
        self._value.clear()


async def receive_multipart(
    request: Request, *, store: SqlTaskStore, storage: UploadStorage, limits: LimitSettings
) -> UploadRecord:
    """Stream a multipart body's ``file`` field to disk, probe it, and register the upload."""
    record, _fields = await receive_form(request, store=store, storage=storage, limits=limits)
    return record


async def receive_form(
    request: Request, *, store: SqlTaskStore, storage: UploadStorage, limits: LimitSettings
) -> tuple[UploadRecord, dict[str, list[str]]]:
    """:func:`receive_multipart`, also giving the form's other fields (name -> values, in order)."""
    boundary = boundary_of(request.headers.get("content-type", ""))
    guard = open_guard(storage=storage, limits=limits)
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
        record = await run_in_threadpool(
            receive_upload,
            store=store,
            storage=storage,
            limits=limits,
            incoming=incoming,
            filename=sink.filename,
        )
        return record, sink.fields
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
    guard = open_guard(storage=storage, limits=limits)
    incoming = storage.incoming()
    limit = limits.max_upload_bytes
    try:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(write_limited, incoming, chunk, limit, guard)
        with disk_errors():
            incoming.close()
        return await run_in_threadpool(
            receive_upload, store=store, storage=storage, limits=limits, incoming=incoming, filename=filename
        )
    except BaseException:
        incoming.discard()
        raise
