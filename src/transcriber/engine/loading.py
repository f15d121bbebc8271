"""Loading a model: which devices to try, creating it from a folder or the hub, the first-use test.

Device ``auto`` tries CUDA first and the processor after it: CUDA libraries that are missing (cuBLAS,
cuDNN) only fail at the first inference, so a CUDA model loaded for ``auto`` runs one tiny decode
before it is kept.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.utils import _MODELS as _HUB_MODELS

from transcriber.engine.languages import EngineModel
from transcriber.errors import ModelUnavailable
from transcriber.model_catalog import BUNDLED, ModelCatalog
from transcriber.usability import cuda_device_count


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def hub_repo_id(name: str) -> str | None:
    """The Hugging Face repository faster-whisper downloads for a model name (``large-v3`` ->
    ``Systran/faster-whisper-large-v3``); None for a name it does not know."""
    repo: str | None = _HUB_MODELS.get(name)
    return repo


def device_label(device: str, index: int) -> str:
    """How a loaded model's device is shown and keyed (speeds, /health): ``cuda:1`` for the second GPU,
    plain ``cuda`` for the first, as before GPUs were numbered."""
    return f"{device}:{index}" if device == "cuda" and index else device


def devices_to_try(requested: str) -> list[str]:
    if requested == "auto":
        return ["cuda", "cpu"] if cuda_device_count() > 0 else ["cpu"]
    return [requested]


def create_model(
    model_ref: str,
    *,
    download: bool,
    device: str,
    compute_type: str,
    cpu_threads: int,
    catalog: ModelCatalog,
    device_index: int = 0,
) -> WhisperModel:
    """The model from a folder (``download`` False) or from the hub into the catalog's cache, on GPU
    number ``device_index`` when ``device`` is ``cuda``."""
    placement: dict[str, Any] = {"device": device, "compute_type": compute_type, "cpu_threads": cpu_threads}
    if device == "cuda":
        placement["device_index"] = device_index
    if not download:
        return EngineModel(model_ref, **placement)
    try:
        return EngineModel(model_ref, download_root=str(catalog.hub_dir), **placement)
    except Exception as exc:
        if isinstance(exc, ValueError) and "compute" in str(exc):
            raise
        offline = ", ".join(BUNDLED)
        raise ModelUnavailable(
            f"model {model_ref!r} is not available offline and could not be downloaded "
            f"({type(exc).__name__}: {str(exc)[:300]}). Offline models here: {offline}. To use "
            f"{model_ref!r}: run `transcriber models prepare {model_ref}` on a machine with internet "
            f"access, or copy a CTranslate2 model folder into {catalog.models_dir} and set "
            "WHISPER_MODEL to the folder's name."
        ) from None


def smoke_test(model: WhisperModel) -> None:
    """Run one tiny inference: missing CUDA libraries (cuBLAS, cuDNN) only fail at first use."""
    segments, _info = model.transcribe(np.zeros(16000, dtype=np.float32), language="en", beam_size=1)
    for _ in segments:
        pass


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
