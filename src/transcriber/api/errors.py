"""The one place where domain errors become HTTP responses: ``{code, detail}`` with a fitting status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from transcriber import errors
from transcriber.api import openai_errors
from transcriber.api.responses import UTF8JSONResponse

STATUS: list[tuple[type[errors.ServiceError], int]] = [
    (errors.TooLarge, 413),
    (errors.RequestTimeout, 408),
    (errors.Unauthorized, 401),
    (errors.QueueFull, 429),
    (errors.InsufficientStorage, 507),
    (errors.BadRequest, 400),
    (errors.InvalidSettings, 422),
    (errors.InvalidSpeaker, 422),
    (errors.IdempotencyKeyReused, 422),
    (errors.PathOutsideStorage, 400),
    (errors.EmptyUpload, 400),
    (errors.InvalidInput, 400),
    (errors.UnsupportedMedia, 415),
    (errors.TaskFailed, 500),
    (errors.StillRunning, 504),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.ModelUnavailable, 422),
    (errors.ServiceError, 400),
]


def status_of(exc: errors.ServiceError) -> int:
    return next(code for cls, code in STATUS if isinstance(exc, cls))


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "detail": detail, **extra}


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path"))
    return f"{loc}: {err.get('msg', 'invalid value')}" if loc else str(err.get("msg", "invalid value"))


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.ServiceError)
    async def _service_error(_request: Request, exc: errors.ServiceError) -> UTF8JSONResponse:
        extra = {"key": exc.key} if isinstance(exc, errors.InvalidSettings) else {}
        headers = {}
        if isinstance(exc, errors.QueueFull | errors.IdempotencyKeyInProgress):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, errors.Unauthorized):
            headers["WWW-Authenticate"] = "Bearer"
        return UTF8JSONResponse(
            error_body(exc.code, exc.detail, **extra), status_code=status_of(exc), headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> UTF8JSONResponse:
        problems = [dict(e) for e in exc.errors()]
        detail = "; ".join(_describe(e) for e in problems[:5]) or "invalid request"
        safe = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in problems[:20]]
        return UTF8JSONResponse(error_body("invalid_request", detail, errors=safe), status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> UTF8JSONResponse:
        # A bug, not the client's fault: still JSON, never a plain-text page; the traceback goes to the log.
        # This answer is made outside every middleware, so the OpenAI routes' shape is given here.
        message = "internal server error; see the server log"
        if request.url.path.startswith(openai_errors.PREFIX):
            return UTF8JSONResponse(
                openai_errors.error_document(500, "internal_error", message), status_code=500
            )
        return UTF8JSONResponse(error_body("internal_error", message), status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> UTF8JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return UTF8JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )
