"""Time estimates for queued tasks, from the measured speed of recent tasks on this machine."""

from __future__ import annotations

from transcriber.store import QueueLoad, TaskRecord


def pending_eta(task: TaskRecord, load: QueueLoad) -> float | None:
    """Seconds until a pending task is done: the audio ahead of it (what running tasks have left plus
    the pending tasks before it, shared among the workers), then its own audio, all at the speed
    recent tasks ran at. None until a task has completed here (no measured speed yet)."""
    if load.speed is None or load.speed <= 0 or task.audio_ahead is None:
        return None
    own = task.upload_duration or 0.0
    wait = (load.running_audio_left + task.audio_ahead) / (load.speed * load.workers)
    return round(wait + own / load.speed, 1)
