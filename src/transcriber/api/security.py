"""Access control and security headers, as plain ASGI middleware.

API keys: when any key is configured (``TRANSCRIBE_API_KEYS`` or a keys file), every API, export and UI
data route needs ``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` (or the session cookie the web
UI gets from ``POST /api/v1/session``, because an ``<audio>`` element or a download link cannot send
headers). The UI page and its static assets, the API docs and ``/health`` stay open; ``/health`` then
shows its details only to a caller with a key. Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from transcriber.api.responses import UTF8JSONResponse

log = logging.getLogger(__name__)

COOKIE = "transcriber_key"
OPEN_PATHS = frozenset(
    {"/", "/favicon.ico", "/docs", "/redoc", "/openapi.json", "/health", "/health/ready", "/api/v1/session"}
)
OPEN_PREFIXES = ("/static/", "/docs-assets/")
SESSION_PATH = "/api/v1/session"
MISSING_KEY = "an API key is required: send the header 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# Swagger UI and ReDoc pages start themselves with an inline script.
DOCS_CSP = (
    CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    )
    + "; worker-src 'self' blob:"
)


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str
    secret: str


def parse_keys(text: str, *, source: str) -> list[ApiKey]:
    """Keys from ``name:key`` lines (or bare keys, named ``<source>-N``); ``#`` starts a comment."""
    keys = []
    for number, raw in enumerate(text.replace(",", "\n").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, secret = line.partition(":")
        if not sep:
            name, secret = f"{source}-{number}", line
        secret = secret.strip()
        if len(secret) < 16:
            raise ValueError(f"{source}, entry {number}: an API key must be at least 16 characters long")
        if not all(33 <= ord(ch) < 127 and ch not in ';"\\' for ch in secret):
            raise ValueError(
                f"{source}, entry {number}: an API key may hold only printable ASCII characters "
                "without spaces, quotes, backslashes or ';'"
            )
        keys.append(ApiKey(name=name.strip() or f"{source}-{number}", secret=secret))
    return keys


class KeyRing:
    """The configured keys: from the environment, plus a file that is re-read when it changes
    (so keys can be rotated without a restart)."""

    recheck_seconds = 2.0
    """How often the keys file's modification time is looked at."""

    def __init__(self, inline: str | None, file: Path | None) -> None:
        self._inline = parse_keys(inline, source="TRANSCRIBE_API_KEYS") if inline else []
        self._file = file
        self._file_keys: list[ApiKey] = []
        self._file_mtime: float | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        if file is not None:
            self._reload(force=True)

    def _reload(self, *, force: bool = False) -> None:
        if self._file is None:
            return
        now = time.monotonic()
        if not force and now - self._checked < self.recheck_seconds:
            return
        self._checked = now
        try:
            mtime = self._file.stat().st_mtime
            if force or mtime != self._file_mtime:
                keys = parse_keys(self._file.read_text(encoding="utf-8"), source=self._file.name)
                with self._lock:
                    self._file_keys, self._file_mtime = keys, mtime
                log.info("API keys loaded from %s: %d key(s)", self._file, len(keys))
        except (OSError, ValueError) as exc:
            if force:
                raise
            log.error("cannot re-read the API keys file %s (%s); keeping the previous keys", self._file, exc)

    @property
    def keys(self) -> list[ApiKey]:
        self._reload()
        with self._lock:
            return [*self._inline, *self._file_keys]

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def match(self, presented: str | None) -> ApiKey | None:
        """The key ``presented`` equals, compared in constant time against every key."""
        if not presented:
            return None
        found = None
        candidate = presented.encode()
        for key in self.keys:
            if hmac.compare_digest(candidate, key.secret.encode()):
                found = key
        return found


def presented_key(headers: dict[bytes, bytes]) -> str | None:
    auth = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if b"x-api-key" in headers:
        return headers[b"x-api-key"].decode("latin-1").strip()
    cookie = headers.get(b"cookie")
    if cookie:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie.decode("latin-1"))
        except Exception:  # noqa: BLE001 - a malformed cookie header is just no key
            return None
        if COOKIE in jar:
            return jar[COOKIE].value
    return None


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


class ApiKeyMiddleware:
    """Refuses requests without a valid key (401) when keys are configured; marks the scope's state."""

    def __init__(self, app: ASGIApp, keyring: KeyRing) -> None:
        self.app = app
        self.keyring = keyring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if not self.keyring.enabled:
            state["authenticated"] = True
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = self.keyring.match(presented_key(headers))
        state["authenticated"] = key is not None
        state["key_name"] = key.name if key else None
        path: str = scope["path"]
        if key is None and not is_open(path):
            given = presented_key(headers) is not None
            detail = "the API key is not valid" if given else MISSING_KEY
            response = UTF8JSONResponse(
                {"code": "unauthorized", "detail": detail},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    """No sniffing, no framing, no referrer, and a CSP without inline script (docs pages excepted)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] in ("/docs", "/redoc") else CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra: Iterable[tuple[bytes, bytes]] = (
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-security-policy", csp.encode()),
                )
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
