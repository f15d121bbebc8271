"""Uploads: multipart (the seed's contract) or a bare body (simplest from 1C), listed, deleted, and
served back for playback in the browser."""

from __future__ import annotations

import mimetypes
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from transcriber.api.deps import LimitsDep, StorageDep, StoreDep
from transcriber.api.idempotency import REPLAY_RESPONSES, IdempotencyKeyHeader, answer_upload, idempotent_call
from transcriber.api.presenters import public_upload
from transcriber.api.receiving import (
    MULTIPART_BODY,
    RAW_BODY,
    FileName,
    raw_file_name,
    receive_multipart,
    receive_raw,
)
from transcriber.api.schemas import ERROR_RESPONSES, DeletedOut, UploadList, UploadOut
from transcriber.service import uploads

router = APIRouter(tags=["uploads"], responses=ERROR_RESPONSES)

# The browser must get an audio type it recognises; the system's mime.types may lack some of these.
AUDIO_TYPES = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "wma": "audio/x-ms-wma",
    "amr": "audio/amr",
    "webm": "audio/webm",
    "mp4": "video/mp4",
    "mkv": "video/x-matroska",
    "mov": "video/quicktime",
    "avi": "video/x-msvideo",
}


def media_type_of(stored_name: str) -> str:
    ext = stored_name.rsplit(".", 1)[-1].lower() if "." in stored_name else ""
    return AUDIO_TYPES.get(ext) or mimetypes.guess_type(stored_name)[0] or "application/octet-stream"


@router.post(
    "/api/v1/upload", response_model=UploadOut, openapi_extra=MULTIPART_BODY, responses=REPLAY_RESPONSES
)
async def upload(
    request: Request,
    store: StoreDep,
    storage: StorageDep,
    limits: LimitsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """Upload an audio (or video) file as multipart field `file`. Returns `stored_path` for
    `/api/v1/create_task`. Unsupported content gets 415, an empty file 400, an oversized one 413.
    Bodies with LF-only line breaks (as the 1C draft in the original specification builds them)
    are accepted too."""
    call = idempotent_call(request, idempotency_key)
    record = await receive_multipart(request, store=store, storage=storage, limits=limits)
    return await answer_upload(
        request, call, record, store=store, storage=storage, limits=limits,
        action=lambda: public_upload(record, storage=storage).model_dump(mode="json"),
    )  # fmt: skip


@router.post(
    "/api/v1/upload_raw", response_model=UploadOut, openapi_extra=RAW_BODY, responses=REPLAY_RESPONSES
)
async def upload_raw(
    request: Request,
    store: StoreDep,
    storage: StorageDep,
    limits: LimitsDep,
    name: FileName = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """Upload a file sent as the whole request body (no multipart), e.g. from 1C with
    `HTTPЗапрос.УстановитьИмяФайлаТела()`. The name comes from `?name=` or the `X-File-Name` header."""
    call = idempotent_call(request, idempotency_key)
    filename = raw_file_name(request, name)
    record = await receive_raw(request, store=store, storage=storage, limits=limits, filename=filename)
    return await answer_upload(
        request, call, record, store=store, storage=storage, limits=limits,
        action=lambda: public_upload(record, storage=storage).model_dump(mode="json"),
    )  # fmt: skip


@router.get("/api/v1/uploads", response_model=UploadList)
def list_uploads(
    store: StoreDep,
    storage: StorageDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> UploadList:
    """Previously uploaded files, newest first."""
    records = store.list_uploads(limit=limit, offset=offset)
    return UploadList(files=[public_upload(r, storage=storage) for r in records])


@router.get("/api/v1/uploads/{upload_id}", response_model=UploadOut)
def get_upload(upload_id: str, store: StoreDep, storage: StorageDep) -> UploadOut:
    return public_upload(uploads.get_upload(store=store, upload_id=upload_id), storage=storage)


@router.delete("/api/v1/uploads/{upload_id}", response_model=DeletedOut)
def delete_upload(upload_id: str, store: StoreDep, storage: StorageDep) -> DeletedOut:
    """Delete an upload and its file; refused (409) while any task uses it."""
    uploads.delete_upload(store=store, storage=storage, upload_id=upload_id)
    return DeletedOut(deleted=upload_id)


@router.get(
    "/api/v1/uploads/{upload_id}/audio",
    response_class=FileResponse,
    responses={
        200: {"content": {"audio/*": {}}, "description": "The file"},
        206: {"content": {"audio/*": {}}, "description": "Part of the file (a `Range` request)"},
    },
)
def upload_audio(upload_id: str, store: StoreDep, storage: StorageDep) -> FileResponse:
    """The uploaded file itself, for playback; supports HTTP `Range` (seeking in a player)."""
    record, path = uploads.upload_file(store=store, storage=storage, upload_id=upload_id)
    return FileResponse(
        path,
        media_type=media_type_of(record.stored_name),
        filename=record.original_name,
        content_disposition_type="inline",
    )
