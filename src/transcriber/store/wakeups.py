"""Telling idle workers that a task may be claimable: ``NOTIFY`` on PostgreSQL, nothing on SQLite.

The notification is sent inside the caller's transaction, so PostgreSQL delivers it at commit: a worker
woken by it always sees the change. It is only a hint; workers still look at the queue now and then
(``worker.wakeup``), so a lost notification costs one poll interval, never a task.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Connection, func, select

CHANNEL = "transcriber_queue"
"""The PostgreSQL channel workers ``LISTEN`` on."""


class Wake(StrEnum):
    """Why workers are woken (the notification's payload)."""

    TASK = "task"
    """A task was created or given back to the queue."""
    SETTINGS = "settings"
    """The saved settings changed what model a worker should have loaded."""


def wake_workers(conn: Connection, reason: Wake) -> None:
    """Notify listening workers at the commit of ``conn``'s transaction (PostgreSQL only).

    PostgreSQL folds identical notifications of one transaction into one, so a transition that
    requeues many tasks wakes each worker once."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_notify(CHANNEL, reason.value)))
