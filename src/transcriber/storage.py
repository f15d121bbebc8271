"""Upload storage on the local disk: streamed writes, unique names, and the path-safety check.

A client never names a path we open: ``resolve_client_path`` only maps a path the client was given back
to the name of one of our files, and refuses anything outside the upload folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transcriber.errors import PathOutsideStorage

_EXTENSION = re.compile(r"^[a-z0-9]{1,8}$")
INCOMING = ".incoming"
STALE_PART_SECONDS = 3600.0
"""A partial upload not written to for this long was left by a crash (a live one grows every second)."""


def new_upload_id() -> str:
    return uuid.uuid4().hex


def safe_extension(original_name: str) -> str:
    """The lower-case extension of a client's file name if it is plain (``mp3``), else ``""``."""
    base = original_name.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base:
        return ""
    ext = base.rsplit(".", 1)[-1].lower()
    return ext if _EXTENSION.fullmatch(ext) else ""


def display_name(original_name: str | None) -> str:
    """A client's file name as display data: no directories, no control characters, bounded length."""
    name = (original_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "audio"


def file_sha256(path: Path, *, chunk_size: int = 1024**2) -> str:
    """The SHA-256 of a file's content, as lower-case hex (read in chunks, any size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class IncomingFile:
    """A file being received: written in chunks, hashed on the way, removed unless committed."""

    path: Path
    size: int = 0
    _hash: Any = field(default_factory=hashlib.sha256)
    _fh: Any = None

    def write(self, chunk: bytes) -> None:
        if self._fh is None:
            self._fh = open(self.path, "wb")  # noqa: SIM115 - closed in close()/discard()
        self._fh.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def close(self) -> None:
        if self._fh is None:
            self._fh = open(self.path, "wb")  # noqa: SIM115 - an empty file
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()

    @property
    def sha256(self) -> str:
        return str(self._hash.hexdigest())

    def discard(self) -> None:
        if self._fh is not None and not self._fh.closed:
            self._fh.close()
        self.path.unlink(missing_ok=True)


class UploadStorage:
    """The folder of uploaded files. Stored names are ``<upload id>.<ext>``, never a client's name."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.incoming_dir = self.root / INCOMING
        self.incoming_dir.mkdir(parents=True, exist_ok=True)

    def incoming(self) -> IncomingFile:
        return IncomingFile(path=self.incoming_dir / f"{uuid.uuid4().hex}.part")

    def commit(self, incoming: IncomingFile, stored_name: str) -> Path:
        target = self.path_of(stored_name)
        if target.exists():  # never overwrite an earlier upload
            raise FileExistsError(target)
        os.replace(incoming.path, target)
        return target

    def path_of(self, stored_name: str) -> Path:
        if not stored_name or "/" in stored_name or "\\" in stored_name or stored_name.startswith("."):
            raise PathOutsideStorage(f"not a stored file name: {stored_name!r}")
        return self.root / stored_name

    def remove(self, stored_name: str) -> None:
        self.path_of(stored_name).unlink(missing_ok=True)

    def clean_incoming(self, *, older_than: float = STALE_PART_SECONDS) -> int:
        """Remove partial uploads left by a crash: only those untouched for ``older_than`` seconds, so an
        upload still arriving (another process on this folder) is never cut. Returns how many."""
        removed = 0
        cutoff = time.time() - older_than
        for leftover in self.incoming_dir.glob("*.part"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
        return removed

    def resolve_client_path(self, client_path: str) -> str:
        """Map a path a client sent (``stored_path`` from an upload) to one of our stored names.

        Relative paths are taken inside the upload folder. Anything that resolves (following
        symlinks) outside the folder, or into a subfolder of it, raises :class:`PathOutsideStorage`.
        The file itself is not opened here.
        """
        if not client_path or "\x00" in client_path or len(client_path) > 4096:
            raise PathOutsideStorage("file_path is empty or not a valid path")
        candidate = Path(client_path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        resolved = Path(os.path.realpath(candidate))
        same_folder = os.path.normcase(str(resolved.parent)) == os.path.normcase(str(self.root))
        if not same_folder or resolved.name.startswith(".") or "\\" in resolved.name:
            raise PathOutsideStorage(
                "file_path must be a file in this service's upload storage: pass the stored_path "
                "returned by /api/v1/upload (or use upload_id)"
            )
        return resolved.name
