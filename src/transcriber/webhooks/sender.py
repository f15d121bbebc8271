"""The sender: takes due deliveries from the outbox, signs and posts them, records each attempt.

It runs in the API process (``serve``), a few deliveries at a time, so one slow receiver does not hold
up the others. Only a 2xx answer counts as delivered; a redirect is not followed (it is a failure: the
allowed host chose to send us elsewhere); the answer's body is not read beyond a few hundred bytes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import httpx
from starlette.concurrency import run_in_threadpool

from transcriber import __version__
from transcriber.clock import utcnow
from transcriber.config import WebhookSettings
from transcriber.store import Delivery, SqlTaskStore
from transcriber.webhooks import schedule
from transcriber.webhooks.signing import parse_secret, signed_headers
from transcriber.webhooks.targets import TargetRefused, Targets

log = logging.getLogger(__name__)
CONCURRENT = 4
"""Deliveries in flight at once."""
NOTE_BYTES = 300
"""How much of a refusing receiver's answer is kept with the attempt."""


class WebhookSender:
    def __init__(self, store: SqlTaskStore, settings: WebhookSettings, *, poll_seconds: float = 1.0) -> None:
        assert settings.secret is not None, "the sender needs the signing secret"
        self.store = store
        self.settings = settings
        self.key = parse_secret(settings.secret.get_secret_value())
        self.targets = Targets(settings)
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=settings.timeout_seconds * 3 + 30)
        timeout = httpx.Timeout(settings.timeout_seconds, connect=settings.timeout_seconds / 2)
        # No proxy from the environment: the receivers are the company's own hosts, reached directly.
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)

    async def run(self) -> None:
        """Send until cancelled; a failure of the database only pauses it."""
        while True:
            try:
                sent = await self.send_due()
            except Exception:
                log.exception("webhooks: the outbox could not be read; trying again shortly")
                sent = 0
            if sent == 0:
                await asyncio.sleep(self.poll_seconds)

    async def close(self) -> None:
        await self.client.aclose()

    async def send_due(self) -> int:
        """Take up to :data:`CONCURRENT` due deliveries and attempt them; how many were attempted."""
        taken = []
        for _ in range(CONCURRENT):
            delivery = await run_in_threadpool(self.store.claim_delivery, lease=self.lease)
            if delivery is None:
                break
            taken.append(delivery)
        await asyncio.gather(*(self.attempt(d) for d in taken))
        return len(taken)

    async def attempt(self, delivery: Delivery) -> None:
        started = time.monotonic()
        status, error = await self._post(delivery)
        delivered = status is not None and 200 <= status < 300
        next_at = None
        if not delivered:
            deadline = delivery.expires_at or delivery.created_at + timedelta(hours=self.settings.retry_hours)
            next_at = schedule.next_attempt(delivery.attempts, now=utcnow(), deadline=deadline)
            log.warning(
                "webhook %s (task %s, attempt %d) not delivered: %s; %s",
                delivery.id,
                delivery.task_id,
                delivery.attempts,
                error or f"HTTP {status}",
                f"next attempt at {next_at:%H:%M:%S} UTC" if next_at else "giving up",
            )
        await run_in_threadpool(
            self.store.record_attempt,
            delivery,
            status=status,
            error=error,
            duration_ms=round((time.monotonic() - started) * 1000),
            delivered=delivered,
            next_attempt_at=next_at,
        )

    async def _post(self, delivery: Delivery) -> tuple[int | None, str | None]:
        """The receiver's status (and a note when it is not 2xx), or no status and what went wrong."""
        try:
            target = await run_in_threadpool(self.targets.target, delivery.url)
        except TargetRefused as exc:
            return None, str(exc)
        body = delivery.payload.encode("utf-8")
        headers = {
            **signed_headers(self.key, delivery.id, int(time.time()), body),
            "content-type": "application/json",
            "user-agent": f"transcriber/{__version__} (webhooks)",
            **target.headers,
        }
        try:
            request = self.client.build_request(
                "POST", target.url, content=body, headers=headers, extensions=target.extensions
            )
            response = await self.client.send(request, stream=True)
            try:
                note = await _first_bytes(response)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if 200 <= response.status_code < 300:
            return response.status_code, None
        if response.is_redirect:
            return response.status_code, f"redirect to {response.headers.get('location', '?')} not followed"
        return response.status_code, note or None


async def _first_bytes(response: httpx.Response) -> str:
    chunks = bytearray()
    async for chunk in response.aiter_raw():
        chunks += chunk
        if len(chunks) >= NOTE_BYTES:
            break
    return bytes(chunks[:NOTE_BYTES]).decode("utf-8", errors="replace").strip()
