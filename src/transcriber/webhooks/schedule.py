"""When a delivery the receiver did not accept is tried again: soon at first (a receiver restarting, a
blip in the network), then less and less often, until its time is up."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

PAUSES = (5, 30, 120, 600, 1800, 3600, 7200, 7200, 14400)
"""Seconds after the 1st, 2nd... failed attempt; the last one repeats."""
JITTER = 0.1
"""Each pause is stretched or shrunk by up to this share, so a receiver that was down is not hit by every
delivery at the same second when it comes back."""


def next_attempt(attempts: int, *, now: datetime, deadline: datetime) -> datetime | None:
    """When to try again after ``attempts`` failed ones; the deadline itself is the last try, and None
    once it has passed (the delivery has failed)."""
    if now >= deadline:
        return None
    jitter = 1 + random.uniform(-JITTER, JITTER)  # noqa: S311 - spreading load, not a secret
    pause = PAUSES[min(max(attempts, 1), len(PAUSES)) - 1] * jitter
    return min(now + timedelta(seconds=pause), deadline)
