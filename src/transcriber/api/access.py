"""The web UI's sign-in: an API key is exchanged for an opaque session in an HttpOnly cookie.

The cookie holds a random token, never the key; the database keeps only the token's hash. A session
lasts ``TRANSCRIBE_SESSION_HOURS``, ends on logout (the old cookie is refused afterwards) and ends as soon
as the key it was opened with is removed or changed.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from transcriber.api.deps import KeyringDep, SessionsDep, SettingsDep, ThrottleDep
from transcriber.api.schemas import ERROR_RESPONSES
from transcriber.api.security import COOKIE, client_address, session_token, too_many_failures
from transcriber.errors import Unauthorized
from transcriber.session_store import key_fingerprint

router = APIRouter(tags=["access"], responses=ERROR_RESPONSES)


class SessionIn(BaseModel):
    key: str = Field(min_length=1, max_length=1000)


class SessionOut(BaseModel):
    auth_required: bool = Field(description="Whether the service has API keys configured")
    authenticated: bool


@router.get("/api/v1/session", response_model=SessionOut)
def session(request: Request, keyring: KeyringDep) -> SessionOut:
    """Whether a key is needed, and whether this request carries a valid key or session."""
    return SessionOut(
        auth_required=keyring.enabled,
        authenticated=bool(getattr(request.state, "authenticated", False)),
    )


@router.post(
    "/api/v1/session", response_model=SessionOut, responses={429: {"description": "Too many wrong keys"}}
)
def open_session(
    body: SessionIn,
    request: Request,
    response: Response,
    keyring: KeyringDep,
    throttle: ThrottleDep,
    sessions: SessionsDep,
    settings: SettingsDep,
) -> Response | SessionOut:
    """Check a key and open a session for this browser (an HttpOnly, SameSite=Strict cookie).

    Wrong keys count towards the same per-address limit as wrong keys on any other path (429)."""
    if not keyring.enabled:
        return SessionOut(auth_required=False, authenticated=True)
    address = client_address(request.scope)
    wait = throttle.retry_after(address)
    if wait is not None:
        return too_many_failures(wait)
    key = keyring.match(body.key)
    if key is None:
        throttle.failed(address)
        raise Unauthorized("the API key is not valid")
    previous = session_token(dict(request.scope["headers"]))
    if previous:
        sessions.close(previous)
    lifetime = timedelta(hours=settings.session_hours)
    token = sessions.open(key_name=key.name, fingerprint=key_fingerprint(key.secret), lifetime=lifetime)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=int(lifetime.total_seconds()),
        path="/",
    )
    return SessionOut(auth_required=True, authenticated=True)


@router.delete("/api/v1/session", response_model=SessionOut)
def close_session(
    request: Request, response: Response, keyring: KeyringDep, sessions: SessionsDep
) -> SessionOut:
    """End this browser's session: the cookie is deleted and its token refused from now on."""
    token = session_token(dict(request.scope["headers"]))
    if token:
        sessions.close(token)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return SessionOut(auth_required=keyring.enabled, authenticated=False)
