"""The ``Idempotency-Key`` header of the routes that create something: read, documented, answered.

The rules are the use case's (:mod:`transcriber.service.idempotency`); this module reads the header and
the caller's scope from the request, and sends a kept answer again with ``Idempotent-Replayed: true``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import Header, Request
from starlette.concurrency import run_in_threadpool

from transcriber.api.responses import UTF8JSONResponse
from transcriber.config import LimitSettings
from transcriber.service import idempotency, uploads
from transcriber.service.idempotency import HEADER, IdempotentCall, Replay
from transcriber.storage import UploadStorage
from transcriber.store import SqlTaskStore, UploadRecord

REPLAYED = "Idempotent-Replayed"
DESCRIPTION = (
    "Makes retries safe: a unique key per file or task (e.g. a UUID), the same on every retry of the "
    "same request. Within 24 h (`TRANSCRIBE_LIMITS__IDEMPOTENCY_HOURS`) a repeated request with this key "
    f"gets the first answer again (the same id, header `{REPLAYED}: true`) instead of a second upload or "
    "task; an upload is sent again in full, its bytes decide. The same key with a different request: 422 "
    "`idempotency_key_reused`; while the first request runs: 409 `idempotency_key_in_progress` with "
    "`Retry-After`. A failed request (4xx/5xx) is not kept: retry it corrected with the same key. "
    "Keys are per API key. 1 to 255 printable ASCII characters (else 400)."
)
IdempotencyKeyHeader = Annotated[str | None, Header(alias=HEADER, description=DESCRIPTION)]
REPLAY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            REPLAYED: {
                "description": f"`true` when this is the kept first answer to the same {HEADER}",
                "schema": {"type": "string"},
            }
        }
    }
}


def idempotent_call(request: Request, key: str | None) -> IdempotentCall | None:
    """The request's ``Idempotency-Key`` with its caller: the API key's name, or "" without API keys."""
    scope = getattr(request.state, "key_name", None) or ""
    return idempotency.parse_key(key, scope=scope, route=request.url.path)


def answer(outcome: Any) -> Any:
    """What a route returns: its own answer, or the kept one marked as replayed."""
    if isinstance(outcome, Replay):
        return UTF8JSONResponse(outcome.body, status_code=outcome.status_code, headers={REPLAYED: "true"})
    return outcome


def upload_request(request: Request, record: UploadRecord) -> dict[str, Any]:
    """What an upload asks for: the query parameters, the file's name and its bytes (their SHA-256)."""
    return {
        "query": sorted(request.query_params.multi_items()),
        "name": record.original_name,
        "sha256": record.sha256,
    }


async def answer_upload(
    request: Request,
    call: IdempotentCall | None,
    record: UploadRecord,
    *,
    store: SqlTaskStore,
    storage: UploadStorage,
    limits: LimitSettings,
    action: Callable[[], Any],
) -> Any:
    """Answer a received upload with ``action``'s body, once per key: a repeat deletes the upload it just
    received and gets the first answer."""
    outcome = await run_in_threadpool(
        idempotency.run_once,
        store=store,
        limits=limits,
        call=call,
        request=upload_request(request, record),
        action=action,
        discard=partial(uploads.delete_upload, store=store, storage=storage, upload_id=record.id),
    )
    return answer(outcome)
