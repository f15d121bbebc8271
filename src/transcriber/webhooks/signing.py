"""Standard Webhooks signatures: ``v1,`` + base64 of HMAC-SHA256 over ``{id}.{timestamp}.{body}`` with the
secret's bytes (the base64 after ``whsec_``), in the ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` headers (https://www.standardwebhooks.com)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
MIN_BYTES, MAX_BYTES = 24, 64


def parse_secret(value: str) -> bytes:
    """The key bytes of a ``whsec_...`` secret; ``ValueError`` says what is wrong with it."""
    text = value.strip()
    if not text.startswith(PREFIX):
        raise ValueError("a webhook secret starts with whsec_ (make one with: transcriber webhook-secret)")
    try:
        key = base64.b64decode(text.removeprefix(PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not MIN_BYTES <= len(key) <= MAX_BYTES:
        raise ValueError(f"a webhook secret holds {MIN_BYTES} to {MAX_BYTES} bytes, this one {len(key)}")
    return key


def new_secret() -> str:
    """A fresh secret of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def signed_headers(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, message_id, timestamp, body),
    }
