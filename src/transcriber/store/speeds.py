"""How fast this machine transcribes: completed tasks per model and device, or a worker's calibration.

A running task's ETA starts from this speed (see ``worker/progress.py``): the recent completed tasks
on the same model, device and compute type when there are any, otherwise the calibration the worker
ran when it loaded the model.
"""

from __future__ import annotations

import json

from sqlalchemy import delete, insert, select

from transcriber import schema as t
from transcriber.clock import utcnow
from transcriber.domain import TaskStatus
from transcriber.store.base import StoreBase

RECENT_TASKS_FOR_ENGINE_SPEED = 50
"""Completed tasks looked at, newest first, for those of one model and device."""
TASKS_PER_SPEED = 10
"""At most this many of them make up the measured speed."""


class SpeedStore(StoreBase):
    def measured_speed(self, model: str, *, device: str, compute_type: str) -> float | None:
        """Audio seconds per wall second on this machine for the model, device and compute type: from
        recent completed tasks, else from a calibration; None when neither was ever measured."""
        engine = {"WHISPER_MODEL": model, "resolved_device": device, "resolved_compute_type": compute_type}
        with self._read() as conn:
            rows = conn.execute(
                select(t.tasks.c.duration, t.tasks.c.started_at, t.tasks.c.finished_at, t.tasks.c.effective)
                .where(
                    t.tasks.c.status == TaskStatus.COMPLETED.value,
                    t.tasks.c.duration > 0,
                    t.tasks.c.started_at.is_not(None),
                    t.tasks.c.effective.is_not(None),
                )
                .order_by(t.tasks.c.finished_at.desc())
                .limit(RECENT_TASKS_FOR_ENGINE_SPEED)
            ).all()
            calibration = conn.execute(
                select(t.engine_speeds.c.audio_seconds, t.engine_speeds.c.wall_seconds).where(
                    t.engine_speeds.c.model == model,
                    t.engine_speeds.c.device == device,
                    t.engine_speeds.c.compute_type == compute_type,
                )
            ).first()
        audio = wall = 0.0
        used = 0
        for duration, started, finished, effective in rows:
            values = json.loads(effective)
            if finished is None or any(values.get(k) != v for k, v in engine.items()):
                continue
            audio += duration
            wall += (finished - started).total_seconds()
            used += 1
            if used == TASKS_PER_SPEED:
                break
        if audio > 0 and wall > 0:
            return audio / wall
        if calibration is not None and calibration.audio_seconds > 0 and calibration.wall_seconds > 0:
            return float(calibration.audio_seconds / calibration.wall_seconds)
        return None

    def record_calibration(
        self, model: str, *, device: str, compute_type: str, audio_seconds: float, wall_seconds: float
    ) -> None:
        with self._write() as conn:
            where = (
                t.engine_speeds.c.model == model,
                t.engine_speeds.c.device == device,
                t.engine_speeds.c.compute_type == compute_type,
            )
            conn.execute(delete(t.engine_speeds).where(*where))
            conn.execute(
                insert(t.engine_speeds).values(
                    model=model,
                    device=device,
                    compute_type=compute_type,
                    audio_seconds=audio_seconds,
                    wall_seconds=wall_seconds,
                    measured_at=utcnow(),
                )
            )
