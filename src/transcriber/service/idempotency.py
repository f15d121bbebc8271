"""Idempotency keys: a retried request with the same ``Idempotency-Key`` gets the first answer again.

A client (1C, a script) that lost the answer to an upload or a task creation sends the same request
with the same key; it gets the first answer (the same upload id, the same task id) for
``limits.idempotency_hours`` instead of a second upload or task. The same key with a different request
is refused (:class:`IdempotencyKeyReused`), and while the first request still runs, a second one waits
(:class:`IdempotencyKeyInProgress`). Only successful answers are kept: when a request fails, its key is
released, so that a corrected retry runs anew.

What "the same request" means is a fingerprint (SHA-256) of the route and what the request asks for:
the JSON body of a task creation; the parameters, file name and uploaded bytes (their SHA-256) of an
upload. An upload is therefore received again on a retry, and the duplicate is deleted when it turns
out to be one. Keys are per caller: the API key's name, or one common scope without API keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from transcriber.clock import utcnow
from transcriber.config import LimitSettings
from transcriber.errors import IdempotencyKeyInProgress, IdempotencyKeyReused, InvalidIdempotencyKey
from transcriber.store import IdempotencyRecord, IdempotencyState, SqlTaskStore

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
ABANDONED_AFTER = timedelta(minutes=10)
"""A claim older than this was left by a crashed process and may be taken over. A key is claimed only
after the request's body has been received (the bytes decide whether an upload is the same), so a live
claim lasts as long as a task's creation: milliseconds, at worst SQLite's 30 s busy timeout."""
RETRY_AFTER_SECONDS = 1
OK = 200


@dataclass(frozen=True, slots=True)
class IdempotentCall:
    """A request that carries an ``Idempotency-Key``: whose (``scope``), which key, to which route."""

    scope: str
    key: str
    route: str


@dataclass(frozen=True, slots=True)
class Replay:
    """The first answer to an idempotent call, to be sent again."""

    status_code: int
    body: Any


def parse_key(value: str | None, *, scope: str, route: str) -> IdempotentCall | None:
    """The call a request's ``Idempotency-Key`` makes it (None without the header); 1 to 255 printable
    ASCII characters, else :class:`InvalidIdempotencyKey`."""
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_KEY_LENGTH or not all(32 <= ord(ch) < 127 for ch in value):
        raise InvalidIdempotencyKey(
            f"the {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters "
            "(a UUID is a good key: one per file or task, the same on every retry)"
        )
    return IdempotentCall(scope=scope, key=value, route=route)


def fingerprint(route: str, request: Any) -> str:
    """SHA-256 of the route and the request (a JSON-able value), in canonical JSON (keys sorted)."""
    canonical = json.dumps([route, request], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def may_replay(*, store: SqlTaskStore, limits: LimitSettings, call: IdempotentCall | None) -> bool:
    """Whether a request could be answered from its key's first answer, looked at before its body is
    received: :class:`IdempotencyKeyInProgress` while another request holds the key; True when the key
    has an answer of this route (only the body can tell whether it is the same request)."""
    if call is None:
        return False
    record = store.find_idempotency_key(scope=call.scope, key=call.key)
    if record is None or record.created_at < utcnow() - timedelta(hours=limits.idempotency_hours):
        return False
    if record.state == IdempotencyState.PENDING:
        if record.created_at >= utcnow() - ABANDONED_AFTER:
            raise _in_progress()
        return False
    return record.route == call.route


def run_once(
    *,
    store: SqlTaskStore,
    limits: LimitSettings,
    call: IdempotentCall | None,
    request: Any,
    action: Callable[[], Any],
    discard: Callable[[], None] | None = None,
) -> Any:
    """Run ``action`` (it returns the JSON body of a successful answer) once per key: the first call
    claims the key and keeps the answer; a repeated one gets a :class:`Replay` of it. ``request`` is what
    the call asks for (see :func:`fingerprint`). ``discard`` undoes what was done before this call
    (an upload received again) when the call turns out to be a repeat, or is refused."""
    if call is None:
        return action()
    now = utcnow()
    expired_before = now - timedelta(hours=limits.idempotency_hours)
    found = fingerprint(call.route, request)
    claim = store.claim_idempotency_key(
        scope=call.scope,
        key=call.key,
        route=call.route,
        fingerprint=found,
        expired_before=expired_before,
        abandoned_before=now - ABANDONED_AFTER,
    )
    if not claim.claimed:
        if discard is not None:
            discard()
        return _previous(claim.record, call, found)
    held = {"scope": call.scope, "key": call.key, "claim": claim.record.claim}
    try:
        body = action()
    except BaseException:
        store.release_idempotency_key(**held)
        raise
    store.finish_idempotency_key(**held, status_code=OK, response=json.dumps(body, ensure_ascii=False))
    store.purge_idempotency_keys(before=expired_before)
    return body


def _previous(record: IdempotencyRecord, call: IdempotentCall, found: str) -> Replay:
    """The first answer, if ``record`` holds it for this very request."""
    if record.state == IdempotencyState.PENDING:
        raise _in_progress()
    if record.route != call.route or record.fingerprint != found:
        what = "another route" if record.route != call.route else "a different request"
        raise IdempotencyKeyReused(
            f"this {HEADER} was already used for {what} ({record.route}); send a new key with a new "
            "request, and the same key only to retry exactly the same request"
        )
    assert record.status_code is not None
    assert record.response is not None
    return Replay(status_code=record.status_code, body=json.loads(record.response))


def _in_progress() -> IdempotencyKeyInProgress:
    return IdempotencyKeyInProgress(
        f"a request with this {HEADER} is still being processed; retry in {RETRY_AFTER_SECONDS} s "
        "to get its answer",
        retry_after=RETRY_AFTER_SECONDS,
    )
