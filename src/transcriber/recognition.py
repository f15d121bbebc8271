"""Recognition settings: the seed's ``WHISPER_*`` keys, validated in one object.

Effective values are layered: built-in defaults, then ``WHISPER_*`` environment variables at start,
then overrides saved through the API (kept in the database). Per-task options override those for
one task only. This module imports neither FastAPI nor faster-whisper.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from transcriber.errors import InvalidSettings
from transcriber.speakers import parse_names

# Whisper's language codes (the set faster-whisper accepts).
LANGUAGES = frozenset(
    " ".join(
        (
            "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw",
            "he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt",
            "my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl",
            "tr tt uk ur uz vi yi yo zh yue",
        )
    ).split()
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Device = Literal["auto", "cuda", "cpu"]
Task = Literal["transcribe", "translate"]
PhraseBoundaries = Literal["timestamps", "words"]
Channels = Literal["auto", "split", "mix"]
ComputeType = Literal[
    "auto",
    "default",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
]
COMPUTE_TYPES: tuple[str, ...] = get_args(ComputeType)


class RecognitionSettings(BaseModel):
    """Everything that decides how audio is recognised. Field aliases are the seed's variable names."""

    model_config = ConfigDict(
        populate_by_name=True, extra="forbid", frozen=True, use_attribute_docstrings=True
    )

    device: Device = Field("auto", alias="WHISPER_DEVICE")
    """`auto` tries CUDA and falls back to CPU; `cuda` requires a GPU; `cpu` forces the CPU."""

    model: str = Field("base", alias="WHISPER_MODEL", min_length=1, max_length=500)
    """A model name (`base`, `tiny.en`, `small`, `large-v3`, ...) or a local CTranslate2 model directory."""

    compute_type: ComputeType = Field("auto", alias="WHISPER_COMPUTE_TYPE")
    """`auto`: float16 on CUDA, int8 on CPU."""

    language: str = Field("", alias="WHISPER_LANGUAGE")
    """ISO code of the spoken language (`ru`, `en`, ...); empty means detect automatically."""

    task: Task = Field("transcribe", alias="WHISPER_TASK")
    """`transcribe`, or `translate` (Whisper's own translation into English)."""

    beam_size: int = Field(5, alias="WHISPER_BEAM", ge=1, le=20)
    """Beam search width; 1 is greedy decoding. Wider is slower and not always more accurate (the
    seed's 8 measured slower than 5 and no better; see docs/performance.md)."""

    patience: float = Field(1.0, alias="WHISPER_PATIENCE", gt=0, le=10)
    """Beam search patience factor."""

    length_penalty: float = Field(1.0, alias="WHISPER_LENGTH_PENALTY", ge=0, le=10)
    """Exponential length penalty used by beam search."""

    condition_on_previous_text: bool = Field(True, alias="WHISPER_CONDITION_PREV")
    """Feed the previous window's text as context to the next one."""

    vad_min_silence_ms: int = Field(300, alias="WHISPER_VAD_MIN_SIL_MS", ge=0, le=10_000)
    """Voice activity detection: the shortest silence (ms) that splits speech; 0 turns VAD off."""

    initial_prompt: str = Field("", alias="WHISPER_PROMPT", max_length=2000)
    """An initial prompt: vocabulary and style hints (names, terms)."""

    batch_size: int = Field(8, alias="WHISPER_BATCH_SIZE", ge=0, le=64)
    """N: the batched pipeline, N speech chunks (of up to 30 s, cut by VAD) decoded together; faster
    on CPU and several times faster on a GPU. Each chunk is decoded without the previous chunk's text
    (``WHISPER_CONDITION_PREV`` applies to sequential decoding only). 0, or VAD off: sequential."""

    word_timestamps: bool = Field(True, alias="WHISPER_WORD_TIMESTAMPS")
    """Time every word (``phrases[].words`` in the results and the JSON export; subtitle cues are cut
    at the words' own times). Off: phrases only, a little faster (see docs/performance.md)."""

    phrase_boundaries: PhraseBoundaries = Field("words", alias="WHISPER_PHRASE_BOUNDARIES")
    """Batched decoding: where phrases end. `timestamps`: Whisper's timestamp tokens, as sequential
    decoding does. `words`: each chunk is decoded without timestamp tokens and cut into phrases at its
    words (pauses, sentence ends; ``phrasing.py``); needs word timings, else `timestamps` is used."""

    multilingual: bool = Field(False, alias="WHISPER_MULTILINGUAL")
    """Detect the language of every window (each 30 s window sequentially, each speech chunk batched)
    instead of once per file: for recordings that switch languages; each phrase carries its
    ``language``. ``WHISPER_LANGUAGE`` then only names the file's first language until it is heard."""

    channels: Channels = Field("auto", alias="WHISPER_CHANNELS")
    """A stereo recording: `split` transcribes each channel on its own (a call recorded with each party
    on a channel), each phrase with its ``speaker`` (S1 left, S2 right); `mix` mixes the channels to
    mono; `auto` splits when the two channels are two parties (not one signal stored twice, neither
    silent). Mono recordings are not affected. Splitting costs about 1.05-1.08x the mixed time
    (bench/calls.py)."""

    diarize: bool = Field(False, alias="WHISPER_DIARIZE")
    """Tell the speakers of a mono recording apart by voice (a meeting, a call recorded in mono): each
    phrase gets its ``speaker`` (S1 for the voice heard first), a phrase is split where the speaker
    changes. Offline (the CAM++ model ships with the service); about +15 % time. Phrases come out at the
    end of the task. Stereo calls split by channel are not affected."""

    num_speakers: int = Field(0, alias="WHISPER_NUM_SPEAKERS", ge=0, le=32)
    """With `WHISPER_DIARIZE`: how many speakers there are, when known; 0: found from the voices."""

    min_speakers: int = Field(1, alias="WHISPER_MIN_SPEAKERS", ge=1, le=32)
    """With `WHISPER_DIARIZE` and no `WHISPER_NUM_SPEAKERS`: at least this many speakers."""

    max_speakers: int = Field(8, alias="WHISPER_MAX_SPEAKERS", ge=1, le=32)
    """With `WHISPER_DIARIZE` and no `WHISPER_NUM_SPEAKERS`: at most this many speakers."""

    speaker_names: str = Field("", alias="WHISPER_SPEAKER_NAMES", max_length=3400)
    """Names for the speakers of a split recording, separated by commas, in the order of their ids: for
    a stereo call the left channel's party first (`Оператор,Клиент`). A speaker without a name is
    `Спикер N`; names can be changed on each task afterwards."""

    @field_validator("speaker_names")
    @classmethod
    def _speaker_names(cls, value: str) -> str:
        return ",".join(parse_names(value))

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        value = value.strip().lower()
        if value in ("", "auto"):
            return ""
        if value not in LANGUAGES:
            raise ValueError(f"unknown language code {value!r}; use an ISO code such as ru or en, or empty")
        return value

    @field_validator("model", mode="before")
    @classmethod
    def _strip_model(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("model", "language")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        # A NUL byte in a path makes every file-system call raise: refuse it here, with the key named.
        if _CONTROL.search(value):
            raise ValueError("control characters (such as NUL or a line break) are not allowed here")
        return value

    @field_validator("initial_prompt")
    @classmethod
    def _printable_prompt(cls, value: str) -> str:
        if _CONTROL.search(value.replace("\n", "").replace("\t", "").replace("\r", "")):
            raise ValueError("control characters (such as NUL) are not allowed; line breaks and tabs are")
        return value

    @model_validator(mode="after")
    def _speaker_range(self) -> RecognitionSettings:
        if self.min_speakers > self.max_speakers:
            raise ValueError(
                f"WHISPER_MIN_SPEAKERS ({self.min_speakers}) is more than "
                f"WHISPER_MAX_SPEAKERS ({self.max_speakers})"
            )
        return self

    def engine_key(self) -> tuple[str, str, str]:
        """What a loaded model depends on: changing any of these needs a reload."""
        return (self.model, self.device, self.compute_type)


ALIASES: dict[str, str] = {str(info.alias): name for name, info in RecognitionSettings.model_fields.items()}
"""``WHISPER_*`` key -> field name."""

KEYS: tuple[str, ...] = tuple(ALIASES)

TASK_OPTION_FIELDS: dict[str, str] = {
    "language": "language",
    "task": "task",
    "model": "model",
    "beam_size": "beam_size",
    "initial_prompt": "initial_prompt",
    "word_timestamps": "word_timestamps",
    "multilingual": "multilingual",
    "channels": "channels",
    "speaker_names": "speaker_names",
    "diarize": "diarize",
    "num_speakers": "num_speakers",
    "min_speakers": "min_speakers",
    "max_speakers": "max_speakers",
}
"""Per-task option name (in ``create_task``) -> settings field."""


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    message = str(err.get("msg", "invalid value"))
    if not err.get("loc"):  # a rule between settings: its message names the first of them
        named = re.search(r"WHISPER_[A-Z_]+", message)
        return (named.group(0) if named else "?"), message.removeprefix("Value error, ")
    name = str(err["loc"][0])
    key = RecognitionSettings.model_fields[name].alias if name in RecognitionSettings.model_fields else name
    return str(key or name), message


def _validate(values: Mapping[str, Any]) -> RecognitionSettings:
    try:
        return RecognitionSettings.model_validate(values)
    except ValidationError as exc:
        key, msg = _first_error(exc)
        raise InvalidSettings(key, msg) from None


def from_environ(environ: Mapping[str, str]) -> RecognitionSettings:
    """Built-in defaults overlaid with the ``WHISPER_*`` variables that are set and not empty."""
    values = {key: environ[key] for key in KEYS if environ.get(key, "").strip() != ""}
    return _validate(values)


def normalise_update(update: Mapping[str, Any]) -> dict[str, Any | None]:
    """Check an update from the API: known keys only; ``None``/empty string means reset to the default.

    Returns ``{key: value-or-None}``. Raises :class:`InvalidSettings` naming the first bad key.
    """
    out: dict[str, Any | None] = {}
    for key, value in update.items():
        if key not in ALIASES:
            raise InvalidSettings(key, f"unknown setting; known keys: {', '.join(KEYS)}")
        out[key] = None if value is None or (isinstance(value, str) and value.strip() == "") else value
    return out


def apply_overrides(base: RecognitionSettings, overrides: Mapping[str, Any]) -> RecognitionSettings:
    """Return ``base`` with ``overrides`` (keyed by ``WHISPER_*``) applied and the whole validated."""
    values = base.model_dump(by_alias=True)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return _validate(values)


def layered(
    *,
    base: RecognitionSettings,
    saved: Mapping[str, Any] | None = None,
    task: Mapping[str, Any] | None = None,
) -> RecognitionSettings:
    """The settings in force, each layer over the one below: ``base`` (the built-in defaults under the
    ``WHISPER_*`` environment, see :func:`from_environ`; in the worker, the settings in force after a
    fallback), then ``saved`` (the overrides saved through the API), then ``task`` (one task's options,
    through :func:`task_overrides`, or one command-line run's). Layers are keyed by ``WHISPER_*``; a
    ``None`` value leaves the layer below as it is. Each layer is validated as it is applied, so
    :class:`InvalidSettings` names the first bad key of the lowest layer that has one.

    This is the one place the order of the layers is written down: the API, the worker and the
    command line all call it.
    """
    settings = base
    for layer in (saved, task):
        if layer is not None:
            settings = apply_overrides(settings, layer)
    return settings


def task_overrides(options: Mapping[str, Any]) -> dict[str, Any]:
    """Translate per-task options (``language``, ``beam_size``, ...) into ``WHISPER_*`` overrides."""
    out: dict[str, Any] = {}
    for name, value in options.items():
        if value is None:
            continue
        field = TASK_OPTION_FIELDS[name]
        out[str(RecognitionSettings.model_fields[field].alias)] = value
    return out


def public_dict(settings: RecognitionSettings) -> dict[str, Any]:
    """The settings keyed by ``WHISPER_*`` names, as the API shows them."""
    return settings.model_dump(by_alias=True)


def describe() -> list[dict[str, Any]]:
    """Key, default and explanation of each setting (for the UI and the docs)."""
    defaults = RecognitionSettings()
    rows = []
    for name, info in RecognitionSettings.model_fields.items():
        rows.append(
            {
                "key": info.alias,
                "default": getattr(defaults, name),
                "description": (info.description or "").strip(),
            }
        )
    return rows
