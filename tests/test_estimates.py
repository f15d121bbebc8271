"""Queue ETA: a pending task's wait from the audio ahead of it and the measured speed of recent tasks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from tests.conftest import Harness
from transcriber import schema as t
from transcriber.estimates import pending_eta
from transcriber.store import QueueLoad, TaskRecord


def pending(audio_ahead: float | None, own: float) -> TaskRecord:
    from transcriber.clock import utcnow
    from transcriber.domain import TaskStatus

    return TaskRecord(
        id="t", seq=1, upload_id="u", status=TaskStatus.PENDING, options={}, effective=None, progress=0.0,
        eta_seconds=None, error=None, language=None, duration=None, attempts=0, worker_id=None,
        created_at=utcnow(), started_at=None, finished_at=None, heartbeat_at=None,
        upload_duration=own, queue_position=0, audio_ahead=audio_ahead,
    )  # fmt: skip


def test_pending_eta_arithmetic() -> None:
    load = QueueLoad(speed=2.0, running_audio_left=4.0, workers=1)
    assert pending_eta(pending(6.0, 2.0), load) == 6.0  # (4 + 6) / 2 waiting, then 2 / 2 its own
    two_workers = QueueLoad(speed=2.0, running_audio_left=4.0, workers=2)
    assert pending_eta(pending(6.0, 2.0), two_workers) == 3.5
    assert pending_eta(pending(6.0, 2.0), QueueLoad(speed=None, running_audio_left=0, workers=1)) is None
    assert pending_eta(pending(None, 2.0), load) is None


def test_queue_eta_through_the_api(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)  # 2.0 s of audio
    first = harness.client.post("/api/v1/create_task", json={"upload_id": upload["id"]}).json()["task_id"]
    assert harness.client.get(f"/api/v1/status/{first}").json()["eta_seconds"] is None  # no history yet
    harness.engine.duration = 2.0
    harness.drain()
    store = harness.services.store
    done = store.get_task(first)
    assert done is not None
    assert done.started_at is not None
    with store.engine.begin() as conn:  # this machine "took" 4 s for 2 s of audio: 0.5x real time
        conn.execute(
            update(t.tasks)
            .where(t.tasks.c.id == first)
            .values(finished_at=done.started_at + timedelta(seconds=4))
        )
    ids = [
        harness.client.post("/api/v1/create_task", json={"upload_id": upload["id"]}).json()["task_id"]
        for _ in range(3)
    ]
    etas = [harness.client.get(f"/api/v1/status/{i}").json()["eta_seconds"] for i in ids]
    assert etas == [4.0, 8.0, 12.0]
    listed = {x["task_id"]: x["eta_seconds"] for x in harness.client.get("/api/v1/tasks").json()["tasks"]}
    assert [listed[i] for i in ids] == etas
