"""Recognition settings (the seed's WHISPER_* keys): read, change, and describe."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from transcriber import recognition, usability
from transcriber.api import health
from transcriber.api.deps import BaselineDep, CatalogDep, StoreDep, WorkerSettingsDep
from transcriber.api.schemas import ERROR_RESPONSES
from transcriber.config import WorkerSettings
from transcriber.errors import BadRequest, InvalidSettings, ModelUnavailable
from transcriber.store import SqlTaskStore

router = APIRouter(tags=["settings"], responses=ERROR_RESPONSES)

EXAMPLE = {"WHISPER_LANGUAGE": "ru", "WHISPER_BEAM": 5, "WHISPER_PROMPT": ""}


def current(
    *, store: SqlTaskStore, baseline: recognition.RecognitionSettings
) -> recognition.RecognitionSettings:
    return recognition.layered(base=baseline, saved=store.get_settings())


READ_ONLY = ("fallback",)
"""Keys of the GET answer that are not settings: a POST of that answer as it is ignores them."""


@router.get("/api/v1/settings")
def get_settings(store: StoreDep, baseline: BaselineDep, worker: WorkerSettingsDep) -> dict[str, Any]:
    """The saved value of every WHISPER_* setting, and `fallback`: null, or, while the saved model,
    device or compute type cannot be loaded, `{reason, in_force: {model, device, compute_type},
    worker}`: tasks then run with settings that load (the last that worked, else the environment's,
    else the defaults) until the setting is changed."""
    values = recognition.public_dict(current(store=store, baseline=baseline))
    return {**values, "fallback": _fallback(store=store, worker=worker)}


def _fallback(*, store: SqlTaskStore, worker: WorkerSettings) -> dict[str, Any] | None:
    return health.settings_fallback(health.worker_rows(store=store, worker=worker))


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
    changes = recognition.normalise_update({k: v for k, v in update.items() if k not in READ_ONLY})
    stored = store.get_settings()
    before = current(store=store, baseline=baseline)
    after = recognition.layered(base=baseline, saved={**stored, **changes})
    if "WHISPER_MODEL" in changes and changes["WHISPER_MODEL"] is not None:
        try:
            catalog.check_name(after.model, trusted=False)
        except ModelUnavailable as exc:
            raise InvalidSettings("WHISPER_MODEL", exc.detail) from None
    if before.engine_key() != after.engine_key():
        # A model, device or compute type that cannot work here is refused, not saved: otherwise
        # every later task would run into it.
        usability.check_usable(after, catalog=catalog)
    # Store values as validated (typed), so the database never holds a string where a number belongs.
    typed = recognition.public_dict(after)
    store.save_settings(
        {k: (typed[k] if v is not None else None) for k, v in changes.items()},
        bump_model=before.engine_key() != after.engine_key(),
    )
    return typed


@router.get("/api/v1/settings/schema")
def settings_schema(store: StoreDep, baseline: BaselineDep) -> list[dict[str, Any]]:
    """Each setting with its current value, default and explanation (for forms)."""
    values = recognition.public_dict(current(store=store, baseline=baseline))
    defaults = recognition.public_dict(baseline)
    rows = recognition.describe()
    for row in rows:
        row["value"] = values[row["key"]]
        row["default"] = defaults[row["key"]]
    return rows
