"""A new task's webhook: its ``callback_url`` checked against the allowed hosts, or the default URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transcriber.config import WebhookSettings
from transcriber.errors import InvalidSettings
from transcriber.webhooks.events import CALLBACK_OPTION
from transcriber.webhooks.targets import TargetRefused, Targets


def with_callback(options: Mapping[str, Any], settings: WebhookSettings) -> dict[str, Any]:
    """A new task's options with its ``callback_url`` checked against the allowed hosts, or the
    default URL when it names none (an empty one: no webhook for this task)."""
    out = dict(options)
    url = out.pop(CALLBACK_OPTION, None)
    if url is None:
        if settings.url and settings.secret is not None:
            out[CALLBACK_OPTION] = settings.url
        return out
    if url == "":
        return out
    if settings.secret is None:
        raise InvalidSettings(
            CALLBACK_OPTION,
            "webhooks are off on this server: an administrator sets TRANSCRIBE_WEBHOOKS__SECRET (and "
            "TRANSCRIBE_WEBHOOKS__ALLOWED_HOSTS) to turn them on",
        )
    try:
        Targets(settings).check(url)
    except TargetRefused as exc:
        raise InvalidSettings(CALLBACK_OPTION, str(exc)) from None
    out[CALLBACK_OPTION] = url
    return out
