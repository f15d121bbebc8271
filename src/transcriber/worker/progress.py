"""A running task's progress and ETA."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class ProgressClock:
    """Progress as decoded audio over total audio, and an ETA from the running task's own speed."""

    duration: float
    started: float = field(default_factory=time.monotonic)

    def progress(self, position: float) -> float:
        if self.duration <= 0:
            return 0.0
        return max(0.0, min(1.0, position / self.duration))

    def eta(self, position: float) -> float | None:
        elapsed = time.monotonic() - self.started
        if position <= 0 or elapsed <= 0 or self.duration <= 0:
            return None
        speed = position / elapsed  # audio seconds per wall second
        return max(0.0, round((self.duration - position) / speed, 1))
