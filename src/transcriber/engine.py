"""The engine adapter: the only module that imports faster_whisper.

It loads models (device ``auto``: CUDA first, CPU if CUDA is missing or its first inference fails),
converts faster-whisper's segments into our ``Phrase`` objects and hands them out lazily, so the
caller can report progress as ``phrase.end / duration``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import ctranslate2
import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel

from transcriber.domain import Phrase
from transcriber.errors import ModelUnavailable
from transcriber.model_catalog import BUNDLED, ModelCatalog
from transcriber.recognition import RecognitionSettings

log = logging.getLogger(__name__)

_GPU_COMPUTE_ONLY = ("float16", "bfloat16", "int8_float16", "int8_bfloat16")


@dataclass(frozen=True, slots=True)
class LoadedModel:
    name: str
    path: str
    device: str
    compute_type: str
    multilingual: bool


@dataclass
class TranscriptionRun:
    """A transcription under way: what is known up front, and the phrases as they are decoded."""

    language: str | None
    language_probability: float | None
    duration: float
    phrases: Iterator[Phrase]


class Transcriber(Protocol):
    """What the worker needs from an engine."""

    @property
    def loaded(self) -> LoadedModel | None: ...

    def load(self, settings: RecognitionSettings) -> LoadedModel: ...

    def unload(self) -> None: ...

    def transcribe(self, audio: Path, settings: RecognitionSettings) -> TranscriptionRun: ...


def decode_options(settings: RecognitionSettings, *, multilingual: bool) -> dict[str, Any]:
    """faster-whisper's transcribe() options for ``settings`` (an English-only model is told so)."""
    options: dict[str, Any] = {
        "language": (settings.language or None) if multilingual else "en",
        "task": settings.task if multilingual else "transcribe",
        "beam_size": settings.beam_size,
        "patience": settings.patience,
        "length_penalty": settings.length_penalty,
        "condition_on_previous_text": settings.condition_on_previous_text,
        "initial_prompt": settings.initial_prompt or None,
        "vad_filter": settings.vad_min_silence_ms > 0,
    }
    if settings.vad_min_silence_ms > 0:
        options["vad_parameters"] = {"min_silence_duration_ms": settings.vad_min_silence_ms}
    return options


def resolve_compute_type(requested: str, device: str) -> str:
    """``auto`` -> float16 on CUDA, int8 on CPU; a GPU-only type on CPU falls back to int8."""
    if requested == "auto":
        return "float16" if device == "cuda" else "int8"
    if device == "cpu" and requested in _GPU_COMPUTE_ONLY:
        return "int8"
    return requested


def cuda_device_count() -> int:
    try:
        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # noqa: BLE001 - a broken CUDA install must not stop CPU use
        return 0


class WhisperTranscriber:
    """faster-whisper behind the :class:`Transcriber` protocol; keeps one model loaded."""

    def __init__(self, catalog: ModelCatalog, *, cpu_threads: int = 0, trusted_paths: bool = True) -> None:
        self.catalog = catalog
        self.cpu_threads = cpu_threads
        self.trusted_paths = trusted_paths
        self._model: WhisperModel | None = None
        self._batched: BatchedInferencePipeline | None = None
        self._loaded: LoadedModel | None = None
        self._key: tuple[str, str, str] | None = None

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def unload(self) -> None:
        self._model = None
        self._batched = None
        self._loaded = None
        self._key = None

    def load(self, settings: RecognitionSettings) -> LoadedModel:
        """Load the model ``settings`` ask for, unless it is already loaded."""
        if self._key == settings.engine_key() and self._loaded is not None:
            return self._loaded
        self.unload()
        source = self.catalog.resolve(settings.model, trusted=self.trusted_paths)
        model_ref = str(source.path) if source.path is not None else settings.model
        devices = self._devices(settings.device)
        errors: list[str] = []
        for device in devices:
            compute_type = resolve_compute_type(settings.compute_type, device)
            try:
                model = self._create(model_ref, source.path is None, device, compute_type)
                if device == "cuda" and settings.device == "auto":
                    self._smoke_test(model)
            except ModelUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001 - CTranslate2 raises plain RuntimeError/ValueError
                errors.append(f"{device}: {exc}")
                log.warning("cannot use %s for model %s: %s", device, settings.model, exc)
                continue
            self._model = model
            self._loaded = LoadedModel(
                name=settings.model,
                path=model_ref,
                device=device,
                compute_type=compute_type,
                multilingual=bool(model.model.is_multilingual),
            )
            self._key = settings.engine_key()
            log.info("loaded model %s on %s (%s)", settings.model, device, compute_type)
            return self._loaded
        hint = ""
        if settings.device == "cuda":
            hint = (
                " CUDA needs an NVIDIA driver, CUDA 12 and cuDNN 9 libraries on the PATH; set "
                "WHISPER_DEVICE=cpu (or auto) to run on the processor."
            )
        raise ModelUnavailable(f"cannot load model {settings.model!r}: {'; '.join(errors)}.{hint}")

    def _devices(self, requested: str) -> list[str]:
        if requested == "auto":
            return ["cuda", "cpu"] if cuda_device_count() > 0 else ["cpu"]
        return [requested]

    def _create(self, model_ref: str, download: bool, device: str, compute_type: str) -> WhisperModel:
        if not download:
            return WhisperModel(
                model_ref, device=device, compute_type=compute_type, cpu_threads=self.cpu_threads
            )
        try:
            return WhisperModel(
                model_ref,
                device=device,
                compute_type=compute_type,
                cpu_threads=self.cpu_threads,
                download_root=str(self.catalog.models_dir / "hub"),
            )
        except Exception as exc:
            if isinstance(exc, ValueError) and "compute" in str(exc):
                raise
            offline = ", ".join(BUNDLED)
            raise ModelUnavailable(
                f"model {model_ref!r} is not available offline and could not be downloaded "
                f"({type(exc).__name__}: {str(exc)[:300]}). Offline models here: {offline}. To use "
                f"{model_ref!r}: run `transcriber models prepare {model_ref}` on a machine with internet "
                f"access, or copy a CTranslate2 model folder into {self.catalog.models_dir} and set "
                "WHISPER_MODEL to the folder's name."
            ) from None

    @staticmethod
    def _smoke_test(model: WhisperModel) -> None:
        """Run one tiny inference: missing CUDA libraries (cuBLAS, cuDNN) only fail at first use."""
        segments, _info = model.transcribe(np.zeros(16000, dtype=np.float32), language="en", beam_size=1)
        for _ in segments:
            pass

    def transcribe(self, audio: Path, settings: RecognitionSettings) -> TranscriptionRun:
        loaded = self.load(settings)
        assert self._model is not None
        options = decode_options(settings, multilingual=loaded.multilingual)
        if settings.batch_size > 0 and settings.vad_min_silence_ms > 0:
            # The batched pipeline cuts the audio at VAD boundaries and decodes the chunks together.
            # Timestamps inside each chunk keep phrases short, as in sequential decoding.
            if self._batched is None:
                self._batched = BatchedInferencePipeline(model=self._model)
            del options["condition_on_previous_text"]
            segments, info = self._batched.transcribe(
                str(audio), batch_size=settings.batch_size, without_timestamps=False, **options
            )
        else:
            segments, info = self._model.transcribe(str(audio), **options)
        return TranscriptionRun(
            language=info.language,
            language_probability=info.language_probability,
            duration=float(info.duration),
            phrases=(_phrase(s.start, s.end, s.text, float(info.duration)) for s in segments),
        )


def _phrase(start: float, end: float, text: str, duration: float) -> Phrase:
    """Our phrase from a segment, kept inside the audio: Whisper's last window can end past it."""
    limit = duration if duration > 0 else max(start, end)
    start = min(max(0.0, float(start)), limit)
    return Phrase(start=start, end=min(max(start, float(end)), limit), text=text.strip())


def download_model(name: str, models_dir: Path) -> Path:
    """Download a model by name into ``<models_dir>/<name>`` (needs internet access to the model hub)."""
    from faster_whisper import download_model as fw_download

    target = models_dir / name
    try:
        return Path(fw_download(name, output_dir=str(target)))
    except Exception as exc:  # noqa: BLE001 - huggingface_hub raises many kinds
        raise ModelUnavailable(
            f"cannot download model {name!r} ({type(exc).__name__}: {str(exc)[:300]}); this needs "
            "internet access to huggingface.co. Offline, copy a CTranslate2 model folder into "
            f"{models_dir} instead."
        ) from None
