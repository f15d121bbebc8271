"""A running task's progress and ETA: real checkpoints, and a smooth estimate between them.

The engine reports real checkpoints (``DecodeProgress.decoded``: everything before it is decoded),
which in batched decoding come once per batch, and where the step under way ends
(``DecodeProgress.decoding``). Between checkpoints the progress moves on at the expected speed, never
past the end of the step under way (so the next real checkpoint is never behind it), never backwards,
and is exact again at each checkpoint. A reading says whether it is an estimate.

The expected speed starts as the speed measured on this machine (recent tasks on the same model and
device, or the worker's calibration when it loaded the model) and moves towards the task's own speed
as its audio is decoded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

OWN_SPEED_TRUST_SECONDS = 60.0
"""Decoded audio after which the task's own speed weighs as much as the speed measured before it."""


@dataclass(frozen=True, slots=True)
class ProgressReading:
    progress: float
    """0..1: the audio decoded (``estimated`` False) or estimated to be decoded, over the whole."""
    eta_seconds: float | None
    """Seconds left at the expected speed; None when no speed is known at all."""
    estimated: bool
    """The progress is past the last real checkpoint: an estimate, not decoded audio."""


class ProgressEstimator:
    """Progress and ETA of one running task, from its checkpoints and the expected speed."""

    def __init__(self, *, duration: float, prior_speed: float | None, started: float | None = None) -> None:
        self.duration = max(0.0, duration)
        self.prior_speed = prior_speed if prior_speed is not None and prior_speed > 0 else None
        self.started = time.monotonic() if started is None else started
        self.real = 0.0  # the last real checkpoint, in seconds of audio
        self.real_at = self.started
        self.shown = 0.0  # the furthest position a reading gave: readings never go back

    def speed(self) -> float | None:
        """Expected audio seconds per wall second: the prior, moving to the task's own as it decodes."""
        elapsed = self.real_at - self.started
        own = self.real / elapsed if self.real > 0 and elapsed > 0 else None
        if own is None or self.prior_speed is None:
            return own or self.prior_speed
        weight = self.real / (self.real + OWN_SPEED_TRUST_SECONDS)
        return weight * own + (1 - weight) * self.prior_speed

    def read(self, *, decoded: float, decoding: float, now: float | None = None) -> ProgressReading:
        """The reading at ``now``, given the engine's real checkpoint ``decoded`` and the end of the
        step under way ``decoding`` (both in seconds of the recording)."""
        now = time.monotonic() if now is None else now
        decoded = min(max(decoded, 0.0), self.duration)
        if decoded > self.real:
            self.real, self.real_at = decoded, now
        speed = self.speed()
        position = self.real
        if speed is not None:
            limit = min(max(decoding, self.real), self.duration)
            position = min(limit, self.real + max(0.0, now - self.real_at) * speed)
        self.shown = max(self.shown, position)
        eta = None if speed is None else round(max(0.0, self.duration - self.shown) / speed, 1)
        return ProgressReading(
            progress=self.shown / self.duration if self.duration > 0 else 0.0,
            eta_seconds=eta,
            estimated=self.shown > self.real + 1e-6,
        )
