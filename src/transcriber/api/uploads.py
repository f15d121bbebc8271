"""Uploads: multipart (the seed's contract) or a bare body (simplest from 1C), listed and deleted."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from transcriber.api.deps import LimitsDep, StorageDep, StoreDep
from transcriber.api.presenters import public_upload
from transcriber.api.receiving import FIELD, raw_file_name, receive_multipart, receive_raw
from transcriber.api.schemas import ERROR_RESPONSES, DeletedOut, UploadList, UploadOut
from transcriber.service import uploads

router = APIRouter(tags=["uploads"], responses=ERROR_RESPONSES)

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


@router.post("/api/v1/upload", response_model=UploadOut, openapi_extra=MULTIPART_BODY)
async def upload(request: Request, store: StoreDep, storage: StorageDep, limits: LimitsDep) -> UploadOut:
    """Upload an audio (or video) file as multipart field `file`. Returns `stored_path` for
    `/api/v1/create_task`. Unsupported content gets 415, an empty file 400, an oversized one 413.
    Bodies with LF-only line breaks (as the 1C draft in the original specification builds them)
    are accepted too."""
    record = await receive_multipart(request, store=store, storage=storage, limits=limits)
    return public_upload(record, storage=storage)


@router.post("/api/v1/upload_raw", response_model=UploadOut, openapi_extra=RAW_BODY)
async def upload_raw(
    request: Request, store: StoreDep, storage: StorageDep, limits: LimitsDep, name: FileName = None
) -> UploadOut:
    """Upload a file sent as the whole request body (no multipart), e.g. from 1C with
    `HTTPЗапрос.УстановитьИмяФайлаТела()`. The name comes from `?name=` or the `X-File-Name` header."""
    filename = raw_file_name(request, name)
    record = await receive_raw(request, store=store, storage=storage, limits=limits, filename=filename)
    return public_upload(record, storage=storage)


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
