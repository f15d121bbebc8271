"""Recognition settings: the ones in force, each described for forms, and changing them.

The layering (defaults < environment < saved < per task) is :func:`transcriber.recognition.layered`;
the environment's layer over the defaults is the ``baseline`` the application was started with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transcriber import recognition, usability
from transcriber.errors import InvalidSettings, ModelUnavailable
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings
from transcriber.store import SqlTaskStore


def effective(*, store: SqlTaskStore, baseline: RecognitionSettings) -> RecognitionSettings:
    """The global settings: the saved ones over the baseline (a task's options come on top)."""
    return recognition.layered(base=baseline, saved=store.get_settings())


def update_settings(
    *,
    store: SqlTaskStore,
    catalog: ModelCatalog,
    baseline: RecognitionSettings,
    update: Mapping[str, Any],
) -> RecognitionSettings:
    """Apply ``update`` (``WHISPER_*`` keys; an empty string or None resets a key) and return the
    settings now in force. An invalid value raises :class:`InvalidSettings` naming the key and
    nothing is saved; so does a model, device or compute type that cannot work on this server
    (:class:`SettingUnusable`). A change of any of those three makes the workers reload the model."""
    changes = recognition.normalise_update(update)
    stored = store.get_settings()
    before = effective(store=store, baseline=baseline)
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
    return after


def describe_settings(*, store: SqlTaskStore, baseline: RecognitionSettings) -> list[dict[str, Any]]:
    """Each setting with its current value, its default here (the baseline's) and an explanation."""
    values = recognition.public_dict(effective(store=store, baseline=baseline))
    defaults = recognition.public_dict(baseline)
    rows = recognition.describe()
    for row in rows:
        row["value"] = values[row["key"]]
        row["default"] = defaults[row["key"]]
    return rows
