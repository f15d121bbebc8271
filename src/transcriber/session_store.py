"""Web UI sessions: an opaque token in the browser's cookie, its SHA-256 in the database.

The cookie used to hold the API key itself for 30 days and logout did not revoke it. A session now
names the key it was opened with (and a fingerprint of that key's secret), expires, ends on logout, and
ends as soon as its key is removed or rotated.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select

from transcriber import schema as t
from transcriber.db import WRITE


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def key_fingerprint(secret: str) -> str:
    return hashlib.sha256(b"transcriber-session:" + secret.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class UiSession:
    key_name: str
    key_fingerprint: str
    expires_at: datetime


class SqlSessionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(self, *, key_name: str, fingerprint: str, lifetime: timedelta) -> str:
        """A new session; returns the token for the cookie (only its hash is kept)."""
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(delete(t.ui_sessions).where(t.ui_sessions.c.expires_at < now))
            conn.execute(
                insert(t.ui_sessions).values(
                    token_hash=token_hash(token),
                    key_name=key_name,
                    key_fingerprint=fingerprint,
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
        return token

    def find(self, token: str) -> UiSession | None:
        """The live session of ``token``, or None (unknown, ended or expired)."""
        with self.engine.connect() as conn, conn.begin():
            row = (
                conn.execute(select(t.ui_sessions).where(t.ui_sessions.c.token_hash == token_hash(token)))
                .mappings()
                .first()
            )
        if row is None or row["expires_at"] <= datetime.now(UTC):
            return None
        return UiSession(row["key_name"], row["key_fingerprint"], row["expires_at"])

    def close(self, token: str) -> None:
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(delete(t.ui_sessions).where(t.ui_sessions.c.token_hash == token_hash(token)))
