"""The one clock of the service: timezone-aware UTC, as the store keeps it."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
