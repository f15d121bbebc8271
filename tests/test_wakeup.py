"""Instant pickup on PostgreSQL: the store's NOTIFY, a worker's LISTEN, the polling fallback, a listening
connection killed under a running worker. The real throwaway cluster of the ``postgres`` fixture.

Whether a worker was woken by a notification is read from the listener's counters, never from timing:
the poll interval is set far longer than any wait in these tests, so only a notification explains a
prompt pickup."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, insert, text

from tests.conftest import FakeTranscriber, repo_audio
from tests.e2e.server import wait_for
from transcriber import schema as t
from transcriber.clock import utcnow
from transcriber.config import WorkerSettings
from transcriber.db import create_db_engine, migrate
from transcriber.domain import TaskStatus
from transcriber.recognition import RecognitionSettings
from transcriber.storage import UploadStorage
from transcriber.store import SqlTaskStore
from transcriber.store.wakeups import CHANNEL
from transcriber.worker import Worker
from transcriber.worker.wakeup import Pause, PostgresListener, wakeup_for

LONG_POLL = 30.0
"""Longer than any wait below: a task taken sooner was found because of a notification."""


def conninfo(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def engine(postgres: Any) -> Iterator[Engine]:
    engine = create_db_engine(postgres.new_database())
    migrate(engine)
    yield engine
    engine.dispose()


def add_upload(store: SqlTaskStore, storage: UploadStorage) -> str:
    audio = repo_audio("jfk.flac")
    stored = f"jfk-{uuid.uuid4().hex[:8]}.flac"
    storage.path_of(stored).write_bytes(audio.read_bytes())
    store.add_upload(
        upload_id=stored, original_name=audio.name, stored_name=stored, size=audio.stat().st_size,
        duration=11.0, format="flac", sha256="0" * 64,
    )  # fmt: skip
    return stored


class Running:
    """A worker's ``run_forever`` in a thread; stopping it wakes it, since it may wait for long."""

    def __init__(self, engine: Engine, tmp_path: Path, settings: WorkerSettings) -> None:
        self.engine = engine
        self.store = SqlTaskStore(engine)
        self.storage = UploadStorage(tmp_path / "uploads")
        self.stop = threading.Event()
        self.worker = Worker(
            store=self.store, storage=self.storage, transcriber=FakeTranscriber(), settings=settings,
            base_settings=RecognitionSettings(model="tiny.en"), should_stop=self.stop.is_set,
        )  # fmt: skip
        self.thread = threading.Thread(target=self.worker.run_forever, daemon=True)

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_notify(:c, 'stop')"), {"c": CHANNEL})
        self.thread.join(timeout=15)
        assert not self.thread.is_alive()

    @property
    def listener(self) -> PostgresListener:
        assert isinstance(self.worker.wakeup, PostgresListener)
        return self.worker.wakeup

    def listening(self, connects: int = 1) -> None:
        wait_for(lambda: self.listener.connects >= connects, timeout=15, what="the worker to listen")

    def create_and_finish(self) -> None:
        task = self.store.create_task(upload_id=add_upload(self.store, self.storage), options={})
        wait_for(lambda: self.status(task.id) == TaskStatus.COMPLETED, timeout=15, what="the task")

    def status(self, task_id: str) -> TaskStatus:
        task = self.store.get_task(task_id)
        assert task is not None
        return task.status


def listen_settings(**changes: Any) -> WorkerSettings:
    values: dict[str, Any] = {
        "enabled": False, "heartbeat_seconds": 0.2, "poll_seconds": LONG_POLL, "calibrate": False,
    }  # fmt: skip
    return WorkerSettings(**(values | changes))


def test_sqlite_and_switched_off_listening_only_pause(tmp_path: Path, engine: Engine) -> None:
    sqlite = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert isinstance(wakeup_for(sqlite, listen=True), Pause)
    assert isinstance(wakeup_for(engine, listen=False), Pause)
    assert isinstance(wakeup_for(engine, listen=True), PostgresListener)


def test_the_store_notifies_at_commit_when_a_task_becomes_claimable(engine: Engine, tmp_path: Path) -> None:
    store = SqlTaskStore(engine)
    upload = add_upload(store, UploadStorage(tmp_path / "uploads"))
    with psycopg.connect(conninfo(engine), autocommit=True) as conn:
        conn.execute(f'LISTEN "{CHANNEL}"')

        def received() -> list[str]:
            return [n.payload for n in conn.notifies(timeout=2, stop_after=1)]

        task = store.create_task(upload_id=upload, options={})
        assert received() == ["task"]
        store.claim_next("w1")
        assert store.release_task(task.id, "w1")
        assert received() == ["task"]
        store.claim_next("w1")
        assert store.requeue_abandoned(worker_id="w1") == [task.id]
        assert received() == ["task"]
        store.save_settings({"model": "base"}, bump_model=True)
        assert received() == ["settings"]
        store.save_settings({"language": "ru"}, bump_model=False)  # idle workers need not know
        store.claim_next("w1")  # taking a task wakes nobody
        assert [n.payload for n in conn.notifies(timeout=0.3)] == []


def test_a_listening_worker_takes_a_new_task_when_notified(engine: Engine, tmp_path: Path) -> None:
    with Running(engine, tmp_path, listen_settings()) as running:
        running.listening()
        for _ in range(3):
            before = running.listener.notifications
            running.create_and_finish()
            assert running.listener.notifications > before
        assert running.listener.connects == 1


def test_without_a_notification_the_worker_still_polls(engine: Engine, tmp_path: Path) -> None:
    """A task that came without a notification (written by something that does not notify): found at
    the next poll. And with listening switched off, a worker on PostgreSQL polls like one on SQLite."""
    with Running(engine, tmp_path, listen_settings(poll_seconds=0.1)) as running:
        running.listening()
        task_id = str(uuid.uuid4())
        with engine.begin() as conn:  # a bare INSERT: no NOTIFY
            conn.execute(
                insert(t.tasks).values(
                    id=task_id,
                    upload_id=add_upload(running.store, running.storage),
                    status=TaskStatus.PENDING.value,
                    options=json.dumps({}),
                    progress=0.0,
                    attempts=0,
                    created_at=utcnow(),
                )
            )
        wait_for(lambda: running.status(task_id) == TaskStatus.COMPLETED, timeout=15, what="the task")
        assert running.listener.notifications == 0
    with Running(engine, tmp_path, listen_settings(poll_seconds=0.1, listen=False)) as running:
        assert isinstance(running.worker.wakeup, Pause)
        running.create_and_finish()


def test_the_listener_reconnects_after_its_connection_is_terminated(engine: Engine, tmp_path: Path) -> None:
    with Running(engine, tmp_path, listen_settings()) as running:
        running.listening()
        with engine.begin() as conn:
            killed = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
            ).scalars()
            assert list(killed) == [True]
        running.listening(connects=2)
        running.create_and_finish()
        assert running.listener.notifications >= 1
        assert running.thread.is_alive()


def test_a_listener_without_a_database_only_waits(caplog: pytest.LogCaptureFixture) -> None:
    listener = PostgresListener("postgresql://nobody@127.0.0.1:1/none")
    assert listener.wait(0.05) is False
    assert listener.wait(0.05) is False
    assert not listener.listening
    assert sum("cannot listen" in r.message for r in caplog.records) == 1  # once, not every wait
    listener.close()
