"""Tasks: create one for an upload (its options checked, the queue's limit kept), show, list, cancel,
delete, reset, and the transcript of a completed one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from transcriber import recognition, usability
from transcriber.config import LimitSettings, WebhookSettings, WorkerSettings
from transcriber.domain import Phrase, TaskStatus, Transcript, task_warnings
from transcriber.errors import BadRequest, Conflict, InvalidSettings, ModelUnavailable, NotFound
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings
from transcriber.service import callbacks, queue
from transcriber.storage import UploadStorage
from transcriber.store import QueueLoad, SqlTaskStore, TaskRecord, UploadRecord


@dataclass(frozen=True)
class TaskView:
    """A task as a client sees it."""

    task: TaskRecord
    eta_seconds: float | None
    """Estimated now for a pending task; measured by its worker for a running one."""
    phrases: list[Phrase] | None = None
    """The results: when they were asked for and the task is COMPLETED."""


@dataclass(frozen=True)
class TaskList:
    views: list[TaskView]
    total: int


@dataclass(frozen=True)
class Reset:
    cancelled: int
    model_generation: int


def find_upload(
    *, store: SqlTaskStore, storage: UploadStorage, upload_id: str | None, file_path: str | None
) -> UploadRecord:
    """The upload a new task is for: by its id, or by the ``stored_path`` the upload returned."""
    if upload_id:
        record = store.get_upload(upload_id)
        if record is None:
            raise NotFound(f"upload {upload_id} not found; upload the file first")
        return record
    if not file_path:
        raise BadRequest("give file_path (the stored_path from /api/v1/upload) or upload_id")
    stored_name = storage.resolve_client_path(file_path)
    record = store.find_upload_by_stored_name(stored_name)
    if record is None:
        raise NotFound(
            "no uploaded file at this file_path; upload it first with /api/v1/upload and pass the "
            "stored_path it returns"
        )
    return record


def check_options(
    *,
    store: SqlTaskStore,
    catalog: ModelCatalog,
    baseline: RecognitionSettings,
    options: Mapping[str, Any],
) -> None:
    """Validate per-task options the way the worker will apply them; :class:`InvalidSettings` names
    the option (``beam_size``, not ``WHISPER_BEAM``)."""
    # Two calls, not one: a bad saved setting keeps its WHISPER_* name, only the task's own are renamed.
    global_settings = recognition.layered(base=baseline, saved=store.get_settings())
    recognising = {k: v for k, v in options.items() if k in recognition.TASK_OPTION_FIELDS}
    try:
        recognition.layered(base=global_settings, task=recognition.task_overrides(recognising))
    except InvalidSettings as exc:
        option = {
            str(recognition.RecognitionSettings.model_fields[f].alias): name
            for name, f in recognition.TASK_OPTION_FIELDS.items()
        }.get(exc.key, exc.key)
        raise InvalidSettings(option, exc.detail.split(": ", 1)[-1]) from None
    if options.get("multilingual") and options.get("language"):
        raise InvalidSettings(
            "multilingual",
            "choose one: language fixes one language for the whole file, multilingual detects the "
            "language of every window (leave language empty)",
        )
    if options.get("model"):
        try:
            catalog.check_name(options["model"], trusted=False)
        except ModelUnavailable as exc:
            raise InvalidSettings("model", exc.detail) from None
        usability.check_model(options["model"], catalog=catalog, key="model")


def admit_task(
    *,
    store: SqlTaskStore,
    catalog: ModelCatalog,
    baseline: RecognitionSettings,
    limits: LimitSettings,
    webhooks: WebhookSettings,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """Everything a new task must pass before it is queued (or its file received): its options, its
    webhook, then the queue's limit. The options to queue it with (the default webhook applied)."""
    check_options(store=store, catalog=catalog, baseline=baseline, options=options)
    admitted = callbacks.with_callback(options, webhooks)
    queue.admit(store=store, limits=limits)
    return admitted


def queue_task(*, store: SqlTaskStore, upload_id: str, options: Mapping[str, Any]) -> TaskRecord:
    """Queue an admitted task (see :func:`admit_task`)."""
    return store.create_task(upload_id=upload_id, options=options)


def create_task(
    *,
    store: SqlTaskStore,
    storage: UploadStorage,
    catalog: ModelCatalog,
    baseline: RecognitionSettings,
    limits: LimitSettings,
    webhooks: WebhookSettings,
    upload_id: str | None,
    file_path: str | None,
    options: Mapping[str, Any],
) -> TaskRecord:
    """Queue a task for an upload that is already stored; ``file_path`` is never read, only looked up."""
    upload = find_upload(store=store, storage=storage, upload_id=upload_id, file_path=file_path)
    admitted = admit_task(
        store=store, catalog=catalog, baseline=baseline, limits=limits, webhooks=webhooks, options=options
    )
    return queue_task(store=store, upload_id=upload.id, options=admitted)


def view_task(
    task: TaskRecord,
    *,
    store: SqlTaskStore,
    worker_settings: WorkerSettings,
    with_results: bool,
    load: QueueLoad | None = None,
) -> TaskView:
    phrases = None
    if with_results and task.status == TaskStatus.COMPLETED:
        phrases = store.get_phrases(task.id)
    eta = queue.eta_seconds(task, store=store, worker_settings=worker_settings, load=load)
    return TaskView(task=task, eta_seconds=eta, phrases=phrases)


def get_task(*, store: SqlTaskStore, task_id: str) -> TaskRecord:
    task = store.get_task(task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    return task


def show_task(*, store: SqlTaskStore, worker_settings: WorkerSettings, task_id: str) -> TaskView:
    """One task with its results when COMPLETED."""
    task = get_task(store=store, task_id=task_id)
    return view_task(task, store=store, worker_settings=worker_settings, with_results=True)


def list_tasks(
    *,
    store: SqlTaskStore,
    worker_settings: WorkerSettings,
    statuses: Sequence[TaskStatus] | None,
    limit: int,
    offset: int = 0,
) -> TaskList:
    """Tasks, newest first, without results; the queue's load is read once for all of them."""
    items, total = store.list_tasks(statuses=statuses, limit=limit, offset=offset)
    load = queue.queue_load(store=store, worker_settings=worker_settings)
    views = [
        view_task(t, store=store, worker_settings=worker_settings, with_results=False, load=load)
        for t in items
    ]
    return TaskList(views=views, total=total)


def cancel_task(*, store: SqlTaskStore, worker_settings: WorkerSettings, task_id: str) -> TaskView:
    """Cancel a pending task at once, or ask its worker to stop a running one; :class:`Conflict` once
    it has finished."""
    task = store.cancel_task(task_id)
    return view_task(task, store=store, worker_settings=worker_settings, with_results=False)


def rename_speakers(
    *, store: SqlTaskStore, worker_settings: WorkerSettings, task_id: str, changes: Mapping[str, str | None]
) -> TaskView:
    """Give a task's speakers new names (by id); the task with its results."""
    task = store.rename_speakers(task_id, changes)
    return view_task(task, store=store, worker_settings=worker_settings, with_results=True)


def delete_task(*, store: SqlTaskStore, task_id: str) -> None:
    """Delete a finished task and its results; :class:`Conflict` while it is pending or running."""
    store.delete_task(task_id)


def reset(*, store: SqlTaskStore) -> Reset:
    """Cancel every pending task (kept in history as CANCELLED) and have the workers reload the model."""
    cancelled = store.cancel_pending()
    generation = store.bump_model_generation()
    return Reset(cancelled=cancelled, model_generation=generation)


def transcript(*, store: SqlTaskStore, task_id: str) -> Transcript:
    """The transcript of a COMPLETED task (:class:`Conflict` before), for the exporters."""
    task = get_task(store=store, task_id=task_id)
    if task.status != TaskStatus.COMPLETED:
        raise Conflict(f"task {task_id} is {task.status.value}; export is available once it is COMPLETED")
    return Transcript(
        task_id=task.id,
        language=task.language,
        duration=task.duration or 0.0,
        phrases=store.get_phrases(task.id),
        source_name=task.source_name,
        warnings=task_warnings(undecoded_seconds=task.undecoded_seconds),
        speakers=task.speakers,
    )
