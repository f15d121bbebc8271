"""Bounded work per request: body sizes, an idle-body timeout, a header timeout, quiet disconnects.

- Every request body is limited: upload routes by ``limits.max_upload_bytes``, every other route (JSON)
  by ``limits.max_json_bytes``. A ``Content-Length`` over the limit is refused with 413 before a byte of
  the body is read; a body without one (chunked) is counted while it is read.
- A body that stops arriving for ``limits.body_idle_timeout_seconds`` gets 408 and the connection closes.
- Request headers that do not arrive completely within ``limits.header_timeout_seconds`` close the
  connection (uvicorn has no such timeout: :func:`timed_h11_protocol` adds it at the protocol level).
- A client that disconnects in the middle of a body is logged in one line, not with a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from transcriber.api.responses import UTF8JSONResponse
from transcriber.config import LimitSettings
from transcriber.errors import RequestTimeout, TooLarge

log = logging.getLogger(__name__)

UPLOAD_PATHS = frozenset(
    {
        "/api/v1/upload",
        "/api/v1/upload_raw",
        "/api/v1/transcribe",
        "/v1/audio/transcriptions",
        "/v1/audio/translations",
    }
)
"""Routes whose body is a file; every other body is a small JSON document."""


def _mib(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB"


class BodyLimitMiddleware:
    """Plain ASGI middleware: the size and idle-time limits on request bodies."""

    def __init__(self, app: ASGIApp, limits: LimitSettings) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"] in UPLOAD_PATHS
        limit = self.limits.max_upload_bytes if upload else self.limits.max_json_bytes
        setting = "TRANSCRIBE_LIMITS__MAX_UPLOAD_BYTES" if upload else "TRANSCRIBE_LIMITS__MAX_JSON_BYTES"
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, TooLarge(_too_large(declared, limit, setting, upload)))
            return
        received = 0
        body_done = False
        idle = self.limits.body_idle_timeout_seconds
        violation: TooLarge | RequestTimeout | None = None
        started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done, violation
            if body_done:  # after the body: waiting for a disconnect (event streams) has no timeout
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=idle)
            except TimeoutError:
                violation = RequestTimeout(
                    f"no part of the request body arrived for {idle:g} s; send the body without pauses "
                    "(TRANSCRIBE_LIMITS__BODY_IDLE_TIMEOUT_SECONDS)"
                )
                raise violation from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    violation = TooLarge(_too_large(received, limit, setting, upload))
                    raise violation
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if violation is not None:
                return  # the app's answer to a broken body (FastAPI makes it a 400): ours goes instead
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except ClientDisconnect:
            client = scope.get("client")
            who = f"{client[0]}:{client[1]}" if client else "a client"
            log.info(
                "%s %s: %s disconnected after %s of the body",
                scope["method"],
                scope["path"],
                who,
                _mib(received),
            )
            return
        except Exception:
            if violation is None:
                raise
        if violation is not None and not started:
            await _refuse(scope, receive, send, violation)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(size: int, limit: int, setting: str, upload: bool) -> str:
    what = "the upload" if upload else "the request body"
    return f"{what} is {_mib(size)}; the limit is {_mib(limit)} ({setting})"


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: TooLarge | RequestTimeout) -> None:
    """Answer without reading (the rest of) the body; the connection closes, so it is never read."""
    status = 408 if isinstance(exc, RequestTimeout) else 413
    response = UTF8JSONResponse(
        {"code": exc.code, "detail": exc.detail}, status_code=status, headers={"Connection": "close"}
    )
    await response(scope, receive, send)


def timed_h11_protocol(header_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection whose request headers take longer than
    ``header_timeout`` seconds to arrive (slow-loris): on a new connection and on each keep-alive
    request after the first."""

    class TimedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_header_timer()

        def data_received(self, data: bytes) -> None:
            if self.cycle is None or self.cycle.response_complete:
                self._arm_header_timer()  # waiting for the headers of a (next) request
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                self._cancel_header_timer()  # the headers are complete: the request runs

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_header_timer()
            super().connection_lost(exc)

        def _arm_header_timer(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _cancel_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                log.info("closing a connection whose request headers took over %g s", header_timeout)
                self.transport.close()

    return TimedH11Protocol
