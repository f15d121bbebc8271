"""A database outage only pauses the worker: PostgreSQL stopped and started again under a running worker
(a private cluster, since the test stops it), and a store that fails for a while under the worker loop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from tests.conftest import FakeTranscriber, repo_audio
from tests.e2e.server import wait_for
from tests.postgres import PostgresCluster, start_cluster
from transcriber.config import WorkerSettings
from transcriber.db import create_db_engine, migrate
from transcriber.domain import Phrase, TaskStatus
from transcriber.engine import WhisperTranscriber
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings
from transcriber.storage import UploadStorage
from transcriber.store import SqlTaskStore
from transcriber.worker import Worker

FAST = WorkerSettings(
    enabled=False, heartbeat_seconds=0.2, poll_seconds=0.05, stale_after_seconds=600, calibrate=False
)


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


class Running:
    """A worker's ``run_forever`` in a thread, stopped at the end of the test."""

    def __init__(self, worker: Worker, stop: threading.Event) -> None:
        self.worker = worker
        self.stop = stop
        self.thread = threading.Thread(target=worker.run_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def add_task(store: SqlTaskStore, storage: UploadStorage, audio: Path) -> str:
    stored = f"{audio.stem}-{len(store.list_uploads())}{audio.suffix}"
    storage.path_of(stored).write_bytes(audio.read_bytes())
    upload = store.add_upload(
        upload_id=stored, original_name=audio.name, stored_name=stored, size=audio.stat().st_size,
        duration=11.0, format="flac", sha256="0" * 64,
    )  # fmt: skip
    return store.create_task(upload_id=upload.id, options={}).id


def status(store: SqlTaskStore, task_id: str) -> TaskStatus | None:
    try:
        task = store.get_task(task_id)
    except OperationalError:
        return None
    return task.status if task else None


@pytest.mark.slow
def test_postgres_restart_under_a_running_worker(
    cluster: PostgresCluster, models_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The real engine on real speech; the database goes away while the worker polls and again while
    it transcribes. Both times the worker waits, and every task completes once the database is back."""
    engine = create_db_engine(cluster.new_database())
    migrate(engine)
    store = SqlTaskStore(engine)
    storage = UploadStorage(tmp_path / "uploads")
    transcriber = WhisperTranscriber(ModelCatalog(models_dir), cpu_threads=2)
    stop = threading.Event()
    worker = Worker(
        store=store, storage=storage, transcriber=transcriber, settings=FAST,
        base_settings=RecognitionSettings(model="tiny.en", batch_size=0), should_stop=stop.is_set,
    )  # fmt: skip
    running = Running(worker, stop)
    try:
        wait_for(lambda: worker.transcriber.loaded, timeout=120, what="the model to load")
        cluster.pause()  # while idle: claim_next fails until the server is back
        wait_for(lambda: worker.outage.since is not None, timeout=30, what="the worker to notice")
        cluster.resume()
        first = add_task(store, storage, repo_audio("jfk.flac"))
        wait_for(lambda: status(store, first) == TaskStatus.COMPLETED, timeout=120, what="the first task")

        second = add_task(store, storage, repo_audio("jfk.flac"))
        wait_for(lambda: status(store, second) == TaskStatus.IN_PROGRESS, timeout=30, what="the second task")
        cluster.pause()  # while transcribing: its progress or result cannot be written
        wait_for(lambda: worker.outage.since is not None, timeout=60, what="the worker to notice")
        cluster.resume()
        wait_for(lambda: status(store, second) == TaskStatus.COMPLETED, timeout=120, what="the second task")
        assert running.thread.is_alive()
        assert store.get_phrases(second)
        assert sum("database unavailable" in r.message for r in caplog.records) == 2  # once per outage
    finally:
        running.close()
        engine.dispose()
    assert not running.thread.is_alive()


class FlakyStore(SqlTaskStore):
    """A real SQLite store whose every call fails while ``down`` is set."""

    down = threading.Event()

    def __getattribute__(self, name: str) -> object:
        attr = super().__getattribute__(name)
        if callable(attr) and not name.startswith("_") and type(self).down.is_set():
            raise OperationalError("SELECT 1", {}, Exception("database is locked"))
        return attr


def test_a_store_that_fails_for_a_while_only_pauses_the_loop(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    store = FlakyStore(engine)
    storage = UploadStorage(tmp_path / "uploads")
    gate = threading.Event()
    fake = FakeTranscriber(phrases=[Phrase(0.0, 1.0, "one"), Phrase(1.0, 2.0, "two")], before_phrase=gate)
    stop = threading.Event()
    worker = Worker(
        store=store, storage=storage, transcriber=fake, settings=FAST,
        base_settings=RecognitionSettings(model="tiny.en"), should_stop=stop.is_set,
    )  # fmt: skip
    task_id = add_task(store, storage, repo_audio("jfk.flac"))
    running = Running(worker, stop)
    try:
        wait_for(lambda: store.get_task(task_id).status == TaskStatus.IN_PROGRESS, timeout=10, what="claim")
        FlakyStore.down.set()  # the task's phrases come while nothing can be written
        gate.set()
        wait_for(lambda: worker.outage.since is not None, timeout=10, what="the worker to notice")
        FlakyStore.down.clear()
        wait_for(
            lambda: store.get_task(task_id).status == TaskStatus.COMPLETED, timeout=20, what="completion"
        )
        assert running.thread.is_alive()
        assert [p.text for p in store.get_phrases(task_id)] == ["one", "two"]
        assert store.get_task(task_id).attempts == 1  # given back without spending an attempt, not failed
    finally:
        FlakyStore.down.clear()
        running.close()
