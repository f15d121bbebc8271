"""The webhook outbox on SQLite and PostgreSQL: events written with the task's end, in the same
transaction; leases; attempts; redelivery."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import Engine, func, select, update

from tests.test_store import add_tasks, db_url, engine, make_engine, store  # noqa: F401 - fixtures
from transcriber import schema as t
from transcriber.clock import utcnow
from transcriber.store import SqlTaskStore

HOOK = "http://1c.local/hook"
LEASE = timedelta(seconds=60)


def test_each_end_of_a_task_with_a_callback_is_one_event(store: SqlTaskStore) -> None:  # noqa: F811
    done, failed, cancelled, running_cancelled, silent = add_tasks(store, 5, callback_url=HOOK)[:5]
    store.create_task(upload_id=store.get_task(done).upload_id, options={})  # type: ignore[union-attr]
    assert store.claim_next("w1").id == done  # type: ignore[union-attr]
    assert store.complete_task(done, "w1", first_index=0, language="ru", duration=4.0)
    assert store.claim_next("w1").id == failed  # type: ignore[union-attr]
    assert store.fail_task(failed, "w1", "the file is damaged")
    store.cancel_task(cancelled)
    assert store.claim_next("w1").id == running_cancelled  # type: ignore[union-attr]
    store.cancel_task(running_cancelled)
    store.cancel_task(running_cancelled)  # a second cancel announces nothing more
    assert store.cancel_pending() == 2  # `silent` and the task without a callback
    events = {
        tid: [(d.event, d.url, d.state) for d in store.deliveries(tid)] for tid in [done, failed, cancelled]
    }
    assert events == {
        done: [("task.completed", HOOK, "pending")],
        failed: [("task.failed", HOOK, "pending")],
        cancelled: [("task.cancelled", HOOK, "pending")],
    }
    assert [d.event for d in store.deliveries(running_cancelled)] == ["task.cancelled"]
    assert [d.event for d in store.deliveries(silent)] == ["task.cancelled"]
    body = json.loads(store.deliveries(failed)[0].payload)
    assert body["data"]["error"] == "the file is damaged"
    assert body["data"]["source_name"] == "call.mp3"


def test_no_callback_no_event(store: SqlTaskStore, engine: Engine) -> None:  # noqa: F811
    (task_id,) = add_tasks(store, 1)
    store.claim_next("w1")
    store.complete_task(task_id, "w1", first_index=0, language="ru", duration=1.0)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.webhook_deliveries)).scalar() == 0


def test_an_abandoned_task_that_fails_is_announced(store: SqlTaskStore, engine: Engine) -> None:  # noqa: F811
    (task_id,) = add_tasks(store, 1, callback_url=HOOK)
    with engine.begin() as conn:
        conn.execute(update(t.tasks).values(attempts=3))
    store.claim_next("w1")
    assert store.requeue_abandoned(worker_id="w1") == [task_id]
    assert [d.event for d in store.deliveries(task_id)] == ["task.failed"]


def test_a_lease_keeps_a_delivery_from_a_second_sender(store: SqlTaskStore) -> None:  # noqa: F811
    (task_id,) = add_tasks(store, 1, callback_url=HOOK)
    store.cancel_task(task_id)
    first = store.claim_delivery(lease=LEASE)
    assert first is not None
    assert first.attempts == 1
    assert store.claim_delivery(lease=LEASE) is None  # leased
    store.record_attempt(
        first, status=500, error="no", duration_ms=12, delivered=False, next_attempt_at=utcnow()
    )
    again = store.claim_delivery(lease=LEASE)
    assert again is not None
    assert (again.id, again.attempts) == (first.id, 2)
    store.record_attempt(again, status=204, error=None, duration_ms=7, delivered=True, next_attempt_at=None)
    (delivery,) = store.deliveries(task_id)
    assert (delivery.state, delivery.last_status, delivery.delivered_at is not None) == (
        "delivered",
        204,
        True,
    )
    assert [(a.number, a.status, a.error) for a in delivery.history] == [(1, 500, "no"), (2, 204, None)]
    assert store.claim_delivery(lease=LEASE) is None


def test_an_expired_lease_is_taken_again(store: SqlTaskStore, engine: Engine) -> None:  # noqa: F811
    (task_id,) = add_tasks(store, 1, callback_url=HOOK)
    store.cancel_task(task_id)
    taken = store.claim_delivery(lease=LEASE)
    assert taken is not None
    with engine.begin() as conn:  # the sender died holding it
        conn.execute(update(t.webhook_deliveries).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    retaken = store.claim_delivery(lease=LEASE)
    assert retaken is not None
    assert retaken.attempts == 2
    # the first sender's late record does not overwrite the second's claim
    store.record_attempt(taken, status=204, error=None, duration_ms=1, delivered=True, next_attempt_at=None)
    assert store.deliveries(task_id)[0].state == "pending"


def test_giving_up_and_redelivering(store: SqlTaskStore) -> None:  # noqa: F811
    (task_id,) = add_tasks(store, 1, callback_url=HOOK)
    store.cancel_task(task_id)
    taken = store.claim_delivery(lease=LEASE)
    assert taken is not None
    store.record_attempt(
        taken, status=None, error="refused", duration_ms=1, delivered=False, next_attempt_at=None
    )
    (failed,) = store.deliveries(task_id)
    assert failed.state == "failed"
    again = store.redeliver(task_id, failed.id, retry_for=timedelta(hours=1))
    assert (again.id, again.state) == (failed.id, "pending")
    assert again.expires_at is not None
    assert store.claim_delivery(lease=LEASE) is not None


def test_deleting_a_task_deletes_its_deliveries(store: SqlTaskStore, engine: Engine) -> None:  # noqa: F811
    (task_id,) = add_tasks(store, 1, callback_url=HOOK)
    store.cancel_task(task_id)
    taken = store.claim_delivery(lease=LEASE)
    assert taken is not None
    store.record_attempt(
        taken, status=500, error=None, duration_ms=1, delivered=False, next_attempt_at=utcnow()
    )
    store.delete_task(task_id)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.webhook_deliveries)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(t.webhook_attempts)).scalar() == 0
