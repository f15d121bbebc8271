"""Access control and security headers, as plain ASGI middleware.

API keys: when any key is configured (``TRANSCRIBE_API_KEYS`` or a keys file), every API, export and UI
data route needs ``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` (or the session cookie the web
UI gets from ``POST /api/v1/session``, because an ``<audio>`` element or a download link cannot send
headers). The UI page and its static assets, the API docs and ``/health`` stay open; ``/health`` then
shows its details only to a caller with a key. Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from transcriber.api.responses import UTF8JSONResponse
from transcriber.session_store import SqlSessionStore, key_fingerprint

log = logging.getLogger(__name__)

COOKIE = "transcriber_session"
OPEN_PATHS = frozenset(
    {"/", "/favicon.ico", "/docs", "/redoc", "/openapi.json", "/health", "/health/ready", "/api/v1/session"}
)
OPEN_PREFIXES = ("/static/", "/docs-assets/")
SESSION_PATH = "/api/v1/session"
Sessions = Callable[[], SqlSessionStore | None]
"""The web UI's sessions: None until the application's lifespan has opened the database."""
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

    def current(self, name: str, fingerprint: str) -> ApiKey | None:
        """The configured key a session was opened with, if it is still configured unchanged."""
        for key in self.keys:
            if key.name == name and hmac.compare_digest(key_fingerprint(key.secret), fingerprint):
                return key
        return None

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
    """A key sent in ``Authorization: Bearer`` or ``X-API-Key``."""
    auth = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if b"x-api-key" in headers:
        return headers[b"x-api-key"].decode("latin-1").strip()
    return None


def session_token(headers: dict[bytes, bytes]) -> str | None:
    """The web UI's session token from its cookie."""
    cookie = headers.get(b"cookie")
    if not cookie:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie.decode("latin-1"))
    except Exception:  # noqa: BLE001 - a malformed cookie header is just no session
        return None
    return jar[COOKIE].value if COOKIE in jar else None


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class FailureThrottle:
    """Wrong keys per client address: after ``limit`` failures within ``window`` seconds the address
    waits until the oldest of them is ``window`` seconds old. Bounded: the least recent addresses are
    forgotten beyond ``max_clients``."""

    def __init__(self, *, limit: int = 10, window: float = 60.0, max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int | None:
        """Seconds this address must wait, or None if it may try."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(address)
            if failures is None:
                return None
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if len(failures) < self.limit:
                return None
            return max(1, int(failures[0] + self.window - now + 0.999))

    def failed(self, address: str) -> None:
        with self._lock:
            failures = self._failures.pop(address, None) or deque(maxlen=self.limit)
            failures.append(time.monotonic())
            self._failures[address] = failures
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)


def too_many_failures(retry_after: int) -> UTF8JSONResponse:
    return UTF8JSONResponse(
        {
            "code": "too_many_attempts",
            "detail": f"too many wrong API keys from this address; try again in {retry_after} s",
        },
        status_code=429,
        headers={"Retry-After": str(retry_after)},
    )


class ApiKeyMiddleware:
    """Refuses requests without a valid key (401) when keys are configured; marks the scope's state."""

    def __init__(self, app: ASGIApp, keyring: KeyRing, throttle: FailureThrottle, sessions: Sessions) -> None:
        self.app = app
        self.keyring = keyring
        self.throttle = throttle
        self.sessions = sessions

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
        presented = presented_key(headers)
        address = client_address(scope)
        if presented is not None:
            # While an address is held back, no key it sends is tried: a right guess would stand out.
            wait = self.throttle.retry_after(address)
            if wait is not None:
                await too_many_failures(wait)(scope, receive, send)
                return
        key = self.keyring.match(presented) if presented else await self._session_key(scope, headers)
        state["authenticated"] = key is not None
        state["key_name"] = key.name if key else None
        if key is None and presented is not None:
            self.throttle.failed(address)  # on open paths too: /health's full answer would tell
        path: str = scope["path"]
        if key is None and not is_open(path):
            detail = "the API key is not valid" if presented is not None else MISSING_KEY
            response = UTF8JSONResponse(
                {"code": "unauthorized", "detail": detail},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _session_key(self, scope: Scope, headers: dict[bytes, bytes]) -> ApiKey | None:
        token = session_token(headers)
        sessions = self.sessions() if token else None
        if not token or sessions is None:
            return None
        found = await run_in_threadpool(sessions.find, token)
        return self.keyring.current(found.key_name, found.key_fingerprint) if found else None


LOCAL_NAMES = ("localhost", "localhost.localdomain")
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def own_host_names() -> set[str]:
    """This machine's names, which a LAN client (1C) may use instead of an IP address."""
    names = {socket.gethostname().lower()}
    with contextlib.suppress(OSError):  # resolver trouble leaves the short name
        names.add(socket.getfqdn().lower())
    return names


def _host_name(host: str) -> str:
    """The name part of a ``Host`` header: without the port, brackets or a trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") <= 1 else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostOriginMiddleware:
    """Host names and cross-site requests, for browsers.

    DNS rebinding lets a page on another site reach a service on ``127.0.0.1`` under the page's own host
    name; it cannot change the ``Host`` header. So a request is answered only for an IP address,
    ``localhost``, this machine's names, or ``allowed_hosts`` (400 otherwise). The check applies without
    API keys, or whenever ``allowed_hosts`` is set: with keys a rebound page has no key to send.

    A state-changing request (POST, PUT, PATCH, DELETE) that a browser marks as sent by another site
    (``Sec-Fetch-Site: cross-site``, or an ``Origin`` that is neither this server nor a CORS origin) is
    refused with 403 in every mode. Programs (curl, 1C, scripts) send neither header and are not affected.
    """

    def __init__(
        self, app: ASGIApp, *, allowed_hosts: list[str], cors_origins: list[str], keyring: KeyRing
    ) -> None:
        self.app = app
        self.any_host = "*" in allowed_hosts
        self.explicit = bool(allowed_hosts)
        self.hosts = {_host_name(h) for h in allowed_hosts} | set(LOCAL_NAMES) | own_host_names()
        self.cors_origins = {o.rstrip("/").lower() for o in cors_origins}
        self.keyring = keyring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        if not self._host_allowed(host):
            await _refuse(scope, receive, send, 400, "host_not_allowed", (
                f"this service does not answer to the host name {_host_name(host)!r}; an administrator can "
                "add it to TRANSCRIBE_ALLOWED_HOSTS (or call the service by its IP address)"
            ))  # fmt: skip
            return
        if scope["method"] in STATE_CHANGING and self._cross_site(headers, scope, host):
            await _refuse(scope, receive, send, 403, "cross_site_request", (
                "a web page on another site may not change anything here; open the service's own page, "
                "or add that site to TRANSCRIBE_CORS_ORIGINS"
            ))  # fmt: skip
            return
        await self.app(scope, receive, send)

    def _host_allowed(self, host: str) -> bool:
        if self.any_host or (self.keyring.enabled and not self.explicit):
            return True
        name = _host_name(host)
        return _is_ip(name) or name in self.hosts or name.endswith(".localhost")

    def _cross_site(self, headers: dict[bytes, bytes], scope: Scope, host: str) -> bool:
        origin = headers.get(b"origin", b"").decode("latin-1").strip().rstrip("/").lower()
        if origin and origin in self.cors_origins:
            return False
        if headers.get(b"sec-fetch-site", b"").decode("latin-1").strip().lower() == "cross-site":
            return True
        if not origin:
            return False
        scheme = scope.get("scheme", "http")
        return origin != f"{scheme}://{host.strip().lower()}"


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str, detail: str) -> None:
    await UTF8JSONResponse({"code": code, "detail": detail}, status_code=status)(scope, receive, send)


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
