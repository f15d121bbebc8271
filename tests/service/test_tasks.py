"""Tests for transcriber.service.tasks and .queue: creating a task, its views, the queue limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import Parts
from transcriber.config import WebhookSettings, WorkerSettings
from transcriber.domain import TaskStatus
from transcriber.errors import BadRequest, Conflict, InvalidSettings, NotFound, QueueFull
from transcriber.service import tasks
from transcriber.store import TaskRecord

WORKERS = WorkerSettings()


def _create(
    parts: Parts,
    *,
    upload_id: str | None = None,
    file_path: str | None = None,
    options: dict[str, Any] | None = None,
) -> TaskRecord:
    return tasks.create_task(
        store=parts.store,
        storage=parts.storage,
        catalog=parts.catalog,
        baseline=parts.baseline,
        limits=parts.limits,
        webhooks=WebhookSettings(),
        upload_id=upload_id,
        file_path=file_path,
        options=options or {},
    )


def test_a_task_is_created_by_upload_id_or_by_stored_path(parts: Parts, jfk: Path) -> None:
    upload = parts.receive(jfk)
    by_id = _create(parts, upload_id=upload.id, options={"beam_size": 2})
    by_path = _create(parts, file_path=str(parts.storage.path_of(upload.stored_name)))
    assert (by_id.upload_id, by_id.options, by_id.status) == (upload.id, {"beam_size": 2}, TaskStatus.PENDING)
    assert by_path.upload_id == upload.id
    listed = tasks.list_tasks(store=parts.store, worker_settings=WORKERS, statuses=None, limit=10)
    assert listed.total == 2
    assert [v.task.id for v in listed.views] == [by_path.id, by_id.id]
    assert all(v.phrases is None and v.eta_seconds is None for v in listed.views)  # no speed measured yet


def test_a_task_needs_an_upload(parts: Parts) -> None:
    with pytest.raises(BadRequest):
        _create(parts)
    with pytest.raises(NotFound):
        _create(parts, upload_id="nope")


def test_a_bad_option_is_named_by_its_option_name(parts: Parts, jfk: Path) -> None:
    upload = parts.receive(jfk)
    with pytest.raises(InvalidSettings) as info:
        _create(parts, upload_id=upload.id, options={"beam_size": 0})
    assert info.value.key == "beam_size"
    assert parts.store.list_tasks(limit=10)[1] == 0


def test_a_bad_saved_setting_keeps_its_own_name_even_when_the_task_overrides_it(
    parts: Parts, jfk: Path
) -> None:
    upload = parts.receive(jfk)
    parts.store.save_settings({"WHISPER_BEAM": 0}, bump_model=False)  # as an older version might have
    with pytest.raises(InvalidSettings) as info:
        _create(parts, upload_id=upload.id, options={"beam_size": 2})
    assert info.value.key == "WHISPER_BEAM"


def test_the_queue_limit_refuses_new_work_with_a_retry_time(parts: Parts, jfk: Path) -> None:
    upload = parts.receive(jfk)
    parts.limits.max_pending_tasks = 1
    _create(parts, upload_id=upload.id)
    with pytest.raises(QueueFull) as info:
        _create(parts, upload_id=upload.id)
    assert info.value.retry_after == 60


def test_cancel_reset_and_the_transcript_of_an_unfinished_task(parts: Parts, jfk: Path) -> None:
    upload = parts.receive(jfk)
    first, second = (_create(parts, upload_id=upload.id) for _ in range(2))
    with pytest.raises(Conflict):
        tasks.transcript(store=parts.store, task_id=first.id)
    view = tasks.cancel_task(store=parts.store, worker_settings=WORKERS, task_id=first.id)
    assert view.task.status == TaskStatus.CANCELLED
    generation = parts.store.model_generation()
    done = tasks.reset(store=parts.store)
    assert (done.cancelled, done.model_generation) == (1, generation + 1)
    shown = tasks.show_task(store=parts.store, worker_settings=WORKERS, task_id=second.id)
    assert shown.task.status == TaskStatus.CANCELLED
    tasks.delete_task(store=parts.store, task_id=second.id)
    with pytest.raises(NotFound):
        tasks.show_task(store=parts.store, worker_settings=WORKERS, task_id=second.id)
