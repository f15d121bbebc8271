"""The data folder's guards at start-up: one ``serve`` per folder, and a database that matches its uploads.

A second ``serve`` on the same folder used to delete the first one's uploads in flight (it cleans partial
uploads at start); it now finds the folder locked and stops with a message naming the holder. A database
file that is corrupt, empty or missing while uploads exist means data was lost: the service says so and
stops instead of silently starting an empty queue beside orphaned files.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from transcriber.config import Settings
from transcriber.errors import ServiceError

LOCK_NAME = ".lock"
SQLITE_HEADER = b"SQLite format 3\x00"


class StartupError(ServiceError):
    """The service cannot start on this data folder or database; the message says what to do."""

    code = "startup_error"


class DataDirLock:
    """An exclusive, process-lifetime lock on ``<data_dir>/.lock`` (released by the OS if we die)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._file: IO[str] | None = None

    def acquire(self) -> DataDirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        if not _try_lock(handle):
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StartupError(
                f"the data folder {self.path.parent.resolve()} is in use by another 'transcriber serve' "
                f"({holder}); stop it first, or give this one its own --data-dir"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"PID {os.getpid()} on host {socket.gethostname()}\n")
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the lock
            self._file = None


def _try_lock(handle: IO[str]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def check_database(settings: Settings) -> None:
    """Refuse to start on a SQLite file that is not a database, or on an empty or missing one while
    uploads exist (the queue and transcripts were lost: restore the file rather than start afresh)."""
    if settings.database_url is not None:
        return  # another database (PostgreSQL): open_database reports what is wrong with it
    path = settings.data_dir / "transcriber.db"
    uploads = _count_uploads(settings.uploads_dir)
    size = path.stat().st_size if path.is_file() else None
    if size:
        with open(path, "rb") as fh:
            if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                raise StartupError(
                    f"{path.resolve()} is not an SQLite database (damaged or overwritten). Restore it from a "
                    "backup, or move it away to start with an empty queue"
                )
        return
    if uploads:
        state = "is empty (0 bytes)" if size == 0 else "is missing"
        raise StartupError(
            f"the database {path.resolve()} {state}, but {settings.uploads_dir.resolve()} holds {uploads} "
            "uploaded file(s): the queue and transcripts were lost. Restore the database from a backup; to "
            "start afresh on purpose, move the uploads folder away first"
        )


def open_database(url: str) -> None:
    """Connect and migrate once before serving, turning a failure into one clear line."""
    from transcriber.db import create_db_engine, migrate

    engine = create_db_engine(url)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise StartupError(
            f"cannot open the database {shown}: {reason[0] if reason else type(exc).__name__}. Check that it "
            "is reachable and intact (restore it from a backup if it is damaged)"
        ) from None
    finally:
        engine.dispose()


def _count_uploads(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(1 for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
