"""The contract between the API and a worker on another machine that fetches a task's audio over HTTP.

Both sides import it (neither imports the other): the path of the endpoint and the checksum header.
The checksum is RFC 9530's ``Repr-Digest``: the SHA-256 of the whole file, the same on a full answer
(200) and on any part of it (206), so a download resumed with ``Range`` is checked as one file.
"""

from __future__ import annotations

import base64
import binascii

AUDIO_PATH = "/api/v1/worker/tasks/{task_id}/audio"
DIGEST_HEADER = "Repr-Digest"


def repr_digest(sha256_hex: str) -> str:
    """The ``Repr-Digest`` value for a SHA-256 given as hex: ``sha-256=:<base64>:``."""
    return f"sha-256=:{base64.b64encode(bytes.fromhex(sha256_hex)).decode('ascii')}:"


def sha256_of_digest(value: str | None) -> str | None:
    """The SHA-256 (hex) a ``Repr-Digest`` value carries; None if it has none or it is malformed."""
    for member in (value or "").split(","):
        name, _, item = member.strip().partition("=")
        if name.strip().lower() != "sha-256":
            continue
        item = item.strip()
        if len(item) < 2 or not (item.startswith(":") and item.endswith(":")):
            return None
        try:
            raw = base64.b64decode(item[1:-1], validate=True)
        except (binascii.Error, ValueError):
            return None
        return raw.hex() if len(raw) == 32 else None
    return None
