"""Errors of the OpenAI-compatible routes (``/v1/...``) in OpenAI's shape.

Everything else in this service answers ``{"code", "detail"}``; OpenAI's clients expect
``{"error": {"message", "type", "param", "code"}}`` and raise their own exception per status. Rather
than teach every error path two shapes, one middleware rewrites the error answers of ``/v1/`` routes,
whoever made them (a route, the key check, the body limits). Statuses are OpenAI's: a bad parameter is
400 (FastAPI's and our 422), and a task that fails is a 500 that OpenAI's client is told not to retry
(``x-should-retry: false``), since the same file would fail again and each retry would queue a task.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/v1/"
MAX_ERROR_BODY = 64 * 1024
"""Error answers are small; a longer one is passed on as it is."""
NOT_RETRIED = frozenset({409, 500, 504})
"""Statuses OpenAI's client retries by default where a retry would only queue the same task again: a
cancelled task (409), a failed one (500), one still running past the wait (504)."""
_TYPES = {401: "invalid_request_error", 403: "invalid_request_error", 429: "rate_limit_error"}


def error_type(status: int) -> str:
    if status >= 500:
        return "server_error"
    return _TYPES.get(status, "invalid_request_error")


def openai_status(status: int) -> int:
    return 400 if status == 422 else status


def _param(ours: dict[str, Any]) -> str | None:
    if isinstance(ours.get("key"), str):
        return str(ours["key"])
    problems = ours.get("errors")
    if isinstance(problems, list) and problems and isinstance(problems[0], dict):
        loc = [str(p) for p in problems[0].get("loc", ()) if p not in ("body", "query", "path", "header")]
        return ".".join(loc) or None
    return None


def error_document(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error body for one of our errors."""
    code = "invalid_api_key" if status == 401 else code
    return {"error": {"message": message, "type": error_type(status), "param": param, "code": code}}


def reshape(status: int, body: bytes) -> bytes:
    """Our ``{code, detail}`` error body as OpenAI's (a body of another shape is wrapped as the message)."""
    try:
        ours = json.loads(body)
    except ValueError:
        ours = None
    if not isinstance(ours, dict) or "detail" not in ours:
        text = body.decode("utf-8", errors="replace").strip() or "error"
        return json.dumps(error_document(status, "error", text), ensure_ascii=False).encode("utf-8")
    document = error_document(status, str(ours.get("code", "error")), str(ours["detail"]), _param(ours))
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


class OpenAIErrorMiddleware:
    """Rewrites the error answers (status 400 and up) of ``/v1/`` routes into OpenAI's shape."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def reshaping_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] >= 400:
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            status = int(start["status"])
            body = b"".join(chunks)
            if len(body) <= MAX_ERROR_BODY:
                body = reshape(status, body)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers += [(b"content-length", str(len(body)).encode())]
            if status in NOT_RETRIED:
                headers.append((b"x-should-retry", b"false"))
            await send({**start, "status": openai_status(status), "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, reshaping_send)
