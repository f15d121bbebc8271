"""A worker on another machine fetches each task's audio from the API over HTTP (``worker --server``).

The file streams into a cache folder under the worker's own data folder. A download cut by the network
resumes where it stopped (``Range``), with a growing pause between attempts; it gives up after
``attempts`` attempts in a row, or ``give_up_seconds``, without a byte of progress. The whole file is
then checked against the server's SHA-256 (``Repr-Digest``); a damaged copy is fetched again from the
start, once. The copy is removed when its task is over, and copies left by a crashed worker are
removed at the next start.

What a failure means for the task (decided here, documented in docs/operations.md):

- the API cannot be reached, answers 5xx or refuses the worker's key (401/403): not the task's fault,
  so :class:`AudioUnreachable`: the worker gives the task back to the queue (no attempt is spent) and
  pauses before it takes one again;
- the API says the task's audio is not there (404) or the task is not running (409), or the file keeps
  arriving damaged: a :class:`ServiceError`, so the task fails with that message (if it is still ours).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from transcriber.audio_transfer import AUDIO_PATH, DIGEST_HEADER, sha256_of_digest
from transcriber.domain import TaskStatus
from transcriber.errors import ServiceError
from transcriber.storage import file_sha256
from transcriber.store import SqlTaskStore, UploadRecord
from transcriber.worker.audio import AudioUnreachable

log = logging.getLogger(__name__)

ATTEMPTS = 8
"""Attempts in a row without a byte of progress before the download gives up."""
GIVE_UP_SECONDS = 120.0
"""Time without a byte of progress before the download gives up."""
BACKOFF = (1.0, 15.0)
"""The first and the longest pause between attempts; it doubles after each failed attempt."""
UNREACHABLE_PAUSE_SECONDS = 15.0
"""How long a worker that could not reach the API waits before it takes a task again."""
DAMAGED_COPIES = 2
"""Copies whose checksum differs from the server's before the task fails."""
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
PART = ".part"
_TASK_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
RETRIED_STATUS = frozenset({408, 425, 429})


class _Retry(Exception):
    """One attempt failed in a way another attempt may not (a 5xx, a cut, an answer that ended early)."""


@dataclass
class _Download:
    """One file being fetched: where it goes, and the checksum the server announced for it."""

    url: str
    part: Path
    sha256: str | None = None

    @property
    def have(self) -> int:
        try:
            return self.part.stat().st_size
        except FileNotFoundError:
            return 0

    def restart(self) -> None:
        self.part.unlink(missing_ok=True)
        self.sha256 = None


class RemoteAudio:
    """Task audio fetched from the API over HTTP into ``cache_dir`` (an :class:`AudioSource`)."""

    def __init__(
        self,
        *,
        server_url: str,
        api_key: str | None,
        cache_dir: Path,
        attempts: int = ATTEMPTS,
        give_up_seconds: float = GIVE_UP_SECONDS,
        backoff: tuple[float, float] = BACKOFF,
        unreachable_pause: float = UNREACHABLE_PAUSE_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.cache_dir = cache_dir
        self.attempts = attempts
        self.give_up_seconds = give_up_seconds
        self.backoff = backoff
        self.unreachable_pause = unreachable_pause
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.server_url, headers=headers, timeout=TIMEOUT, transport=transport
        )
        cache_dir.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        self._client.close()

    # -- the AudioSource protocol --------------------------------------------------------------------

    def fetch(self, task_id: str, upload: UploadRecord, *, check: Callable[[], None]) -> Path:
        path = self._path(task_id, upload.stored_name)
        path.unlink(missing_ok=True)  # a copy left by an earlier attempt is not trusted unchecked
        download = _Download(url=AUDIO_PATH.format(task_id=task_id), part=path.with_name(path.name + PART))
        damaged = 0
        while True:
            total = self._fetch_whole(task_id, download, check)
            if download.have == total and file_sha256(download.part) == download.sha256:
                os.replace(download.part, path)
                log.info("task %s: audio fetched from %s (%d bytes)", task_id, self.server_url, total)
                return path
            damaged += 1
            download.restart()
            if damaged >= DAMAGED_COPIES:
                raise ServiceError(
                    f"the audio fetched from {self.server_url} arrived damaged {damaged} times (its SHA-256 "
                    "differs from the server's); check the network between the worker and the API"
                )
            log.warning("task %s: the fetched audio is damaged (SHA-256 differs); fetching it again", task_id)

    def release(self, task_id: str) -> None:
        if _TASK_ID.fullmatch(task_id):
            for copy in self.cache_dir.glob(f"{task_id}.*"):
                copy.unlink(missing_ok=True)

    def remove_stale(self, store: SqlTaskStore) -> int:
        """Remove copies left by a worker that stopped without cleaning up (a crash, a power cut): all
        but those of running tasks, which another worker sharing this data folder may be reading."""
        removed = 0
        for copy in self.cache_dir.iterdir():
            task_id = copy.name.split(".", 1)[0]
            task = store.get_task(task_id) if _TASK_ID.fullmatch(task_id) else None
            if task is None or task.status != TaskStatus.IN_PROGRESS:
                copy.unlink(missing_ok=True)
                removed += 1
        return removed

    # -- downloading ----------------------------------------------------------------------------------

    def _path(self, task_id: str, stored_name: str) -> Path:
        if not _TASK_ID.fullmatch(task_id):
            raise ServiceError(f"not a task id: {task_id!r}")
        suffix = Path(stored_name).suffix.lower()
        return self.cache_dir / f"{task_id}{suffix if _SUFFIX.fullmatch(suffix) else ''}"

    def _fetch_whole(self, task_id: str, download: _Download, check: Callable[[], None]) -> int:
        """Attempt until the whole file is in ``download.part``; returns its length."""
        failures, pause, progress_at = 0, self.backoff[0], time.monotonic()
        while True:
            check()
            before = download.have
            try:
                return self._attempt(download, check)
            except (httpx.TransportError, _Retry) as exc:
                problem = _describe(exc)
            if download.have > before:  # it moved on: the count and the pause start again
                failures, pause, progress_at = 0, self.backoff[0], time.monotonic()
            failures += 1
            if failures >= self.attempts or time.monotonic() - progress_at >= self.give_up_seconds:
                raise AudioUnreachable(
                    f"cannot fetch the audio from {self.server_url}: {problem} ({failures} attempt(s) in a "
                    "row without progress)",
                    pause=self.unreachable_pause,
                )
            log.warning(
                "task %s: fetching the audio: %s; again in %.1f s (%d/%d), from byte %d",
                task_id, problem, pause, failures, self.attempts, download.have,
            )  # fmt: skip
            _wait(pause, check)
            pause = min(pause * 2, self.backoff[1])

    def _attempt(self, download: _Download, check: Callable[[], None]) -> int:
        """One request: the rest of the file from what ``download.part`` already holds."""
        have = download.have
        headers = {"Accept-Encoding": "identity"}  # ranges of the file itself, not of a compressed copy
        if have:
            headers["Range"] = f"bytes={have}-"
        with self._client.stream("GET", download.url, headers=headers) as response:
            if response.status_code == 416 and have:  # more than the file holds: not the same file
                download.restart()
                raise _Retry("the partial copy is longer than the file; starting again")
            self._refuse(response)
            sha256 = sha256_of_digest(response.headers.get(DIGEST_HEADER))
            if sha256 is None:
                raise ServiceError(
                    f"{self.server_url} sent the audio without its checksum ({DIGEST_HEADER}): is it "
                    "this service's API, and is it up to date?"
                )
            start, total = _extent(response)
            if start != have or (download.sha256 is not None and sha256 != download.sha256):
                download.restart()  # a whole file instead of the rest, or another file: from the start
                if start != 0:
                    raise _Retry("the answer did not continue the partial copy; starting again")
            download.sha256 = sha256
            with open(download.part, "ab") as out:
                for chunk in response.iter_bytes():  # as it arrives: a cut loses nothing received
                    out.write(chunk)
                    check()
        if download.have < total:
            raise _Retry(f"the answer ended after {download.have} of {total} bytes")
        return total

    def _refuse(self, response: httpx.Response) -> None:
        """Raise unless ``response`` carries the file (200) or a part of it (206)."""
        status = response.status_code
        if status in (200, 206):
            return
        detail = _error_detail(response)
        if status in (401, 403):
            raise AudioUnreachable(
                f"{self.server_url} refused this worker's API key ({status}: {detail}); set "
                "TRANSCRIBE_WORKER__API_KEY to one of the API's keys",
                pause=self.unreachable_pause,
            )
        if status >= 500 or status in RETRIED_STATUS:
            raise _Retry(f"the API answered {status}: {detail}")
        raise ServiceError(f"the API did not give this task's audio ({status}): {detail}")


def _extent(response: httpx.Response) -> tuple[int, int]:
    """Where the body starts in the file, and the file's whole length."""
    if response.status_code == 206:
        found = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
        if found is None:
            raise _Retry(f"a part without a valid Content-Range: {response.headers.get('content-range')!r}")
        return int(found[1]), int(found[3])
    length = response.headers.get("content-length", "")
    if not length.isdigit():
        raise _Retry("the answer has no Content-Length")
    return 0, int(length)


def _error_detail(response: httpx.Response) -> str:
    """The ``detail`` of one of our JSON errors, else the start of the body."""
    response.read()
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail)[:500] if detail else response.text[:200]


def _describe(exc: Exception) -> str:
    if isinstance(exc, _Retry):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _wait(seconds: float, check: Callable[[], None]) -> None:
    """Pause, looking at ``check`` every 0.1 s so a cancelled task or a stopping worker ends it."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        check()
        time.sleep(min(0.1, left))
