"""Waiting out a database that cannot be reached: which errors mean that, and the backoff."""

from __future__ import annotations

import logging
import time

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError, DBAPIError)
"""What a database that is restarting, unreachable or locked raises: the worker waits these out."""

OUTAGE_BACKOFF = (0.5, 10.0)
"""The first and the longest pause between attempts while the database cannot be reached."""


class DatabaseOutage:
    """Backoff and logging while the database is unreachable: one line when it starts, one at the end."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.pause = OUTAGE_BACKOFF[0]

    def failed(self, exc: Exception) -> float:
        """Record a failed attempt; returns how long to wait before the next one."""
        if self.since is None:
            self.since = time.monotonic()
            log.warning("database unavailable, pausing until it is back: %s", one_line(exc))
        pause, self.pause = self.pause, min(self.pause * 2, OUTAGE_BACKOFF[1])
        return pause

    def recovered(self) -> None:
        if self.since is not None:
            log.warning("database available again after %.1f s; carrying on", time.monotonic() - self.since)
        self.since = None
        self.pause = OUTAGE_BACKOFF[0]


def one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
