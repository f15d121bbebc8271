"""Tasks: create, status, list, cancel, delete, and the hard reset."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from transcriber.api.deps import (
    BaselineDep,
    CatalogDep,
    LimitsDep,
    StorageDep,
    StoreDep,
    WebhookSettingsDep,
    WorkerSettingsDep,
)
from transcriber.api.idempotency import (
    REPLAY_RESPONSES,
    IdempotencyKeyHeader,
    answer,
    answer_upload,
    idempotent_call,
)
from transcriber.api.presenters import created_task, task_out, task_page
from transcriber.api.receiving import RAW_BODY, raw_file_name, receive_multipart, receive_raw
from transcriber.api.schemas import (
    ERROR_RESPONSES,
    CreatedTask,
    CreateTaskIn,
    DeletedOut,
    ResetOut,
    TaskOut,
    TaskPage,
    TaskPatch,
    TranscribeParams,
)
from transcriber.domain import TaskStatus
from transcriber.service import idempotency, tasks

router = APIRouter(tags=["tasks"], responses=ERROR_RESPONSES)


@router.post("/api/v1/create_task", response_model=CreatedTask, responses=REPLAY_RESPONSES)
def create_task(
    request: Request,
    body: CreateTaskIn,
    store: StoreDep,
    storage: StorageDep,
    catalog: CatalogDep,
    baseline: BaselineDep,
    limits: LimitsDep,
    webhooks: WebhookSettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """Queue a task for an uploaded file. `file_path` must be a `stored_path` from `/api/v1/upload`;
    any other path is refused (400) and never read."""
    call = idempotent_call(request, idempotency_key)

    def create() -> dict[str, Any]:
        task = tasks.create_task(
            store=store,
            storage=storage,
            catalog=catalog,
            baseline=baseline,
            limits=limits,
            webhooks=webhooks,
            upload_id=body.upload_id,
            file_path=body.file_path,
            options=body.model_dump(exclude={"file_path", "upload_id"}, exclude_none=True),
        )
        return created_task(task).model_dump(mode="json")

    asked = body.model_dump(mode="json", exclude_none=True)
    return answer(idempotency.run_once(store=store, limits=limits, call=call, request=asked, action=create))


@router.post(
    "/api/v1/transcribe", response_model=CreatedTask, openapi_extra=RAW_BODY, responses=REPLAY_RESPONSES
)
async def transcribe(
    request: Request,
    store: StoreDep,
    storage: StorageDep,
    catalog: CatalogDep,
    baseline: BaselineDep,
    limits: LimitsDep,
    webhooks: WebhookSettingsDep,
    params: Annotated[TranscribeParams, Query()],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """Upload and create the task in one call: the file as the whole body (or multipart field
    `file`), the name in `?name=`, per-task options as query parameters. Options are checked
    before the file is received (after it, for a retry that may get its first answer again)."""
    call = idempotent_call(request, idempotency_key)
    chosen = params.model_dump(exclude={"name"}, exclude_none=True)
    admit = partial(
        tasks.admit_task,
        store=store,
        catalog=catalog,
        baseline=baseline,
        limits=limits,
        webhooks=webhooks,
        options=chosen,
    )
    # A retry of an answered request is not refused for a queue that has filled up since.
    admitted = not idempotency.may_replay(store=store, limits=limits, call=call)
    options = admit() if admitted else chosen
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        upload = await receive_multipart(request, store=store, storage=storage, limits=limits)
    else:
        filename = raw_file_name(request, params.name)
        upload = await receive_raw(request, store=store, storage=storage, limits=limits, filename=filename)

    def queue() -> dict[str, Any]:
        queued = options if admitted else admit()
        return created_task(tasks.queue_task(store=store, upload_id=upload.id, options=queued)).model_dump(
            mode="json"
        )

    return await answer_upload(
        request, call, upload, store=store, storage=storage, limits=limits, action=queue
    )  # fmt: skip


@router.get("/api/v1/status/{task_id}", response_model=TaskOut)
def status(task_id: str, store: StoreDep, worker_settings: WorkerSettingsDep) -> TaskOut:
    """Status, queue position, progress and ETA; `results.phrases` when COMPLETED."""
    return task_out(tasks.show_task(store=store, worker_settings=worker_settings, task_id=task_id))


@router.get("/api/v1/tasks", response_model=TaskPage)
def list_tasks(
    store: StoreDep,
    worker_settings: WorkerSettingsDep,
    status: Annotated[list[TaskStatus] | None, Query(description="Filter; repeat for several")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> TaskPage:
    """Tasks, newest first, without results."""
    found = tasks.list_tasks(
        store=store, worker_settings=worker_settings, statuses=status, limit=limit, offset=offset
    )
    return task_page(found, limit=limit, offset=offset)


@router.get("/api/v1/tasks/{task_id}", response_model=TaskOut)
def get_task(task_id: str, store: StoreDep, worker_settings: WorkerSettingsDep) -> TaskOut:
    """One task with its results when COMPLETED."""
    return task_out(tasks.show_task(store=store, worker_settings=worker_settings, task_id=task_id))


@router.patch("/api/v1/tasks/{task_id}", response_model=TaskOut)
def patch_task(task_id: str, body: TaskPatch, store: StoreDep, worker_settings: WorkerSettingsDep) -> TaskOut:
    """Rename the task's speakers: `{"speakers": [{"id": "S1", "name": "Оператор"}]}` (a null or empty
    name gives the default back). Every export shows the new names. 409 if the task has no speakers,
    422 for an id it does not have or a name with line breaks."""
    changes = {s.id: s.name for s in body.speakers}
    return task_out(
        tasks.rename_speakers(store=store, worker_settings=worker_settings, task_id=task_id, changes=changes)
    )


@router.post("/api/v1/cancel/{task_id}", response_model=TaskOut)
def cancel(task_id: str, store: StoreDep, worker_settings: WorkerSettingsDep) -> TaskOut:
    """Cancel a pending task at once, or stop a running one within seconds. 409 if already finished."""
    return task_out(tasks.cancel_task(store=store, worker_settings=worker_settings, task_id=task_id))


@router.delete("/api/v1/tasks/{task_id}", response_model=DeletedOut)
def delete_task(task_id: str, store: StoreDep) -> DeletedOut:
    """Delete a finished task and its results (409 while pending or running: cancel it first)."""
    tasks.delete_task(store=store, task_id=task_id)
    return DeletedOut(deleted=task_id)


@router.post("/api/v1/reset", response_model=ResetOut)
def reset(store: StoreDep) -> ResetOut:
    """Hard reset: cancel every pending task (kept in history as CANCELLED) and reload the model."""
    done = tasks.reset(store=store)
    return ResetOut(cancelled=done.cancelled, model_generation=done.model_generation)
