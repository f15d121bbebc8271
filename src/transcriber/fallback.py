"""Which model settings a worker runs with when the saved ones cannot be loaded.

Tasks never fail because of a saved setting. The API refuses a model, device or compute type that
cannot work here (see ``usability``), but a saved value can still fail to load: it was saved by an
older version or set in the environment, the GPU went away, a model folder is damaged. Then the
worker keeps to the first of these that loads: the last settings that worked, the saved model on
device and compute type ``auto``, the environment's, the built-in defaults; only the model, device
and compute type are replaced, the other saved values stay. It logs one line and keeps the reason
(``note``), which ``/health`` and the settings show until the setting is changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from transcriber import recognition
from transcriber.errors import ModelUnavailable
from transcriber.recognition import RecognitionSettings

log = logging.getLogger(__name__)

EngineKey = tuple[str, str, str]
"""(model, device, compute type): what a loaded model depends on."""

ENGINE_KEYS = ("WHISPER_MODEL", "WHISPER_DEVICE", "WHISPER_COMPUTE_TYPE")


class SettingsFallback:
    """Chooses the engine settings in force; remembers what failed until the settings change."""

    def __init__(self, *, baseline: RecognitionSettings) -> None:
        self.baseline = baseline
        self.working: EngineKey | None = None  # the last engine settings that loaded
        self.failed: dict[EngineKey, str] = {}  # failed to load since the last change, and why
        self.note: str | None = None  # why the saved settings are not the ones in force, or None
        self._logged: str | None = None

    def forget_failures(self) -> None:
        """After a settings change or a reset: what failed is tried again."""
        self.failed.clear()

    def choose(
        self, wanted: RecognitionSettings, *, load: Callable[[RecognitionSettings], None]
    ) -> RecognitionSettings:
        """``wanted`` with the model, device and compute type of the first candidate that ``load``
        loads (it raises :class:`ModelUnavailable` for one that does not). ``note`` is set before each
        load, so the worker's state written by ``load`` tells whether a fallback is in force. Raises
        the saved settings' failure when nothing loads."""
        failure: str | None = None
        for key, source in self._candidates(wanted):
            candidate = _with_engine(wanted, key)
            self.note = None if failure is None else _note(wanted, candidate, source, failure)
            detail = self.failed.get(key)
            if detail is None:
                try:
                    load(candidate)
                except ModelUnavailable as exc:
                    detail = self.failed[key] = exc.detail
            if detail is None:
                self.working = key
                if self.note is not None and self.note != self._logged:
                    log.warning("%s", self.note)
                self._logged = self.note
                return candidate
            failure = failure or detail
        self.note = None
        raise ModelUnavailable(failure or "no model could be loaded")

    def _candidates(self, wanted: RecognitionSettings) -> Iterator[tuple[EngineKey, str]]:
        """Engine settings to try, in order, each with the name the note gives it."""
        named = {
            self.baseline.engine_key(): "the settings from the environment",
            RecognitionSettings().engine_key(): "the built-in defaults",
        }
        sources = {wanted.engine_key(): "the saved settings"}
        if self.working is not None:
            sources.setdefault(self.working, named.get(self.working, "the last settings that worked"))
        on_auto = (wanted.model, "auto", "auto")  # a device or compute type may be all that fails
        sources.setdefault(on_auto, named.get(on_auto, "the saved model on device and compute type auto"))
        for key, source in named.items():
            sources.setdefault(key, source)
        yield from sources.items()


def _with_engine(settings: RecognitionSettings, key: EngineKey) -> RecognitionSettings:
    model, device, compute_type = key
    return settings.model_copy(update={"model": model, "device": device, "compute_type": compute_type})


def _note(wanted: RecognitionSettings, used: RecognitionSettings, source: str, failure: str) -> str:
    """What /health and the settings say while the saved settings cannot be used."""
    saved, in_force = recognition.public_dict(wanted), recognition.public_dict(used)
    changed = [k for k in ENGINE_KEYS if saved[k] != in_force[k]]
    return (
        f"{', '.join(f'{k}={saved[k]}' for k in changed)} cannot be loaded, so tasks run with {source} "
        f"({', '.join(f'{k}={in_force[k]}' for k in changed)}); change or reset the setting to fix "
        f"it. The reason: {failure}"
    )
