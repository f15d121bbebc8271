"""Uploads: the multipart body is parsed as it streams in and written straight to disk."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool

from transcriber import media
from transcriber.api.deps import ServicesDep
from transcriber.api.schemas import DeletedOut, UploadList, UploadOut
from transcriber.api.services import Services
from transcriber.errors import BadRequest, ServiceError, TooLarge
from transcriber.storage import IncomingFile, display_name, new_upload_id, safe_extension
from transcriber.store import UploadRecord

router = APIRouter(tags=["uploads"])

FIELD = "file"

UPLOAD_BODY = {
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


def _decode_header(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


_FILENAME_STAR = re.compile(r"""filename\*\s*=\s*"?([^";]+)"?""", re.IGNORECASE)


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


class MultipartReceiver:
    """Callbacks for python-multipart: the ``file`` part goes to an :class:`IncomingFile`."""

    def __init__(self, incoming: IncomingFile, max_bytes: int) -> None:
        self.incoming = incoming
        self.max_bytes = max_bytes
        self.filename: str | None = None
        self.found = False
        self._in_file = False
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_cb,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._in_file = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_cb(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name = b""
        self._header_value = b""

    def _headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition", b"")
        field, filename = filename_from_disposition(disposition)
        if field == FIELD and not self.found:
            self._in_file = True
            self.found = True
            self.filename = filename

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            return
        if self.incoming.size + (end - start) > self.max_bytes:
            raise TooLarge(f"the file is larger than the limit of {self.max_bytes} bytes")
        self.incoming.write(data[start:end])

    def _part_end(self) -> None:
        self._in_file = False


def _boundary(content_type: str) -> bytes:
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise BadRequest(
            "send the file as multipart/form-data with a field named 'file' "
            f"(got Content-Type {content_type or 'none'!r})"
        )
    return params[b"boundary"]


def _public(record: UploadRecord, services: Services) -> UploadOut:
    path = str(services.storage.path_of(record.stored_name))
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


@router.post("/api/v1/upload", response_model=UploadOut, openapi_extra=UPLOAD_BODY)
async def upload(request: Request, services: ServicesDep) -> UploadOut:
    """Upload an audio (or video) file as multipart field `file`. Returns `stored_path` for
    `/api/v1/create_task`. Unsupported content gets 415, an empty file 400, an oversized one 413."""
    boundary = _boundary(request.headers.get("content-type", ""))
    incoming = services.storage.incoming()
    receiver = MultipartReceiver(incoming, services.settings.limits.max_upload_bytes)
    parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(parser.write, chunk)
        parser.finalize()
        if not receiver.found:
            raise BadRequest("the multipart body has no field named 'file'")
        incoming.close()
        return await run_in_threadpool(_store_upload, services, incoming, receiver.filename)
    except ServiceError:
        incoming.discard()
        raise
    except ValueError as exc:  # python-multipart reports malformed bodies as ValueError subclasses
        incoming.discard()
        raise BadRequest(f"malformed multipart body: {exc}") from None
    except BaseException:
        incoming.discard()
        raise


def _store_upload(services: Services, incoming: IncomingFile, filename: str | None) -> UploadOut:
    info = media.probe(incoming.path)
    upload_id = new_upload_id()
    name = display_name(filename)
    ext = safe_extension(name) or info.format.split(",")[0]
    stored_name = f"{upload_id}.{ext}"
    services.storage.commit(incoming, stored_name)
    record = services.store.add_upload(
        upload_id=upload_id,
        original_name=name,
        stored_name=stored_name,
        size=incoming.size,
        duration=info.duration,
        format=info.format,
        sha256=incoming.sha256,
    )
    return _public(record, services)


@router.get("/api/v1/uploads", response_model=UploadList)
def list_uploads(services: ServicesDep, limit: int = 1000, offset: int = 0) -> UploadList:
    """Previously uploaded files, newest first."""
    records = services.store.list_uploads(limit=max(1, min(limit, 10_000)), offset=max(0, offset))
    return UploadList(files=[_public(r, services) for r in records])


@router.get("/api/v1/uploads/{upload_id}", response_model=UploadOut)
def get_upload(upload_id: str, services: ServicesDep) -> UploadOut:
    record = services.store.get_upload(upload_id)
    if record is None:
        from transcriber.errors import NotFound

        raise NotFound(f"upload {upload_id} not found")
    return _public(record, services)


@router.delete("/api/v1/uploads/{upload_id}", response_model=DeletedOut)
def delete_upload(upload_id: str, services: ServicesDep) -> DeletedOut:
    """Delete an upload and its file; refused (409) while any task uses it."""
    record = services.store.delete_upload(upload_id)
    services.storage.remove(record.stored_name)
    return DeletedOut(deleted=upload_id)
