"""Tasks: create, status, list, cancel, delete, and the hard reset."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from transcriber import recognition, usability
from transcriber.api.deps import BaselineDep, CatalogDep, LimitsDep, StorageDep, StoreDep, WorkerSettingsDep
from transcriber.api.receiving import raw_file_name, receive_multipart, receive_raw
from transcriber.api.schemas import (
    ERROR_RESPONSES,
    CreatedTask,
    CreateTaskIn,
    DeletedOut,
    PhraseOut,
    ResetOut,
    Results,
    TaskOut,
    TaskPage,
    TranscribeParams,
    WarningOut,
)
from transcriber.api.uploads import RAW_BODY
from transcriber.config import LimitSettings, WorkerSettings
from transcriber.domain import TaskStatus, task_warnings
from transcriber.errors import BadRequest, InvalidSettings, ModelUnavailable, NotFound, QueueFull
from transcriber.estimates import pending_eta
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings
from transcriber.storage import UploadStorage
from transcriber.store import QueueLoad, SqlTaskStore, TaskRecord, UploadRecord

router = APIRouter(tags=["tasks"], responses=ERROR_RESPONSES)


def queue_load(*, store: SqlTaskStore, worker: WorkerSettings) -> QueueLoad:
    return store.queue_load(stale_after=timedelta(seconds=worker.stale_after_seconds))


def task_out(
    task: TaskRecord,
    *,
    store: SqlTaskStore,
    worker: WorkerSettings,
    with_results: bool,
    load: QueueLoad | None = None,
) -> TaskOut:
    results = None
    if with_results and task.status == TaskStatus.COMPLETED:
        phrases = store.get_phrases(task.id)
        results = Results(phrases=[PhraseOut(start=p.start, end=p.end, text=p.text) for p in phrases])
    return TaskOut(
        task_id=task.id,
        status=task.status,
        queue_position=task.queue_position,
        progress=task.progress,
        eta_seconds=(
            pending_eta(task, load or queue_load(store=store, worker=worker))
            if task.status == TaskStatus.PENDING
            else task.eta_seconds
        ),
        error=task.error,
        language=task.language,
        duration=task.duration,
        upload_id=task.upload_id,
        file_name=task.source_name,
        options=task.options,
        created_at=task.created_at,
        started_at=task.started_at,
        finished_at=task.finished_at,
        results=results,
        warnings=[
            WarningOut(code=w.code, seconds=w.seconds, message=w.message)
            for w in task_warnings(undecoded_seconds=task.undecoded_seconds)
        ],
    )


def _find_upload(body: CreateTaskIn, *, store: SqlTaskStore, storage: UploadStorage) -> UploadRecord:
    if body.upload_id:
        record = store.get_upload(body.upload_id)
        if record is None:
            raise NotFound(f"upload {body.upload_id} not found; upload the file first")
        return record
    if not body.file_path:
        raise BadRequest("give file_path (the stored_path from /api/v1/upload) or upload_id")
    stored_name = storage.resolve_client_path(body.file_path)
    record = store.find_upload_by_stored_name(stored_name)
    if record is None:
        raise NotFound(
            "no uploaded file at this file_path; upload it first with /api/v1/upload and pass the "
            "stored_path it returns"
        )
    return record


def _check_options(
    options: dict[str, Any], *, store: SqlTaskStore, catalog: ModelCatalog, baseline: RecognitionSettings
) -> None:
    """Validate per-task options the way the worker will apply them; 422 naming the option."""
    global_settings = recognition.layered(base=baseline, saved=store.get_settings())
    try:
        recognition.layered(base=global_settings, task=recognition.task_overrides(options))
    except InvalidSettings as exc:
        option = {
            str(recognition.RecognitionSettings.model_fields[f].alias): name
            for name, f in recognition.TASK_OPTION_FIELDS.items()
        }.get(exc.key, exc.key)
        raise InvalidSettings(option, exc.detail.split(": ", 1)[-1]) from None
    if options.get("model"):
        try:
            catalog.check_name(options["model"], trusted=False)
        except ModelUnavailable as exc:
            raise InvalidSettings("model", exc.detail) from None
        usability.check_model(options["model"], catalog=catalog, key="model")


def _admit(*, store: SqlTaskStore, limits: LimitSettings) -> None:
    """Refuse new work (429 with Retry-After) while the queue is at its limit."""
    limit = limits.max_pending_tasks
    pending = store.count_by_status()[TaskStatus.PENDING]
    if pending >= limit:
        raise QueueFull(
            f"the queue is full ({pending} tasks waiting, limit {limit}); try again later", retry_after=60
        )


def _queue(*, store: SqlTaskStore, upload_id: str, options: dict[str, Any]) -> CreatedTask:
    task = store.create_task(upload_id=upload_id, options=options)
    return CreatedTask(
        task_id=task.id,
        status=task.status,
        queue_position=task.queue_position,
        upload_id=upload_id,
        created_at=task.created_at,
    )


@router.post("/api/v1/create_task", response_model=CreatedTask)
def create_task(
    body: CreateTaskIn,
    store: StoreDep,
    storage: StorageDep,
    catalog: CatalogDep,
    baseline: BaselineDep,
    limits: LimitsDep,
) -> CreatedTask:
    """Queue a task for an uploaded file. `file_path` must be a `stored_path` from `/api/v1/upload`;
    any other path is refused (400) and never read."""
    upload = _find_upload(body, store=store, storage=storage)
    options = body.model_dump(exclude={"file_path", "upload_id"}, exclude_none=True)
    _check_options(options, store=store, catalog=catalog, baseline=baseline)
    _admit(store=store, limits=limits)
    return _queue(store=store, upload_id=upload.id, options=options)


@router.post("/api/v1/transcribe", response_model=CreatedTask, openapi_extra=RAW_BODY)
async def transcribe(
    request: Request,
    store: StoreDep,
    storage: StorageDep,
    catalog: CatalogDep,
    baseline: BaselineDep,
    limits: LimitsDep,
    params: Annotated[TranscribeParams, Query()],
) -> CreatedTask:
    """Upload and create the task in one call: the file as the whole body (or multipart field
    `file`), the name in `?name=`, per-task options as query parameters. Options are checked
    before the file is received."""
    chosen = params.model_dump(exclude={"name"}, exclude_none=True)
    _check_options(chosen, store=store, catalog=catalog, baseline=baseline)
    _admit(store=store, limits=limits)
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        upload = await receive_multipart(request, store=store, storage=storage, limits=limits)
    else:
        filename = raw_file_name(request, params.name)
        upload = await receive_raw(request, store=store, storage=storage, limits=limits, filename=filename)
    return _queue(store=store, upload_id=upload.id, options=chosen)


def _get(task_id: str, store: SqlTaskStore) -> TaskRecord:
    task = store.get_task(task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    return task


@router.get("/api/v1/status/{task_id}", response_model=TaskOut)
def status(task_id: str, store: StoreDep, worker: WorkerSettingsDep) -> TaskOut:
    """Status, queue position, progress and ETA; `results.phrases` when COMPLETED."""
    return task_out(_get(task_id, store), store=store, worker=worker, with_results=True)


@router.get("/api/v1/tasks", response_model=TaskPage)
def list_tasks(
    store: StoreDep,
    worker: WorkerSettingsDep,
    status: Annotated[list[TaskStatus] | None, Query(description="Filter; repeat for several")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> TaskPage:
    """Tasks, newest first, without results."""
    items, total = store.list_tasks(statuses=status, limit=limit, offset=offset)
    load = queue_load(store=store, worker=worker)
    return TaskPage(
        tasks=[task_out(t, store=store, worker=worker, with_results=False, load=load) for t in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/api/v1/tasks/{task_id}", response_model=TaskOut)
def get_task(task_id: str, store: StoreDep, worker: WorkerSettingsDep) -> TaskOut:
    """One task with its results when COMPLETED."""
    return task_out(_get(task_id, store), store=store, worker=worker, with_results=True)


@router.post("/api/v1/cancel/{task_id}", response_model=TaskOut)
def cancel(task_id: str, store: StoreDep, worker: WorkerSettingsDep) -> TaskOut:
    """Cancel a pending task at once, or stop a running one within seconds. 409 if already finished."""
    return task_out(store.cancel_task(task_id), store=store, worker=worker, with_results=False)


@router.delete("/api/v1/tasks/{task_id}", response_model=DeletedOut)
def delete_task(task_id: str, store: StoreDep) -> DeletedOut:
    """Delete a finished task and its results (409 while pending or running: cancel it first)."""
    store.delete_task(task_id)
    return DeletedOut(deleted=task_id)


@router.post("/api/v1/reset", response_model=ResetOut)
def reset(store: StoreDep) -> ResetOut:
    """Hard reset: cancel every pending task (kept in history as CANCELLED) and reload the model."""
    cancelled = store.cancel_pending()
    generation = store.bump_model_generation()
    return ResetOut(cancelled=cancelled, model_generation=generation)
