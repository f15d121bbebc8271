"""Uploads: multipart (the seed's contract) or a bare body (simplest from 1C), listed and deleted."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from transcriber.api.deps import ServicesDep
from transcriber.api.receiving import FIELD, raw_file_name, receive_multipart, receive_raw
from transcriber.api.schemas import ERROR_RESPONSES, DeletedOut, UploadList, UploadOut
from transcriber.api.services import Services
from transcriber.errors import NotFound
from transcriber.store import UploadRecord

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


def public_upload(record: UploadRecord, services: Services) -> UploadOut:
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


@router.post("/api/v1/upload", response_model=UploadOut, openapi_extra=MULTIPART_BODY)
async def upload(request: Request, services: ServicesDep) -> UploadOut:
    """Upload an audio (or video) file as multipart field `file`. Returns `stored_path` for
    `/api/v1/create_task`. Unsupported content gets 415, an empty file 400, an oversized one 413.
    Bodies with LF-only line breaks (as the 1C draft in the original specification builds them)
    are accepted too."""
    return public_upload(await receive_multipart(request, services), services)


@router.post("/api/v1/upload_raw", response_model=UploadOut, openapi_extra=RAW_BODY)
async def upload_raw(request: Request, services: ServicesDep, name: FileName = None) -> UploadOut:
    """Upload a file sent as the whole request body (no multipart), e.g. from 1C with
    `HTTPЗапрос.УстановитьИмяФайлаТела()`. The name comes from `?name=` or the `X-File-Name` header."""
    record = await receive_raw(request, services, raw_file_name(request, name))
    return public_upload(record, services)


@router.get("/api/v1/uploads", response_model=UploadList)
def list_uploads(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> UploadList:
    """Previously uploaded files, newest first."""
    records = services.store.list_uploads(limit=limit, offset=offset)
    return UploadList(files=[public_upload(r, services) for r in records])


@router.get("/api/v1/uploads/{upload_id}", response_model=UploadOut)
def get_upload(upload_id: str, services: ServicesDep) -> UploadOut:
    record = services.store.get_upload(upload_id)
    if record is None:
        raise NotFound(f"upload {upload_id} not found")
    return public_upload(record, services)


@router.delete("/api/v1/uploads/{upload_id}", response_model=DeletedOut)
def delete_upload(upload_id: str, services: ServicesDep) -> DeletedOut:
    """Delete an upload and its file; refused (409) while any task uses it."""
    record = services.store.delete_upload(upload_id)
    services.storage.remove(record.stored_name)
    return DeletedOut(deleted=upload_id)
