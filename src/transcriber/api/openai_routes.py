"""OpenAI-compatible routes: ``POST /v1/audio/transcriptions``, ``POST /v1/audio/translations``,
``GET /v1/models``: what OpenAI's client and the tools built on it (n8n, Open WebUI, LibreChat...) call.

Each audio request becomes an ordinary task of the queue and waits for it. An answer ready within
``openai.keepalive_seconds`` gets its own status; a longer JSON one is started and kept alive with a
space at a time (leading whitespace is valid JSON). Every answer names its task in ``X-Task-Id``.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from transcriber import recognition
from transcriber.api.deps import BaselineDep, CatalogDep, LimitsDep, SettingsDep, StorageDep, StoreDep
from transcriber.api.errors import error_body, status_of
from transcriber.api.openai_errors import error_document
from transcriber.api.receiving import receive_form
from transcriber.api.responses import UTF8JSONResponse
from transcriber.errors import NotFound, ServiceError
from transcriber.openai_format import DEFAULT_MODEL_ALIAS
from transcriber.service import openai_audio, queue, tasks, uploads

router = APIRouter(tags=["OpenAI-compatible"])
JSON_FORMATS = frozenset({"json", "verbose_json"})
_FIELDS = {
    "file": {"type": "string", "format": "binary"},
    "model": {"type": "string", "default": DEFAULT_MODEL_ALIAS, "description": "whisper-1: the default"},
    "language": {"type": "string", "description": "ISO 639-1 code of the speech (ru, en...); empty: detect"},
    "prompt": {"type": "string", "description": "Text that guides the style and spelling (initial prompt)"},
    "response_format": {"type": "string", "enum": ["json", "text", "srt", "vtt", "verbose_json"]},
    "temperature": {"type": "number", "minimum": 0, "maximum": 1, "description": "Decoding starts at 0"},
    "timestamp_granularities[]": {"type": "array", "items": {"type": "string", "enum": ["word", "segment"]}},
}  # fmt: skip
_SCHEMA = {"type": "object", "required": ["file"], "properties": _FIELDS}
OPENAI_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _SCHEMA}}}}


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error, rate_limit_error or server_error")
    param: str | None = Field(description="The form field at fault, if one is")
    code: str = Field(description="This service's error code, e.g. unsupported_media, task_failed")


class OpenAIError(BaseModel):
    error: OpenAIErrorDetail


_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/plain": {}}, "description": "The transcript"},
    **{
        status: {"model": OpenAIError, "description": description}
        for status, description in {
            400: "A form field is not valid (its name in param)",
            401: "An API key is required or not valid",
            404: "Not found",
            409: "The task was cancelled",
            413: "File too large or recording too long",
            415: "Not audio that can be decoded",
            429: "Queue full (see Retry-After)",
            500: "The task failed (x-should-retry: false)",
            504: "The task is still running after the wait's limit (it goes on: X-Task-Id)",
            507: "Not enough disk space",
        }.items()
    },
}


def _audio_route(task: str) -> Any:
    """The endpoint of one OpenAI audio route: the same form and answers, Whisper's ``task`` its own."""

    async def endpoint(
        request: Request,
        store: StoreDep,
        storage: StorageDep,
        catalog: CatalogDep,
        baseline: BaselineDep,
        limits: LimitsDep,
        settings: SettingsDep,
    ) -> Response:
        return await _audio(request, store, storage, catalog, baseline, limits, settings, task=task)

    return endpoint


router.post(
    "/v1/audio/transcriptions",
    response_class=Response,
    openapi_extra=OPENAI_FORM,
    responses=_ANSWERS,
    summary="Transcriptions",
    description="OpenAI's transcription: the speech as text in its own language (`response_format` json, "
    "text, srt, vtt or verbose_json with `segments` and, for `timestamp_granularities[]=word`, `words`).",
)(_audio_route("transcribe"))
router.post(
    "/v1/audio/translations",
    response_class=Response,
    openapi_extra=OPENAI_FORM,
    responses=_ANSWERS,
    summary="Translations",
    description="OpenAI's translation: the speech translated into English by Whisper.",
)(_audio_route("translate"))


async def _audio(
    request: Request,
    store: StoreDep,
    storage: StorageDep,
    catalog: CatalogDep,
    baseline: BaselineDep,
    limits: LimitsDep,
    settings: SettingsDep,
    *,
    task: str,
) -> Response:
    await run_in_threadpool(queue.admit, store=store, limits=limits)  # a full queue: 429 before the upload
    upload, fields = await receive_form(request, store=store, storage=storage, limits=limits)
    try:
        wanted = openai_audio.parse_form(fields, task=task)
        options = await run_in_threadpool(
            tasks.admit_task,
            store=store,
            catalog=catalog,
            baseline=baseline,
            limits=limits,
            webhooks=settings.webhooks,
            options=wanted.options,
        )
    except ServiceError:
        await run_in_threadpool(uploads.delete_upload, store=store, storage=storage, upload_id=upload.id)
        raise
    created = await run_in_threadpool(tasks.queue_task, store=store, upload_id=upload.id, options=options)
    headers = {"X-Task-Id": created.id}
    limit = settings.openai.max_wait_seconds
    started = time.monotonic()
    first = min(settings.openai.keepalive_seconds, limit)
    done = await openai_audio.wait_for(store, created.id, seconds=first, gone=request.is_disconnected)
    if done is None and wanted.response_format in JSON_FORMATS:
        body = _kept_alive(store, wanted, created.id, interval=first, until=started + limit)
        return StreamingResponse(body, media_type="application/json", headers=headers)
    if done is None:  # text, SRT and VTT cannot start with a space: the wait goes on in silence
        rest = limit - (time.monotonic() - started)
        done = await openai_audio.wait_for(store, created.id, seconds=rest, gone=request.is_disconnected)
    try:
        rendered = openai_audio.answer(store, done, wanted, created.id)
    except ServiceError as exc:  # answered here, not raised: the answer keeps its X-Task-Id
        return UTF8JSONResponse(error_body(exc.code, exc.detail), status_code=status_of(exc), headers=headers)
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


async def _kept_alive(
    store: StoreDep, wanted: openai_audio.AudioRequest, task_id: str, *, interval: float, until: float
) -> AsyncIterator[bytes]:
    """A space every ``interval`` seconds while the task runs, then the answer (or OpenAI's error body:
    the status, 200, has been sent)."""
    done = None
    while done is None and time.monotonic() < until:
        yield b" "
        wait = min(interval, until - time.monotonic())
        done = await openai_audio.wait_for(store, task_id, seconds=max(wait, 0.0))
    try:
        yield (await run_in_threadpool(openai_audio.answer, store, done, wanted, task_id)).body
    except ServiceError as exc:
        document = error_document(status_of(exc), exc.code, exc.detail)
        yield json.dumps(document, ensure_ascii=False).encode("utf-8")


_MODEL_ERRORS: dict[int | str, dict[str, Any]] = {status: _ANSWERS[status] for status in (401, 404)}


@router.get("/v1/models", responses=_MODEL_ERRORS)
def list_models(store: StoreDep, catalog: CatalogDep, baseline: BaselineDep) -> dict[str, Any]:
    """The models this service can load: `whisper-1` (the configured model), the bundled ones, those in
    the model cache, and the configured one. Give any of their ids as `model`."""
    return {"object": "list", "data": _models(store, catalog, baseline)}


@router.get("/v1/models/{model:path}", responses=_MODEL_ERRORS)
def get_model(model: str, store: StoreDep, catalog: CatalogDep, baseline: BaselineDep) -> dict[str, Any]:
    """One model of `/v1/models`; 404 for a model this service does not have."""
    found = next((m for m in _models(store, catalog, baseline) if m["id"] == model), None)
    if found is None:
        raise NotFound(f"model {model!r} is not here; GET /v1/models lists the models this service has")
    return found


def _models(store: StoreDep, catalog: CatalogDep, baseline: BaselineDep) -> list[dict[str, Any]]:
    configured = recognition.layered(base=baseline, saved=store.get_settings()).model
    names = [DEFAULT_MODEL_ALIAS, configured]
    names += [row["name"] for row in catalog.available() if row["state"] != "not installed"]
    return [_model(name, catalog) for name in dict.fromkeys(names)]


def _model(name: str, catalog: CatalogDep) -> dict[str, Any]:
    folder = catalog.models_dir / name
    created = int(folder.stat().st_mtime) if name != DEFAULT_MODEL_ALIAS and Path(folder).is_dir() else 0
    return {"id": name, "object": "model", "created": created, "owned_by": "transcriber"}
