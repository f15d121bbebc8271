"""Tests for transcriber.store.SqlTaskStore against real databases.

Every test takes the ``store`` fixture, parametrized by backend: a SQLite file, and PostgreSQL (a
throwaway cluster started once by the ``postgres`` fixture), each test on an empty database.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, select, text, update

from transcriber import schema as t
from transcriber.clock import utcnow
from transcriber.db import MIGRATIONS_DIR, create_db_engine, migrate
from transcriber.domain import Phrase, Speaker, TaskStatus, Word, WorkerState
from transcriber.errors import Conflict, InvalidSpeaker, NotFound
from transcriber.speakers import named
from transcriber.store import MAX_ATTEMPTS, Claimed, IdempotencyState, SqlTaskStore, TaskRecord, UploadRecord

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path / "t.db")
    cluster = request.getfixturevalue("postgres")
    url: str = cluster.new_database()
    return url


@pytest.fixture
def make_engine(db_url: str) -> Iterator[Callable[[], Engine]]:
    """Engines on the test database, each disposed at the end (like separate processes would have)."""
    engines: list[Engine] = []

    def make() -> Engine:
        engine = create_db_engine(db_url)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def engine(make_engine: Callable[[], Engine]) -> Engine:
    engine = make_engine()
    migrate(engine)
    return engine


@pytest.fixture
def store(engine: Engine) -> SqlTaskStore:
    return SqlTaskStore(engine)


def add_upload(store: SqlTaskStore, name: str = "call.mp3") -> str:
    upload_id = uuid.uuid4().hex
    store.add_upload(
        upload_id=upload_id,
        original_name=name,
        stored_name=f"{upload_id}.mp3",
        size=1234,
        duration=2.5,
        format="mp3",
        sha256="0" * 64,
    )
    return upload_id


def test_a_checksum_is_recorded_only_for_an_upload_without_one(store: SqlTaskStore) -> None:
    kept = add_upload(store)
    store.record_upload_sha256(kept, "a" * 64)
    assert get_upload(store, kept).sha256 == "0" * 64
    missing = uuid.uuid4().hex
    store.add_upload(
        upload_id=missing, original_name="old.mp3", stored_name=f"{missing}.mp3", size=1, duration=None,
        format=None, sha256=None,
    )  # fmt: skip
    store.record_upload_sha256(missing, "b" * 64)
    store.record_upload_sha256(missing, "c" * 64)
    assert get_upload(store, missing).sha256 == "b" * 64


def get_upload(store: SqlTaskStore, upload_id: str) -> UploadRecord:
    upload = store.get_upload(upload_id)
    assert upload is not None, upload_id
    return upload


def add_tasks(store: SqlTaskStore, count: int, **options: object) -> list[str]:
    upload_id = add_upload(store)
    return [store.create_task(upload_id=upload_id, options=options).id for _ in range(count)]


def get(store: SqlTaskStore, task_id: str) -> TaskRecord:
    task = store.get_task(task_id)
    assert task is not None, task_id
    return task


def positions(store: SqlTaskStore, ids: list[str]) -> list[int | None]:
    return [get(store, task_id).queue_position for task_id in ids]


def listed_positions(store: SqlTaskStore) -> dict[str, int | None]:
    tasks, _ = store.list_tasks(limit=1000)
    return {task.id: task.queue_position for task in tasks}


def set_heartbeat(engine: Engine, task_id: str, age: timedelta) -> None:
    """Make a running task's heartbeat ``age`` old, as if its worker had gone silent that long ago."""
    with engine.begin() as conn:
        conn.execute(update(t.tasks).where(t.tasks.c.id == task_id).values(heartbeat_at=utcnow() - age))


PHRASES = [
    Phrase(0.0, 1.25, "Привет, мир.", (Word(0.0, 0.6, " Привет,", 0.9), Word(0.6, 1.25, " мир.", 0.75))),
    Phrase(1.25, 2.5, "Second.", language="en"),  # a task that detects the language per window
    Phrase(2.5, 4.0, "Третья.", language="ru", speaker="S2"),  # and one split by speaker
]


# -- schema ---------------------------------------------------------------------------------------------


def test_migrate_twice_is_idempotent_and_keeps_data(engine: Engine, store: SqlTaskStore) -> None:
    [task_id] = add_tasks(store, 1, language="ru")
    store.save_settings({"WHISPER_BEAM": 3}, bump_model=False)
    migrate(engine)
    migrate(engine)
    assert get(store, task_id).options == {"language": "ru"}
    assert store.get_settings() == {"WHISPER_BEAM": 3}
    names = set(inspect(engine).get_table_names())
    assert {"uploads", "tasks", "phrases", "settings", "workers", "alembic_version"} <= names
    with engine.connect() as conn:
        assert len(conn.execute(text("SELECT version_num FROM alembic_version")).all()) == 1


def test_migration_0003_adds_undecoded_seconds_to_existing_tasks(make_engine: Callable[[], Engine]) -> None:
    engine = make_engine()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")  # a database from before the column
    assert "undecoded_seconds" not in {c["name"] for c in inspect(engine).get_columns("tasks")}
    store = SqlTaskStore(engine)
    upload_id = add_upload(store)
    task_id = str(uuid.uuid4())
    with engine.begin() as conn:  # a task written by the previous version, without the column
        conn.execute(
            text(
                "INSERT INTO tasks (id, upload_id, status, options, progress, attempts, created_at) "
                "VALUES (:id, :upload, 'COMPLETED', '{\"language\": \"ru\"}', 1.0, 1, :now)"
            ),
            {"id": task_id, "upload": upload_id, "now": utcnow().replace(tzinfo=None)},
        )
    migrate(engine)
    assert "undecoded_seconds" in {c["name"] for c in inspect(engine).get_columns("tasks")}
    assert get(store, task_id).undecoded_seconds is None
    assert get(store, task_id).options == {"language": "ru"}


def test_migration_0004_moves_the_model_generation_out_of_the_settings(
    make_engine: Callable[[], Engine],
) -> None:
    engine = make_engine()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")  # the generation was a hidden settings row then
        conn.execute(
            text("INSERT INTO settings (key, value) VALUES ('_model_generation', '7'), ('WHISPER_BEAM', '3')")
        )
    migrate(engine)
    store = SqlTaskStore(engine)
    assert store.model_generation() == 7
    assert store.get_settings() == {"WHISPER_BEAM": 3}
    assert store.bump_model_generation() == 8
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
        rows = {key: value for key, value in conn.execute(text("SELECT key, value FROM settings"))}
    assert rows == {"_model_generation": "8", "WHISPER_BEAM": "3"}


def test_undecoded_seconds_are_kept_with_the_completed_task(store: SqlTaskStore) -> None:
    clean, damaged = add_tasks(store, 2)
    for task_id, lost in ((clean, 0.0), (damaged, 16.4)):
        assert store.claim_next("w1") is not None
        assert store.complete_task(
            task_id, "w1", first_index=0, language="en", duration=43.5, undecoded_seconds=lost
        )
    assert get(store, clean).undecoded_seconds is None
    assert get(store, damaged).undecoded_seconds == pytest.approx(16.4)


def test_speakers_are_kept_with_the_task_and_renamed_by_id(store: SqlTaskStore) -> None:
    call, mono = add_tasks(store, 2)
    speakers = named([("S1", 0), ("S2", 1)], ("Оператор",))
    assert store.claim_next("w1") is not None
    assert store.save_progress(call, "w1", progress=0.1, eta_seconds=None, first_index=0, speakers=speakers)
    assert get(store, call).speakers == (Speaker("S1", "Оператор", 0), Speaker("S2", "Спикер 2", 1))
    assert store.complete_task(call, "w1", first_index=0, language="ru", duration=4.0, speakers=speakers)
    assert store.claim_next("w1") is not None
    assert store.complete_task(mono, "w1", first_index=0, language="ru", duration=4.0)
    assert get(store, mono).speakers == ()

    renamed = store.rename_speakers(call, {"S2": "  Иван   Петров "})
    assert [s.name for s in renamed.speakers] == ["Оператор", "Иван Петров"]
    assert [s.name for s in store.rename_speakers(call, {"S1": None}).speakers] == ["Спикер 1", "Иван Петров"]
    with pytest.raises(InvalidSpeaker, match="no speaker 'S3'; its speakers are S1, S2"):
        store.rename_speakers(call, {"S3": "Кто-то"})
    with pytest.raises(InvalidSpeaker, match="line breaks"):
        store.rename_speakers(call, {"S1": "Оператор\nКлиент"})
    with pytest.raises(Conflict, match="no speakers"):
        store.rename_speakers(mono, {"S1": "Оператор"})
    with pytest.raises(NotFound):
        store.rename_speakers(str(uuid.uuid4()), {"S1": "Оператор"})
    assert [s.name for s in get(store, call).speakers] == ["Спикер 1", "Иван Петров"]


def test_a_second_engine_sees_the_same_database(
    make_engine: Callable[[], Engine], store: SqlTaskStore
) -> None:
    [task_id] = add_tasks(store, 1)
    other = make_engine()
    migrate(other)
    assert get(SqlTaskStore(other), task_id).status is TaskStatus.PENDING


# -- uploads ---------------------------------------------------------------------------------------------


def test_upload_records_round_trip(store: SqlTaskStore) -> None:
    upload_id = add_upload(store, name="Запись.mp3")
    record = store.get_upload(upload_id)
    assert record is not None
    assert record.original_name == "Запись.mp3"
    assert record.created_at.tzinfo is not None
    assert store.find_upload_by_stored_name(f"{upload_id}.mp3") == record
    assert store.find_upload_by_stored_name("missing.mp3") is None
    assert store.get_upload("missing") is None
    assert [u.id for u in store.list_uploads()] == [upload_id]


def test_delete_upload_refuses_while_a_task_uses_it(store: SqlTaskStore) -> None:
    upload_id = add_upload(store)
    task = store.create_task(upload_id=upload_id, options={})
    with pytest.raises(Conflict):
        store.delete_upload(upload_id)
    store.cancel_task(task.id)
    with pytest.raises(Conflict):  # a finished task still refers to it
        store.delete_upload(upload_id)
    store.delete_task(task.id)
    deleted = store.delete_upload(upload_id)
    assert deleted.id == upload_id
    assert store.get_upload(upload_id) is None
    with pytest.raises(NotFound):
        store.delete_upload(upload_id)


# -- creating and listing tasks ----------------------------------------------------------------------


def test_created_task_is_pending_with_its_options(store: SqlTaskStore) -> None:
    upload_id = add_upload(store, name="Звонок.wav")
    task = store.create_task(upload_id=upload_id, options={"language": "ru", "initial_prompt": "Иванов"})
    assert task.status is TaskStatus.PENDING
    assert task.options == {"language": "ru", "initial_prompt": "Иванов"}
    assert task.upload_id == upload_id
    assert task.source_name == "Звонок.wav"
    assert (task.progress, task.attempts, task.worker_id, task.effective) == (0.0, 0, None, None)
    assert task.queue_position == 0
    assert store.get_task("no-such-task") is None


def test_queue_position_is_zero_based_among_pending(store: SqlTaskStore) -> None:
    ids = add_tasks(store, 4)
    assert positions(store, ids) == [0, 1, 2, 3]
    assert listed_positions(store) == dict(zip(ids, [0, 1, 2, 3], strict=True))

    claimed = store.claim_next("w1")
    assert claimed is not None
    assert claimed.id == ids[0]
    assert claimed.queue_position is None
    assert positions(store, ids) == [None, 0, 1, 2]
    assert listed_positions(store) == dict(zip(ids, [None, 0, 1, 2], strict=True))

    store.cancel_task(ids[2])
    assert positions(store, ids) == [None, 0, None, 1]
    assert listed_positions(store) == dict(zip(ids, [None, 0, None, 1], strict=True))

    store.cancel_task(ids[1])
    assert positions(store, ids) == [None, None, None, 0]


def test_list_tasks_filters_pages_and_counts(store: SqlTaskStore) -> None:
    ids = add_tasks(store, 5)
    assert store.claim_next("w1") is not None  # ids[0] runs
    store.cancel_task(ids[2])
    # pending now: ids[1], ids[3], ids[4]

    page, total = store.list_tasks(limit=2, offset=0)
    assert total == 5
    assert [(x.id, x.queue_position) for x in page] == [(ids[4], 2), (ids[3], 1)]  # newest first
    page, total = store.list_tasks(limit=2, offset=2)
    assert total == 5
    assert [(x.id, x.queue_position) for x in page] == [(ids[2], None), (ids[1], 0)]
    page, total = store.list_tasks(limit=2, offset=4)
    assert [(x.id, x.queue_position) for x in page] == [(ids[0], None)]
    page, total = store.list_tasks(limit=2, offset=10)
    assert (page, total) == ([], 5)

    page, total = store.list_tasks(statuses=[TaskStatus.PENDING])
    assert total == 3
    assert [(x.id, x.queue_position) for x in page] == [(ids[4], 2), (ids[3], 1), (ids[1], 0)]
    page, total = store.list_tasks(statuses=[TaskStatus.PENDING], limit=1, offset=1)
    assert total == 3
    assert [(x.id, x.queue_position) for x in page] == [(ids[3], 1)]

    page, total = store.list_tasks(statuses=[TaskStatus.CANCELLED, TaskStatus.IN_PROGRESS])
    assert total == 2
    assert [x.id for x in page] == [ids[2], ids[0]]
    assert {x.status for x in page} == {TaskStatus.CANCELLED, TaskStatus.IN_PROGRESS}

    page, total = store.list_tasks(statuses=[TaskStatus.COMPLETED])
    assert (page, total) == ([], 0)


def test_count_by_status(store: SqlTaskStore) -> None:
    ids = add_tasks(store, 3)
    store.claim_next("w1")
    store.cancel_task(ids[1])
    counts = store.count_by_status()
    assert counts == {
        TaskStatus.PENDING: 1,
        TaskStatus.IN_PROGRESS: 1,
        TaskStatus.COMPLETED: 0,
        TaskStatus.FAILED: 0,
        TaskStatus.CANCELLED: 1,
    }


# -- claiming ------------------------------------------------------------------------------------------


def test_claim_is_fifo_and_skips_cancelled(store: SqlTaskStore) -> None:
    ids = add_tasks(store, 4)
    store.cancel_task(ids[1])
    first = store.claim_next("w1")
    assert first is not None
    assert first.id == ids[0]
    assert first.status is TaskStatus.IN_PROGRESS
    assert first.worker_id == "w1"
    assert first.attempts == 1
    assert first.started_at is not None
    assert first.heartbeat_at is not None
    claimed = [store.claim_next("w2"), store.claim_next("w1")]
    assert [c.id if c else None for c in claimed] == [ids[2], ids[3]]
    assert store.claim_next("w1") is None


def test_claim_on_an_empty_queue(store: SqlTaskStore) -> None:
    assert store.claim_next("w1") is None


# -- client-driven transitions --------------------------------------------------------------------------


def test_cancel_pending_task(store: SqlTaskStore) -> None:
    [task_id] = add_tasks(store, 1)
    cancelled = store.cancel_task(task_id)
    assert cancelled.status is TaskStatus.CANCELLED
    assert cancelled.finished_at is not None
    assert cancelled.queue_position is None
    again = store.cancel_task(task_id)  # cancelling twice is fine
    assert again.status is TaskStatus.CANCELLED
    assert store.claim_next("w1") is None


def test_cancel_running_task_stops_its_worker(store: SqlTaskStore) -> None:
    [task_id] = add_tasks(store, 1)
    assert store.claim_next("w1") is not None
    assert store.save_progress(
        task_id, "w1", progress=0.3, eta_seconds=5, first_index=0, new_phrases=PHRASES[:1]
    )
    assert store.cancel_task(task_id).status is TaskStatus.CANCELLED

    assert not store.save_progress(
        task_id, "w1", progress=0.6, eta_seconds=2, first_index=1, new_phrases=PHRASES[1:]
    )
    assert not store.heartbeat_task(task_id, "w1")
    assert not store.complete_task(
        task_id, "w1", first_index=1, new_phrases=PHRASES[1:], language="ru", duration=4.0
    )
    task = get(store, task_id)
    assert task.status is TaskStatus.CANCELLED
    assert task.progress == pytest.approx(0.3)
    assert store.get_phrases(task_id) == PHRASES[:1]


@pytest.mark.parametrize("finished", [TaskStatus.COMPLETED, TaskStatus.FAILED])
def test_cancel_finished_task_conflicts(store: SqlTaskStore, finished: TaskStatus) -> None:
    [task_id] = add_tasks(store, 1)
    assert store.claim_next("w1") is not None
    if finished is TaskStatus.COMPLETED:
        assert store.complete_task(task_id, "w1", first_index=0, language="en", duration=1.0)
    else:
        assert store.fail_task(task_id, "w1", "boom")
    with pytest.raises(Conflict):
        store.cancel_task(task_id)
    assert get(store, task_id).status is finished


def test_unknown_task_is_not_found(store: SqlTaskStore) -> None:
    with pytest.raises(NotFound):
        store.cancel_task("no-such-task")
    with pytest.raises(NotFound):
        store.delete_task("no-such-task")


def test_delete_task_refuses_active_tasks(store: SqlTaskStore) -> None:
    running, pending = add_tasks(store, 2)
    assert store.claim_next("w1") is not None
    assert get(store, running).status is TaskStatus.IN_PROGRESS
    for task_id in (pending, running):
        with pytest.raises(Conflict):
            store.delete_task(task_id)
        assert store.get_task(task_id) is not None


def test_delete_finished_tasks_with_their_phrases(store: SqlTaskStore) -> None:
    done, failed, cancelled, other = add_tasks(store, 4)
    assert store.claim_next("w1") is not None
    assert store.complete_task(done, "w1", first_index=0, new_phrases=PHRASES, language="ru", duration=4.0)
    assert store.claim_next("w1") is not None
    assert store.save_progress(failed, "w1", progress=0.5, eta_seconds=1, first_index=0, new_phrases=PHRASES)
    assert store.fail_task(failed, "w1", "boom")
    store.cancel_task(cancelled)
    assert store.claim_next("w2") is not None
    assert store.complete_task(other, "w2", first_index=0, new_phrases=PHRASES, language="ru", duration=4.0)

    for task_id in (done, failed, cancelled):
        store.delete_task(task_id)
        assert store.get_task(task_id) is None
        assert store.get_phrases(task_id) == []
        with pytest.raises(NotFound):
            store.delete_task(task_id)
    with store.engine.connect() as conn:
        owners = set(conn.execute(select(t.phrases.c.task_id)).scalars())
    assert owners == {other}
    assert store.get_phrases(other) == PHRASES


def test_cancel_pending_cancels_only_pending(store: SqlTaskStore) -> None:
    ids = add_tasks(store, 3)
    assert store.claim_next("w1") is not None
    assert store.cancel_pending() == 2
    assert [get(store, i).status for i in ids] == [
        TaskStatus.IN_PROGRESS,
        TaskStatus.CANCELLED,
        TaskStatus.CANCELLED,
    ]
    assert store.cancel_pending() == 0


# -- worker-driven transitions ------------------------------------------------------------------------


def test_progress_and_completion_store_phrases_in_order(store: SqlTaskStore) -> None:
    [task_id] = add_tasks(store, 1)
    assert store.claim_next("w1") is not None
    assert store.save_progress(
        task_id,
        "w1",
        progress=0.4,
        eta_seconds=3.0,
        first_index=0,
        new_phrases=PHRASES[:2],
        language="ru",
        duration=4.0,
        effective={"WHISPER_BEAM": 5, "WHISPER_PROMPT": "Иванов"},
    )
    running = get(store, task_id)
    assert (running.progress, running.eta_seconds, running.language, running.duration) == (
        0.4,
        3.0,
        "ru",
        4.0,
    )
    assert running.effective == {"WHISPER_BEAM": 5, "WHISPER_PROMPT": "Иванов"}
    assert store.get_phrases(task_id) == PHRASES[:2]

    assert store.complete_task(
        task_id, "w1", first_index=2, new_phrases=PHRASES[2:], language="ru", duration=4.0
    )
    done = get(store, task_id)
    assert done.status is TaskStatus.COMPLETED
    assert (done.progress, done.eta_seconds) == (1.0, 0.0)
    assert done.finished_at is not None
    assert store.get_phrases(task_id) == PHRASES
    assert not store.complete_task(task_id, "w1", first_index=3, language="ru", duration=4.0)


def test_many_phrases_keep_their_order(store: SqlTaskStore) -> None:
    [task_id] = add_tasks(store, 1)
    assert store.claim_next("w1") is not None
    phrases = [Phrase(i * 0.5, i * 0.5 + 0.5, f"phrase {i}") for i in range(120)]
    for start in range(0, 100, 10):
        assert store.save_progress(
            task_id,
            "w1",
            progress=start / 120,
            eta_seconds=None,
            first_index=start,
            new_phrases=phrases[start : start + 10],
        )
    assert store.complete_task(
        task_id, "w1", first_index=100, new_phrases=phrases[100:], language="en", duration=60
    )
    assert store.get_phrases(task_id) == phrases


def test_progress_is_clamped(store: SqlTaskStore) -> None:
    [task_id] = add_tasks(store, 1)
    assert store.claim_next("w1") is not None
    assert store.save_progress(task_id, "w1", progress=1.7, eta_seconds=None, first_index=0)
    assert get(store, task_id).progress == 1.0
    assert store.save_progress(task_id, "w1", progress=-0.5, eta_seconds=None, first_index=0)
    assert get(store, task_id).progress == 0.0


def test_only_the_owning_worker_may_report(store: SqlTaskStore) -> None:
    [task_id] = add_tasks(store, 1)
    assert store.claim_next("w1") is not None
    assert not store.save_progress(
        task_id, "w2", progress=0.5, eta_seconds=None, first_index=0, new_phrases=PHRASES
    )
    assert not store.heartbeat_task(task_id, "w2")
    assert not store.complete_task(task_id, "w2", first_index=0, language=None, duration=None)
    assert not store.fail_task(task_id, "w2", "not mine")
    assert get(store, task_id).status is TaskStatus.IN_PROGRESS
    assert store.get_phrases(task_id) == []
    assert store.heartbeat_task(task_id, "w1")


def test_fail_task_without_a_worker(store: SqlTaskStore) -> None:
    pending, other = add_tasks(store, 2)
    assert store.fail_task(pending, None, "the file disappeared")
    task = get(store, pending)
    assert (task.status, task.error) == (TaskStatus.FAILED, "the file disappeared")
    assert not store.fail_task(pending, None, "again")  # already finished
    assert get(store, pending).error == "the file disappeared"
    assert get(store, other).queue_position == 0


def test_requeue_by_worker_keeps_the_place_at_the_head(store: SqlTaskStore) -> None:
    first, second, third = add_tasks(store, 3)
    assert store.claim_next("dead") is not None
    assert store.claim_next("alive") is not None  # second
    assert store.save_progress(first, "dead", progress=0.5, eta_seconds=9, first_index=0, new_phrases=PHRASES)

    assert store.requeue_abandoned(worker_id="dead") == [first]
    task = get(store, first)
    assert task.status is TaskStatus.PENDING
    assert (task.worker_id, task.progress, task.eta_seconds, task.heartbeat_at) == (None, 0.0, None, None)
    assert task.queue_position == 0
    assert store.get_phrases(first) == []
    assert positions(store, [first, second, third]) == [0, None, 1]
    assert get(store, second).status is TaskStatus.IN_PROGRESS  # another worker's task is untouched

    again = store.claim_next("new")
    assert again is not None
    assert (again.id, again.attempts, again.worker_id) == (first, 2, "new")
    assert not store.save_progress(
        first, "dead", progress=0.9, eta_seconds=1, first_index=0, new_phrases=PHRASES
    )
    assert store.get_phrases(first) == []


def test_requeue_of_a_worker_without_tasks(store: SqlTaskStore) -> None:
    add_tasks(store, 1)
    assert store.requeue_abandoned(worker_id="nobody") == []
    with pytest.raises(ValueError, match="worker"):
        store.requeue_abandoned()


def test_task_fails_after_max_attempts(store: SqlTaskStore) -> None:
    doomed, later = add_tasks(store, 2)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        claimed = store.claim_next(f"w{attempt}")
        assert claimed is not None
        assert (claimed.id, claimed.attempts) == (doomed, attempt)
        assert store.requeue_abandoned(worker_id=f"w{attempt}") == [doomed]
        expected = TaskStatus.FAILED if attempt == MAX_ATTEMPTS else TaskStatus.PENDING
        assert get(store, doomed).status is expected
    task = get(store, doomed)
    assert task.error is not None
    assert str(MAX_ATTEMPTS) in task.error
    assert "stopped" in task.error
    assert task.finished_at is not None
    nxt = store.claim_next("w9")
    assert nxt is not None
    assert nxt.id == later


def test_requeue_by_staleness_touches_only_old_heartbeats(engine: Engine, store: SqlTaskStore) -> None:
    stale, fresh, pending = add_tasks(store, 3)
    assert store.claim_next("w1") is not None
    assert store.claim_next("w2") is not None
    set_heartbeat(engine, stale, timedelta(minutes=10))

    assert store.requeue_abandoned(stale_after=timedelta(minutes=5)) == [stale]
    assert get(store, stale).status is TaskStatus.PENDING
    assert get(store, fresh).status is TaskStatus.IN_PROGRESS
    assert get(store, pending).queue_position == 1
    assert store.requeue_abandoned(stale_after=timedelta(minutes=5)) == []

    # A heartbeat keeps a task alive; a zero limit treats every heartbeat in the past as stale.
    assert store.heartbeat_task(fresh, "w2")
    assert store.requeue_abandoned(stale_after=timedelta(hours=1)) == []
    assert store.requeue_abandoned(stale_after=timedelta(0)) == [fresh]
    assert positions(store, [stale, fresh, pending]) == [0, 1, 2]


def test_requeue_by_worker_and_staleness_needs_both(engine: Engine, store: SqlTaskStore) -> None:
    a, b = add_tasks(store, 2)
    assert store.claim_next("w1") is not None
    assert store.claim_next("w2") is not None
    set_heartbeat(engine, a, timedelta(hours=1))
    set_heartbeat(engine, b, timedelta(hours=1))
    assert store.requeue_abandoned(worker_id="w1", stale_after=timedelta(hours=2)) == []
    assert store.requeue_abandoned(worker_id="w1", stale_after=timedelta(minutes=30)) == [a]
    assert get(store, b).status is TaskStatus.IN_PROGRESS


# -- settings --------------------------------------------------------------------------------------------


def test_settings_save_get_delete_and_model_generation(store: SqlTaskStore) -> None:
    assert store.get_settings() == {}
    assert store.model_generation() == 0

    store.save_settings(
        {
            "WHISPER_BEAM": 5,
            "WHISPER_LANGUAGE": "ru",
            "WHISPER_CONDITION_PREV": False,
            "WHISPER_PATIENCE": 0.5,
        },
        bump_model=False,
    )
    assert store.get_settings() == {
        "WHISPER_BEAM": 5,
        "WHISPER_LANGUAGE": "ru",
        "WHISPER_CONDITION_PREV": False,
        "WHISPER_PATIENCE": 0.5,
    }
    assert store.model_generation() == 0

    store.save_settings(
        {"WHISPER_BEAM": None, "WHISPER_MODEL": "small", "WHISPER_PROMPT": "Иванов"}, bump_model=True
    )
    assert store.get_settings() == {
        "WHISPER_LANGUAGE": "ru",
        "WHISPER_CONDITION_PREV": False,
        "WHISPER_PATIENCE": 0.5,
        "WHISPER_MODEL": "small",
        "WHISPER_PROMPT": "Иванов",
    }
    assert store.model_generation() == 1
    assert store.bump_model_generation() == 2
    assert store.model_generation() == 2

    store.save_settings({"WHISPER_MODEL": None, "WHISPER_NOT_SET": None}, bump_model=True)
    assert "WHISPER_MODEL" not in store.get_settings()
    assert store.model_generation() == 3


# -- speeds -------------------------------------------------------------------------------------------


def _completed(
    store: SqlTaskStore, upload_id: str, *, model: str, device: str, audio: float, wall: float
) -> None:
    """A task completed with ``model`` on ``device`` (int8): ``audio`` seconds in ``wall`` seconds."""
    task = store.create_task(upload_id=upload_id, options={})
    claimed = store.claim_next("w1")
    assert claimed is not None
    assert claimed.id == task.id
    effective = {"WHISPER_MODEL": model, "resolved_device": device, "resolved_compute_type": "int8"}
    assert store.save_progress(
        task.id, "w1", progress=0.0, eta_seconds=None, first_index=0, effective=effective
    )
    assert store.complete_task(task.id, "w1", first_index=0, language="en", duration=audio)
    with store.engine.begin() as conn:
        started = conn.execute(select(t.tasks.c.finished_at).where(t.tasks.c.id == task.id)).scalar_one()
        conn.execute(
            update(t.tasks)
            .where(t.tasks.c.id == task.id)
            .values(started_at=started - timedelta(seconds=wall))
        )


def test_measured_speed_is_per_model_and_device_then_from_calibration(store: SqlTaskStore) -> None:
    upload_id = add_upload(store)
    assert store.measured_speed("base", device="cpu", compute_type="int8") is None
    store.record_calibration("base", device="cpu", compute_type="int8", audio_seconds=11.0, wall_seconds=2.0)
    assert store.measured_speed("base", device="cpu", compute_type="int8") == pytest.approx(5.5)
    assert store.measured_speed("base", device="cuda", compute_type="int8") is None
    _completed(store, upload_id, model="base", device="cpu", audio=100.0, wall=10.0)
    _completed(store, upload_id, model="tiny.en", device="cpu", audio=100.0, wall=2.0)
    _completed(store, upload_id, model="base", device="cpu", audio=50.0, wall=10.0)
    # completed tasks of the same model and device win over the calibration; others do not count
    assert store.measured_speed("base", device="cpu", compute_type="int8") == pytest.approx(150 / 20)
    assert store.measured_speed("tiny.en", device="cpu", compute_type="int8") == pytest.approx(50.0)
    store.record_calibration("base", device="cpu", compute_type="int8", audio_seconds=11.0, wall_seconds=1.0)
    assert store.measured_speed("base", device="cpu", compute_type="int8") == pytest.approx(7.5)


def test_progress_estimated_is_saved_and_cleared(store: SqlTaskStore) -> None:
    task = store.create_task(upload_id=add_upload(store), options={})
    assert store.claim_next("w1") is not None
    assert store.save_progress(
        task.id, "w1", progress=0.3, eta_seconds=5.0, first_index=0, progress_estimated=True
    )
    running = store.get_task(task.id)
    assert running is not None
    assert (running.progress, running.progress_estimated) == (0.3, True)
    assert store.complete_task(task.id, "w1", first_index=0, language="en", duration=1.0)
    done = store.get_task(task.id)
    assert done is not None
    assert (done.progress, done.progress_estimated) == (1.0, False)


# -- workers ------------------------------------------------------------------------------------------


def test_worker_records(store: SqlTaskStore) -> None:
    store.register_worker("w1", pid=123, host="box")
    store.update_worker("w1", state=WorkerState.IDLE, model="base", device="cpu", compute_type="int8")
    [worker] = store.list_workers()
    assert (worker.id, worker.pid, worker.host, worker.state, worker.model) == (
        "w1",
        123,
        "box",
        "idle",
        "base",
    )
    store.register_worker("w1", pid=456, host="box")  # a restart replaces the record
    [worker] = store.list_workers()
    assert (worker.pid, worker.state, worker.model) == (456, "starting", None)
    store.remove_worker("w1")
    assert store.list_workers() == []


def test_a_claim_records_the_worker_and_its_host_and_giving_back_clears_them(store: SqlTaskStore) -> None:
    store.register_worker("w1", pid=123, host="box-1")
    task = store.create_task(upload_id=add_upload(store), options={})
    claimed = store.claim_next("w1")
    assert claimed is not None
    assert (claimed.worker_id, claimed.worker_host) == ("w1", "box-1")
    assert store.release_task(task.id, "w1")
    back = store.get_task(task.id)
    assert back is not None
    assert (back.worker_id, back.worker_host) == (None, None)
    store.claim_next("unregistered")  # a worker without a record: its id, no host
    again = store.get_task(task.id)
    assert again is not None
    assert (again.worker_id, again.worker_host) == ("unregistered", None)
    assert store.complete_task(task.id, "unregistered", first_index=0, language="en", duration=1.0)
    store.remove_worker("w1")
    done = store.get_task(task.id)
    assert done is not None
    assert done.worker_id == "unregistered"  # kept with the finished task


def test_silent_workers_are_forgotten(engine: Engine, store: SqlTaskStore) -> None:
    store.register_worker("old", pid=1, host="a")
    store.register_worker("new", pid=2, host="b")
    with engine.begin() as conn:
        conn.execute(
            update(t.workers)
            .where(t.workers.c.id == "old")
            .values(heartbeat_at=utcnow() - timedelta(hours=1))
        )
    assert store.forget_silent_workers(silent_for=timedelta(minutes=10)) == ["old"]
    assert [w.id for w in store.list_workers()] == ["new"]
    assert store.update_worker("old") is False  # it would register again
    assert store.update_worker("new") is True


# -- concurrency ------------------------------------------------------------------------------------


def test_concurrent_claims_take_every_task_exactly_once(
    make_engine: Callable[[], Engine], store: SqlTaskStore
) -> None:
    ids = add_tasks(store, 50)
    stores = [SqlTaskStore(make_engine()) for _ in range(2)]
    claimed: list[list[str]] = [[], []]
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores))

    def drain(index: int) -> None:
        try:
            start.wait(timeout=10)
            while (task := stores[index].claim_next(f"worker-{index}")) is not None:
                assert task.worker_id == f"worker-{index}"
                claimed[index].append(task.id)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    every = claimed[0] + claimed[1]
    assert len(every) == len(ids)
    assert sorted(every) == sorted(ids)
    for mine in claimed:  # each worker took its tasks in queue order
        assert mine == sorted(mine, key=ids.index)
    tasks, total = store.list_tasks(statuses=[TaskStatus.IN_PROGRESS], limit=100)
    assert total == 50
    assert {task.id: task.worker_id for task in tasks} == {
        task_id: f"worker-{i}" for i, mine in enumerate(claimed) for task_id in mine
    }
    assert all(task.attempts == 1 for task in tasks)


def test_release_task_returns_it_without_counting_the_attempt(store: SqlTaskStore) -> None:
    upload_id = add_upload(store)
    task = store.create_task(upload_id=upload_id, options={})
    claimed = store.claim_next("w1")
    assert claimed is not None
    assert claimed.attempts == 1
    assert store.save_progress(task.id, "w1", progress=0.5, eta_seconds=1.0, first_index=0,
                               new_phrases=[Phrase(0.0, 1.0, "partial")])  # fmt: skip
    assert store.release_task(task.id, "w2") is False
    assert store.release_task(task.id, "w1") is True
    back = store.get_task(task.id)
    assert back is not None
    assert (back.status, back.attempts, back.progress, back.queue_position) == (TaskStatus.PENDING, 0, 0.0, 0)
    assert store.get_phrases(task.id) == []


# -- idempotency keys -------------------------------------------------------------------------------

IDEMPOTENCY_DAY = timedelta(hours=24)
ABANDONED = timedelta(minutes=10)


def claim_key(store: SqlTaskStore, key: str = "k1", *, scope: str = "", fingerprint: str = "f1") -> Claimed:
    now = utcnow()
    return store.claim_idempotency_key(
        scope=scope,
        key=key,
        route="/api/v1/create_task",
        fingerprint=fingerprint,
        expired_before=now - IDEMPOTENCY_DAY,
        abandoned_before=now - ABANDONED,
    )


def age_key(engine: Engine, key: str, by: timedelta) -> None:
    """Make a key's row ``by`` older."""
    keys = t.idempotency_keys
    with engine.begin() as conn:
        created = conn.execute(select(keys.c.created_at).where(keys.c.key == key)).scalar_one()
        conn.execute(update(keys).where(keys.c.key == key).values(created_at=created - by))


def test_a_new_key_is_claimed_and_a_second_claim_sees_the_first(store: SqlTaskStore) -> None:
    first = claim_key(store)
    assert first.claimed
    assert first.record.state == IdempotencyState.PENDING
    second = claim_key(store, fingerprint="f2")
    assert not second.claimed
    assert second.record.claim == first.record.claim
    assert second.record.fingerprint == "f1"  # the row is left as the first request wrote it


def test_finished_keys_keep_the_answer_and_released_ones_are_free_again(store: SqlTaskStore) -> None:
    done = claim_key(store, "done").record
    assert store.finish_idempotency_key(
        scope="", key="done", claim=done.claim, status_code=200, response='{"task_id": "т1"}'
    )
    kept = claim_key(store, "done")
    assert not kept.claimed
    assert (kept.record.state, kept.record.status_code, kept.record.response) == (
        IdempotencyState.DONE,
        200,
        '{"task_id": "т1"}',
    )
    failed = claim_key(store, "failed").record
    store.release_idempotency_key(scope="", key="failed", claim=failed.claim)
    assert store.find_idempotency_key(scope="", key="failed") is None
    assert claim_key(store, "failed").claimed


def test_only_the_holder_of_a_claim_may_finish_or_release_it(store: SqlTaskStore) -> None:
    held = claim_key(store).record
    assert not store.finish_idempotency_key(scope="", key="k1", claim="other", status_code=200, response="{}")
    store.release_idempotency_key(scope="", key="k1", claim="other")
    found = store.find_idempotency_key(scope="", key="k1")
    assert found is not None
    assert (found.claim, found.state) == (held.claim, IdempotencyState.PENDING)
    assert store.finish_idempotency_key(scope="", key="k1", claim=held.claim, status_code=200, response="{}")
    store.release_idempotency_key(scope="", key="k1", claim=held.claim)  # done: a release leaves it
    assert store.find_idempotency_key(scope="", key="k1") is not None


def test_keys_are_per_scope(store: SqlTaskStore) -> None:
    assert claim_key(store, scope="1c").claimed
    assert claim_key(store, scope="scripts").claimed
    assert not claim_key(store, scope="1c").claimed


def test_an_abandoned_claim_is_taken_over_and_its_old_holder_cannot_finish(
    engine: Engine, store: SqlTaskStore
) -> None:
    old = claim_key(store).record
    age_key(engine, "k1", ABANDONED / 2)
    assert not claim_key(store).claimed  # still running, as far as anyone can tell
    age_key(engine, "k1", ABANDONED)
    new = claim_key(store, fingerprint="f2")
    assert new.claimed
    assert (new.record.claim != old.claim, new.record.fingerprint) == (True, "f2")
    assert not store.finish_idempotency_key(
        scope="", key="k1", claim=old.claim, status_code=200, response="{}"
    )


def test_an_answer_is_kept_for_its_day_then_the_key_is_new_and_purged(
    engine: Engine, store: SqlTaskStore
) -> None:
    for key in ("old", "young"):
        record = claim_key(store, key).record
        store.finish_idempotency_key(scope="", key=key, claim=record.claim, status_code=200, response="{}")
    age_key(engine, "old", IDEMPOTENCY_DAY - timedelta(minutes=1))
    assert not claim_key(store, "old").claimed  # a done answer is not "abandoned" however old within its day
    age_key(engine, "old", timedelta(minutes=2))
    taken = claim_key(store, "old", fingerprint="f2")
    assert taken.claimed
    assert taken.record.state == IdempotencyState.PENDING
    age_key(engine, "young", IDEMPOTENCY_DAY + timedelta(minutes=1))
    assert store.purge_idempotency_keys(before=utcnow() - IDEMPOTENCY_DAY) == 1
    with engine.connect() as conn:
        assert conn.execute(select(t.idempotency_keys.c.key)).scalars().all() == ["old"]


def test_concurrent_claims_of_one_key_give_it_to_exactly_one(
    make_engine: Callable[[], Engine], store: SqlTaskStore
) -> None:
    stores = [SqlTaskStore(make_engine()) for _ in range(4)]
    results: list[Claimed] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores))

    def race(index: int) -> None:
        try:
            start.wait(timeout=10)
            for n in range(20):
                results.append(claim_key(stores[index], f"key-{n}", fingerprint=f"f{index}"))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 80
    for n in range(20):
        mine = [r for r in results if r.record.key == f"key-{n}"]
        winners = [r for r in mine if r.claimed]
        assert len(winners) == 1
        assert {r.record.claim for r in mine} == {winners[0].record.claim}


# -- monitoring figures -------------------------------------------------------------------------------


def test_queue_stats_count_the_pending_tasks_and_the_oldest(engine: Engine, store: SqlTaskStore) -> None:
    empty = store.queue_stats()
    assert (empty.depth, empty.audio_seconds, empty.oldest_created_at) == (0, 0.0, None)
    first, second, _third = add_tasks(store, 3)
    with engine.begin() as conn:
        conn.execute(
            update(t.tasks).where(t.tasks.c.id == first).values(created_at=utcnow() - timedelta(hours=1))
        )
    assert store.claim_next("w1") is not None  # takes the oldest: `first`
    stats = store.queue_stats()
    assert (stats.depth, stats.audio_seconds) == (2, 5.0)
    assert stats.oldest_created_at == get(store, second).created_at
    assert stats.oldest_created_at is not None
    assert stats.oldest_created_at.tzinfo is not None
    assert get(store, first).status == TaskStatus.IN_PROGRESS


def test_completed_audio_seconds_sum_only_completed_tasks(store: SqlTaskStore) -> None:
    assert store.completed_audio_seconds() == 0.0
    upload_id = add_upload(store)
    _completed(store, upload_id, model="base", device="cpu", audio=100.0, wall=10.0)
    _completed(store, upload_id, model="base", device="cuda", audio=20.5, wall=1.0)
    failed = store.create_task(upload_id=upload_id, options={})
    assert store.claim_next("w1") is not None
    assert store.save_progress(failed.id, "w1", progress=0.5, eta_seconds=None, first_index=0, duration=9.0)
    assert store.fail_task(failed.id, "w1", "broken")
    store.create_task(upload_id=upload_id, options={})  # pending
    assert store.completed_audio_seconds() == pytest.approx(120.5)


def test_realtime_factors_are_bucketed_per_model_and_device(store: SqlTaskStore) -> None:
    upload_id = add_upload(store)
    bounds = (0.1, 0.5, 1.0)
    assert store.realtime_factors(bounds) == []
    _completed(store, upload_id, model="base", device="cpu", audio=100.0, wall=9.0)  # 0.09
    _completed(store, upload_id, model="base", device="cpu", audio=100.0, wall=30.0)  # 0.3
    _completed(store, upload_id, model="base", device="cpu", audio=10.0, wall=20.0)  # 2.0: over every bound
    _completed(store, upload_id, model="large-v3", device="cuda", audio=100.0, wall=5.0)  # 0.05
    # a task completed without the settings it ran with (before they were recorded) still counts
    task = store.create_task(upload_id=upload_id, options={})
    assert store.claim_next("w1") is not None
    assert store.complete_task(task.id, "w1", first_index=0, language="en", duration=4.0)
    by_engine = {(f.model, f.device): f for f in store.realtime_factors(bounds)}
    assert set(by_engine) == {("base", "cpu"), ("large-v3", "cuda"), ("unknown", "unknown")}
    base = by_engine["base", "cpu"]
    assert base.counts == (1, 1, 0, 1)
    assert base.total == pytest.approx(0.09 + 0.3 + 2.0, abs=1e-4)
    assert by_engine["large-v3", "cuda"].counts == (1, 0, 0, 0)
    assert by_engine["large-v3", "cuda"].total == pytest.approx(0.05, abs=1e-4)
    assert sum(by_engine["unknown", "unknown"].counts) == 1
