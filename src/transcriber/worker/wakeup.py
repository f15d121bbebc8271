"""How an idle worker waits for the next task: ``LISTEN`` on PostgreSQL, a plain pause on SQLite.

The store sends ``NOTIFY`` when a task becomes claimable (``store.wakeups``). On PostgreSQL an idle
worker waits for that notification on a connection of its own instead of sleeping, so a new task is
taken at once. The wait is always bounded by the poll interval: the worker looks at the queue anyway
after it, so a lost notification, or a listening connection that died, costs one poll interval as
before. A lost connection is opened again at the next wait; it never ends the worker.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine

from transcriber.store.wakeups import CHANNEL
from transcriber.worker.outage import one_line

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

KEEPALIVE = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
"""TCP keepalives on the listening connection: a peer that vanished without closing the connection
(a network cut) is noticed within about a minute, instead of the connection waiting silently forever."""


class Wakeup(Protocol):
    """What an idle worker waits on between looks at the queue."""

    def wait(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds; True if woken early because something may have changed."""
        ...

    def close(self) -> None: ...


class Pause:
    """Polling only: SQLite has no notifications, and on PostgreSQL they can be switched off."""

    def wait(self, timeout: float) -> bool:
        time.sleep(timeout)
        return False

    def close(self) -> None:
        pass


class PostgresListener:
    """``LISTEN`` on a connection of its own (autocommit, outside the engine's pool).

    The connection listens between waits too, so a notification sent while the worker was looking at
    the queue or running a task waits in it and ends the next wait at once. ``notifications`` and
    ``connects`` count what happened, for tests, benchmarks and the log."""

    def __init__(self, conninfo: str, *, channel: str = CHANNEL) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._failing = False
        self.notifications = 0
        self.connects = 0

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if self._conn is None:
            if not self._connect():
                time.sleep(max(0.0, deadline - time.monotonic()))
                return False
            # Notifications sent before LISTEN are lost: look at the queue now, once.
            return True
        try:
            woken = next(iter(self._conn.notifies(timeout=timeout, stop_after=1)), None) is not None
            if woken:
                # Those that came with it, or meanwhile, ask for the same look at the queue.
                self.notifications += 1 + sum(1 for _ in self._conn.notifies(timeout=0))
        except Exception as exc:  # noqa: BLE001 - any failure of the connection: listen afresh
            log.warning("lost the connection listening for new tasks, opening it again: %s", one_line(exc))
            self._drop()
            time.sleep(max(0.0, min(0.1, deadline - time.monotonic())))
            return False
        return woken

    def close(self) -> None:
        self._drop()

    def _connect(self) -> bool:
        import psycopg
        from psycopg.conninfo import make_conninfo

        try:
            conninfo = make_conninfo(self._conninfo, connect_timeout=5, **KEEPALIVE)
            conn = psycopg.connect(conninfo, autocommit=True)
            conn.execute(f'LISTEN "{self._channel}"')
        except Exception as exc:  # noqa: BLE001 - the database may be restarting: poll meanwhile
            if not self._failing:
                log.warning("cannot listen for new tasks, polling meanwhile: %s", one_line(exc))
            self._failing = True
            return False
        self._conn = conn
        self.connects += 1
        if self._failing or self.connects > 1:
            log.info("listening for new tasks again")
        self._failing = False
        return True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken; nothing to release
                log.debug("closing the listening connection failed", exc_info=True)


def wakeup_for(engine: Engine, *, listen: bool) -> Wakeup:
    """A listener on PostgreSQL (unless ``listen`` is off), a plain pause otherwise."""
    if not listen or engine.dialect.name != "postgresql":
        return Pause()
    url = engine.url.set(drivername="postgresql")
    return PostgresListener(url.render_as_string(hide_password=False))
