"""Idempotency keys: the first answer to a request sent with an ``Idempotency-Key``, kept to be replayed.

A key is claimed by one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` statement that takes an existing
row over only when it has expired or is a claim its request abandoned (a crashed process); otherwise the
row stays as it is and is returned, so the caller can tell a replay from a key still in use. Finishing
and releasing a claim are one statement each and touch only the claim they were given.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from transcriber import schema as t
from transcriber.clock import utcnow
from transcriber.store.base import StoreBase

KEYS = t.idempotency_keys


class IdempotencyState(StrEnum):
    PENDING = "pending"
    """A request holds the key and is running."""
    DONE = "done"
    """The request answered; its response is kept."""


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    scope: str
    key: str
    route: str
    fingerprint: str
    state: IdempotencyState
    claim: str
    status_code: int | None
    response: str | None
    """The JSON body of the answer, once ``DONE``."""
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Claimed:
    """What :meth:`IdempotencyStore.claim_idempotency_key` found: ``claimed`` if the key is now ours
    (``record.claim`` then names our claim), else the row another request left."""

    claimed: bool
    record: IdempotencyRecord


def _upsert(conn: Connection) -> Any:
    """The dialect's ``INSERT`` with ``ON CONFLICT`` (SQLite 3.24+ and PostgreSQL share its form)."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(KEYS)


class IdempotencyStore(StoreBase):
    def claim_idempotency_key(
        self,
        *,
        scope: str,
        key: str,
        route: str,
        fingerprint: str,
        expired_before: datetime,
        abandoned_before: datetime,
    ) -> Claimed:
        """Claim ``(scope, key)`` for a request (state ``PENDING``), in one atomic statement: a new key,
        an expired row (created before ``expired_before``) or an abandoned claim (``PENDING`` since
        before ``abandoned_before``) becomes ours; any other row is returned untouched."""
        values = {
            "scope": scope,
            "key": key,
            "route": route,
            "fingerprint": fingerprint,
            "state": IdempotencyState.PENDING.value,
            "claim": uuid.uuid4().hex,
            "status_code": None,
            "response": None,
            "created_at": utcnow(),
        }
        takeover = or_(
            KEYS.c.created_at < expired_before,
            and_(KEYS.c.state == IdempotencyState.PENDING.value, KEYS.c.created_at < abandoned_before),
        )
        with self._write() as conn:
            statement = _upsert(conn).values(**values)
            statement = statement.on_conflict_do_update(
                index_elements=[KEYS.c.scope, KEYS.c.key],
                set_={k: v for k, v in values.items() if k not in ("scope", "key")},
                where=takeover,
            ).returning(*KEYS.c)
            row = conn.execute(statement).mappings().first()
            if row is not None:
                return Claimed(claimed=True, record=_record(row))
            # The conflicting row is locked by the statement above (PostgreSQL) or by the write
            # transaction (SQLite), so this reads the row that kept the key.
            row = conn.execute(select(KEYS).where(KEYS.c.scope == scope, KEYS.c.key == key)).mappings().one()
            return Claimed(claimed=False, record=_record(row))

    def find_idempotency_key(self, *, scope: str, key: str) -> IdempotencyRecord | None:
        with self._read() as conn:
            row = (
                conn.execute(select(KEYS).where(KEYS.c.scope == scope, KEYS.c.key == key)).mappings().first()
            )
        return _record(row) if row else None

    def finish_idempotency_key(
        self, *, scope: str, key: str, claim: str, status_code: int, response: str
    ) -> bool:
        """Keep the answer of the request holding ``claim``. False if the claim is no longer its own
        (taken over as abandoned); the answer is then not kept."""
        with self._write() as conn:
            row = conn.execute(
                update(KEYS)
                .where(*self._held(scope, key, claim))
                .values(state=IdempotencyState.DONE.value, status_code=status_code, response=response)
                .returning(KEYS.c.claim)
            ).first()
        return row is not None

    def release_idempotency_key(self, *, scope: str, key: str, claim: str) -> None:
        """Give a key back after its request failed, so that a corrected retry runs anew."""
        with self._write() as conn:
            conn.execute(delete(KEYS).where(*self._held(scope, key, claim)))

    def purge_idempotency_keys(self, *, before: datetime) -> int:
        """Forget the keys created before ``before``; how many were forgotten."""
        with self._write() as conn:
            return len(
                conn.execute(delete(KEYS).where(KEYS.c.created_at < before).returning(KEYS.c.key)).all()
            )

    @staticmethod
    def _held(scope: str, key: str, claim: str) -> tuple[Any, ...]:
        return (
            KEYS.c.scope == scope,
            KEYS.c.key == key,
            KEYS.c.claim == claim,
            KEYS.c.state == IdempotencyState.PENDING.value,
        )


def _record(row: Any) -> IdempotencyRecord:
    return IdempotencyRecord(
        scope=row["scope"],
        key=row["key"],
        route=row["route"],
        fingerprint=row["fingerprint"],
        state=IdempotencyState(row["state"]),
        claim=row["claim"],
        status_code=row["status_code"],
        response=row["response"],
        created_at=row["created_at"],
    )
