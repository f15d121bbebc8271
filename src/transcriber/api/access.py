"""The web UI's session: exchange an API key for an HttpOnly cookie (for audio, downloads and events)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from transcriber.api.schemas import ERROR_RESPONSES
from transcriber.api.security import COOKIE, KeyRing
from transcriber.errors import Unauthorized

router = APIRouter(tags=["access"], responses=ERROR_RESPONSES)


class SessionIn(BaseModel):
    key: str = Field(min_length=1, max_length=1000)


class SessionOut(BaseModel):
    auth_required: bool = Field(description="Whether the service has API keys configured")
    authenticated: bool


def _keyring(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.keyring
    return keyring


@router.get("/api/v1/session", response_model=SessionOut)
def session(request: Request) -> SessionOut:
    """Whether a key is needed, and whether this request carries a valid one."""
    return SessionOut(
        auth_required=_keyring(request).enabled,
        authenticated=bool(getattr(request.state, "authenticated", False)),
    )


@router.post("/api/v1/session", response_model=SessionOut)
def open_session(body: SessionIn, request: Request, response: Response) -> SessionOut:
    """Check a key and keep it in an HttpOnly, SameSite=Strict cookie for this browser."""
    keyring = _keyring(request)
    if not keyring.enabled:
        return SessionOut(auth_required=False, authenticated=True)
    if keyring.match(body.key) is None:
        raise Unauthorized("the API key is not valid")
    response.set_cookie(
        COOKIE,
        body.key,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=30 * 24 * 3600,
    )
    return SessionOut(auth_required=keyring.enabled, authenticated=True)


@router.delete("/api/v1/session", response_model=SessionOut)
def close_session(request: Request, response: Response) -> SessionOut:
    response.delete_cookie(COOKIE)
    return SessionOut(auth_required=_keyring(request).enabled, authenticated=False)
