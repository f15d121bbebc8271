"""What a worker asks of the queue (``store.claims``) and what it pins whatever the saved settings say:
its device (``--device``) and its models (``--models``; the first runs tasks that name none)."""

from __future__ import annotations

from transcriber.config import WorkerSettings
from transcriber.recognition import Device, RecognitionSettings
from transcriber.store.claims import ClaimPreferences
from transcriber.transcription import LoadedModel


def pinned(settings: RecognitionSettings, *, device: Device | None, models: list[str]) -> RecognitionSettings:
    """The global settings as this worker applies them."""
    update: dict[str, object] = {}
    if device is not None:
        update["device"] = device
    if models:
        update["model"] = models[0]
    return settings.model_copy(update=update) if update else settings


Preloaded = tuple[int, tuple[str, str, str]]  # (model generation, engine key) the worker last preloaded


def preferences(
    settings: WorkerSettings, *, loaded: LoadedModel | None, preloaded: Preloaded | None
) -> ClaimPreferences:
    """The worker's claim rules: the models it may run, the one it holds (``loaded``), the one a task
    naming none gets (the global settings' model, as last preloaded), short tasks first or not."""
    return ClaimPreferences(
        models=tuple(settings.models),
        loaded=loaded.name if loaded is not None else None,
        default=preloaded[1][0] if preloaded is not None else None,
        affinity_seconds=settings.affinity_seconds,
        short_seconds=settings.prefer_short_seconds,
    )
