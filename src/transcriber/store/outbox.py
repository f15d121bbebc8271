"""The webhook outbox: events written with the task's change of state (:func:`announce`, called inside
the transition's transaction), taken by a sender under a lease, their attempts recorded, redelivered on
request. Each change is one statement, like the tasks' transitions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, RowMapping, and_, case, func, insert, select, update

from transcriber import schema as t
from transcriber.clock import utcnow
from transcriber.errors import NotFound
from transcriber.store.base import WITH_UPLOAD, StoreBase
from transcriber.webhooks.events import CALLBACK_OPTION, new_message_id, payload

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class WebhookStats:
    """For monitoring: deliveries by state, and attempts the receiver accepted or not."""

    deliveries: dict[str, int]
    accepted_attempts: int
    failed_attempts: int


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int
    at: datetime
    status: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    """The ``webhook-id``."""
    task_id: str
    event: str
    url: str
    payload: str
    state: str
    attempts: int
    next_attempt_at: datetime
    expires_at: datetime | None
    """When retrying stops; None: ``retry_hours`` after ``created_at``."""
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    history: tuple[Attempt, ...] = ()


def _delivery(row: RowMapping, history: tuple[Attempt, ...] = ()) -> Delivery:
    return Delivery(**{c.name: row[c.name] for c in t.webhook_deliveries.c}, history=history)


def announce(conn: Connection, task_ids: Sequence[str]) -> int:
    """Write the event of each finished task among ``task_ids`` that names a ``callback_url``, in the
    caller's transaction; how many were written."""
    if not task_ids:
        return 0
    columns = [
        t.tasks.c.id,
        t.tasks.c.status,
        t.tasks.c.error,
        t.tasks.c.duration,
        t.tasks.c.language,
        t.tasks.c.options,
        t.tasks.c.created_at,
        t.tasks.c.finished_at,
        t.uploads.c.original_name.label("source_name"),
    ]
    rows = conn.execute(
        select(*columns).select_from(WITH_UPLOAD).where(t.tasks.c.id.in_(task_ids))
    ).mappings()
    now = utcnow()
    written = []
    for row in rows:
        url = json.loads(row["options"] or "{}").get(CALLBACK_OPTION)
        if not url:
            continue
        event, body = payload(dict(row), now=now)
        written.append(
            {
                "id": new_message_id(),
                "task_id": row["id"],
                "event": event,
                "url": url,
                "payload": body,
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    if written:
        conn.execute(insert(t.webhook_deliveries), written)
    return len(written)


class OutboxStore(StoreBase):
    def claim_delivery(self, *, lease: timedelta) -> Delivery | None:
        """Take the delivery that is due the longest, for ``lease``: another sender (another API host)
        takes it only if this one has not recorded its attempt by then."""
        now = utcnow()
        due = (
            select(t.webhook_deliveries.c.id)
            .where(t.webhook_deliveries.c.state == PENDING, t.webhook_deliveries.c.next_attempt_at <= now)
            .order_by(t.webhook_deliveries.c.next_attempt_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        with self._write() as conn:
            row = (
                conn.execute(
                    update(t.webhook_deliveries)
                    .where(
                        t.webhook_deliveries.c.id == due,
                        t.webhook_deliveries.c.state == PENDING,
                        t.webhook_deliveries.c.next_attempt_at <= now,
                    )
                    .values(next_attempt_at=now + lease, attempts=t.webhook_deliveries.c.attempts + 1)
                    .returning(*t.webhook_deliveries.c)
                )
                .mappings()
                .first()
            )
        return _delivery(row) if row is not None else None

    def record_attempt(
        self,
        delivery: Delivery,
        *,
        status: int | None,
        error: str | None,
        duration_ms: int,
        delivered: bool,
        next_attempt_at: datetime | None,
    ) -> None:
        """Log the attempt ``delivery.attempts`` and its outcome: delivered, due again at
        ``next_attempt_at``, or (neither) failed for good."""
        now = utcnow()
        error = error[:ERROR_CHARS] if error else None
        state = DELIVERED if delivered else (PENDING if next_attempt_at is not None else FAILED)
        values: dict[str, object] = {"state": state, "last_status": status, "last_error": error}
        if delivered:
            values["delivered_at"] = now
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        with self._write() as conn:
            conn.execute(
                insert(t.webhook_attempts).values(
                    delivery_id=delivery.id,
                    number=delivery.attempts,
                    at=now,
                    status=status,
                    error=error,
                    duration_ms=duration_ms,
                )
            )
            conn.execute(
                update(t.webhook_deliveries)
                .where(
                    t.webhook_deliveries.c.id == delivery.id,
                    t.webhook_deliveries.c.attempts == delivery.attempts,
                )
                .values(**values)
            )

    def deliveries(self, task_id: str) -> list[Delivery]:
        """A task's deliveries, oldest first, each with its attempts."""
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(t.webhook_deliveries)
                    .where(t.webhook_deliveries.c.task_id == task_id)
                    .order_by(t.webhook_deliveries.c.created_at)
                )
                .mappings()
                .all()
            )
            ids = [r["id"] for r in rows]
            attempts = conn.execute(
                select(t.webhook_attempts)
                .where(t.webhook_attempts.c.delivery_id.in_(ids))
                .order_by(t.webhook_attempts.c.number)
            ).mappings()
            history: dict[str, list[Attempt]] = {i: [] for i in ids}
            for a in attempts:
                history[a["delivery_id"]].append(
                    Attempt(a["number"], a["at"], a["status"], a["error"], a["duration_ms"])
                )
        return [_delivery(r, tuple(history[r["id"]])) for r in rows]

    def redeliver(self, task_id: str, delivery_id: str, *, retry_for: timedelta) -> Delivery:
        """Send a delivery again now, whatever became of it, with the same ``webhook-id``; retried for
        ``retry_for`` from now if the receiver does not accept it."""
        now = utcnow()
        with self._write() as conn:
            row = (
                conn.execute(
                    update(t.webhook_deliveries)
                    .where(
                        t.webhook_deliveries.c.id == delivery_id, t.webhook_deliveries.c.task_id == task_id
                    )
                    .values(state=PENDING, next_attempt_at=now, expires_at=now + retry_for)
                    .returning(*t.webhook_deliveries.c)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"task {task_id} has no webhook delivery {delivery_id}")
        return _delivery(row)

    def webhook_stats(self) -> WebhookStats:
        """Deliveries by state and attempts by outcome, two queries."""
        accepted = and_(t.webhook_attempts.c.status >= 200, t.webhook_attempts.c.status < 300)
        with self._read() as conn:
            states = conn.execute(
                select(t.webhook_deliveries.c.state, func.count()).group_by(t.webhook_deliveries.c.state)
            ).all()
            good, total = conn.execute(
                select(func.coalesce(func.sum(case((accepted, 1), else_=0)), 0), func.count()).select_from(
                    t.webhook_attempts
                )
            ).one()
        counts = {state: 0 for state in (PENDING, DELIVERED, FAILED)} | {s: int(n) for s, n in states}
        return WebhookStats(deliveries=counts, accepted_attempts=int(good), failed_attempts=int(total - good))
