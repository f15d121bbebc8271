"""Which task a worker takes (store/claims.py): FIFO by default; a worker that may run only some models
leaves the others; the model it holds goes first, but a task for another model waits only so long;
a worker that prefers short tasks takes them before long ones. On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.test_store import BACKENDS
from transcriber import schema as t
from transcriber.clock import utcnow
from transcriber.config import WorkerSettings
from transcriber.db import create_db_engine, migrate
from transcriber.recognition import RecognitionSettings
from transcriber.store import SqlTaskStore
from transcriber.store.claims import ClaimPreferences
from transcriber.transcription import LoadedModel
from transcriber.worker.claiming import pinned, preferences


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlTaskStore]:
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path / "t.db")
    else:
        url = request.getfixturevalue("postgres").new_database()
    engine = create_db_engine(url)
    migrate(engine)
    yield SqlTaskStore(engine)
    engine.dispose()


def task(store: SqlTaskStore, *, model: str | None = None, duration: float | None = 60.0) -> str:
    upload_id = uuid.uuid4().hex
    store.add_upload(
        upload_id=upload_id, original_name="a.wav", stored_name=f"{upload_id}.wav", size=10,
        duration=duration, format="wav", sha256="0" * 64,
    )  # fmt: skip
    return store.create_task(upload_id=upload_id, options={"model": model} if model else {}).id


def claimed(store: SqlTaskStore, prefs: ClaimPreferences | None = None) -> str | None:
    record = store.claim_next("w", prefs)
    return record.id if record else None


def test_by_default_the_oldest_task_goes_first(store: SqlTaskStore) -> None:
    first, second = task(store, model="large-v3"), task(store)
    assert [claimed(store), claimed(store), claimed(store)] == [first, second, None]


def test_a_worker_leaves_the_tasks_for_models_it_may_not_run(store: SqlTaskStore) -> None:
    big, small, unnamed = task(store, model="large-v3"), task(store, model="base"), task(store)
    cpu = ClaimPreferences(models=("base",))
    assert [claimed(store, cpu), claimed(store, cpu), claimed(store, cpu)] == [small, unnamed, None]
    assert claimed(store, ClaimPreferences(models=("large-v3",))) == big


def test_the_model_it_holds_goes_first_until_the_other_has_waited_long_enough(store: SqlTaskStore) -> None:
    other, held, unnamed = task(store, model="small"), task(store, model="base"), task(store)
    holding_base = ClaimPreferences(loaded="base", default="base", affinity_seconds=120)
    assert claimed(store, holding_base) == held  # no reload, though "small" came first
    assert claimed(store, holding_base) == unnamed  # its default is the model it holds
    assert claimed(store, holding_base) == other  # nothing else: it loads "small"
    late, waited = task(store, model="base"), task(store, model="small")
    with store.engine.begin() as conn:  # the "small" task has waited past the affinity time
        conn.execute(
            update(t.tasks).where(t.tasks.c.id == waited).values(created_at=utcnow() - timedelta(minutes=5))
        )
    # both count now ("no reload" and "waited long enough"): the oldest of them first
    assert [claimed(store, holding_base), claimed(store, holding_base)] == [late, waited]


def test_a_task_naming_no_model_needs_a_reload_when_the_worker_holds_another(store: SqlTaskStore) -> None:
    unnamed, held = task(store), task(store, model="small")
    assert claimed(store, ClaimPreferences(loaded="small", default="base")) == held
    assert claimed(store, ClaimPreferences(loaded="small", default="base")) == unnamed


def test_a_worker_that_prefers_short_tasks_takes_them_first(store: SqlTaskStore) -> None:
    long, unknown, short = (
        task(store, duration=3 * 3600),
        task(store, duration=None),
        task(store, duration=90),
    )
    prefers_short = ClaimPreferences(short_seconds=600)
    assert claimed(store, prefers_short) == short
    assert claimed(store) == long  # another worker keeps FIFO
    assert claimed(store, prefers_short) == unknown  # unknown durations count as long


def test_the_worker_pins_its_models_and_device_and_builds_its_rules() -> None:
    saved = RecognitionSettings(model="small", device="cuda")
    assert pinned(saved, device=None, models=[]) == saved
    assert pinned(saved, device="cpu", models=["base", "small"]).model_dump(include={"model", "device"}) == {
        "model": "base",
        "device": "cpu",
    }
    settings = WorkerSettings(models="base, small", prefer_short_seconds=600, affinity_seconds=30)
    assert settings.models == ["base", "small"]
    loaded = LoadedModel(name="small", path="/m/small", device="cpu", compute_type="int8", multilingual=True)
    prefs = preferences(settings, loaded=loaded, preloaded=(3, ("base", "cpu", "auto")))
    assert prefs == ClaimPreferences(
        models=("base", "small"), loaded="small", default="base", affinity_seconds=30, short_seconds=600
    )
