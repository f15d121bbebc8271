"""Recognition settings (the seed's WHISPER_* keys): read, change, and describe."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from transcriber import recognition
from transcriber.api.deps import BaselineDep, CatalogDep, StoreDep, WorkerSettingsDep
from transcriber.api.schemas import ERROR_RESPONSES
from transcriber.errors import BadRequest
from transcriber.service import health, settings

router = APIRouter(tags=["settings"], responses=ERROR_RESPONSES)

EXAMPLE = {"WHISPER_LANGUAGE": "ru", "WHISPER_BEAM": 5, "WHISPER_PROMPT": ""}

READ_ONLY = ("fallback",)
"""Keys of the GET answer that are not settings: a POST of that answer as it is ignores them."""


@router.get("/api/v1/settings")
def get_settings(
    store: StoreDep, baseline: BaselineDep, worker_settings: WorkerSettingsDep
) -> dict[str, Any]:
    """The saved value of every WHISPER_* setting, and `fallback`: null, or, while the saved model,
    device or compute type cannot be loaded, `{reason, in_force: {model, device, compute_type},
    worker}`: tasks then run with settings that load (the last that worked, else the environment's,
    else the defaults) until the setting is changed."""
    values = recognition.public_dict(settings.effective(store=store, baseline=baseline))
    fallback = health.fallback_in_force(store=store, worker_settings=worker_settings)
    return {**values, "fallback": fallback}


@router.post("/api/v1/settings")
def update_settings(
    store: StoreDep,
    catalog: CatalogDep,
    baseline: BaselineDep,
    update: dict[str, Any] = Body(..., examples=[EXAMPLE]),
) -> dict[str, Any]:
    """Change settings: `{"WHISPER_BEAM": 5}`. An empty string or null resets a key to its default.
    An invalid value gets 422 naming the key, and nothing is applied; so does a model, device or
    compute type that cannot work on this server (`setting_unusable`: no GPU, a model that is not
    here). A change of model, device or compute type reloads the model before the next task."""
    if not isinstance(update, dict):
        raise BadRequest("send a JSON object of WHISPER_* keys")
    changes = {k: v for k, v in update.items() if k not in READ_ONLY}
    after = settings.update_settings(store=store, catalog=catalog, baseline=baseline, update=changes)
    return recognition.public_dict(after)


@router.get("/api/v1/settings/schema")
def settings_schema(store: StoreDep, baseline: BaselineDep) -> list[dict[str, Any]]:
    """Each setting with its current value, default and explanation (for forms)."""
    return settings.describe_settings(store=store, baseline=baseline)
