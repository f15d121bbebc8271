"""Whether recognition settings can work on this server, decided without loading a model.

Saving settings through the API runs these checks, so a setting that cannot work (``cuda`` on a
machine without a GPU, a compute type the processor lacks, a model that is neither bundled nor in the
model cache) gets 422 instead of failing every later task. They are cheap and deterministic:
CTranslate2's device queries and files on disk, never a download (the API process must not wait on
the network; a model is added with ``transcriber models prepare NAME``).
"""

from __future__ import annotations

import ctranslate2

from transcriber.errors import SettingUnusable
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings

GPU_COMPUTE_ONLY = ("float16", "bfloat16", "int8_float16", "int8_bfloat16")
"""Compute types a processor cannot run: on CPU they fall back to int8."""


def cuda_device_count() -> int:
    try:
        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # noqa: BLE001 - a broken CUDA install must not stop CPU use
        return 0


def resolve_compute_type(requested: str, device: str) -> str:
    """``auto`` -> float16 on CUDA, int8 on CPU; a GPU-only type on CPU falls back to int8."""
    if requested == "auto":
        return "float16" if device == "cuda" else "int8"
    if device == "cpu" and requested in GPU_COMPUTE_ONLY:
        return "int8"
    return requested


def supported_compute_types(device: str) -> frozenset[str]:
    try:
        return frozenset(ctranslate2.get_supported_compute_types(device))
    except Exception:  # noqa: BLE001 - no such device, or its driver is broken
        return frozenset()


def check_usable(settings: RecognitionSettings, *, catalog: ModelCatalog) -> None:
    """Raise :class:`SettingUnusable` naming the first of device, compute type and model that cannot
    work here. ``catalog.check_name`` (where a model path may point) is the caller's business."""
    gpus = cuda_device_count()
    if settings.device == "cuda" and gpus == 0:
        raise SettingUnusable(
            "WHISPER_DEVICE",
            settings.device,
            "no CUDA GPU is visible to this server; use cpu (or auto, which takes a GPU when there is "
            "one), or install the NVIDIA driver with CUDA 12 and cuDNN 9",
        )
    # With auto, the engine tries CUDA first and falls back to the processor.
    auto = ["cuda", "cpu"] if gpus else ["cpu"]
    _check_compute_type(settings, devices=auto if settings.device == "auto" else [settings.device])
    check_model(settings.model, catalog=catalog)


def _check_compute_type(settings: RecognitionSettings, *, devices: list[str]) -> None:
    requested = settings.compute_type
    if requested in ("auto", "default"):
        return
    if any(resolve_compute_type(requested, d) in supported_compute_types(d) for d in devices):
        return
    where = " and ".join("the GPU" if d == "cuda" else "the processor" for d in devices)
    offered = sorted({kind for d in devices for kind in supported_compute_types(d)})
    raise SettingUnusable(
        "WHISPER_COMPUTE_TYPE",
        requested,
        f"{where} of this server cannot compute in this type (it offers {', '.join(offered) or 'none'}); "
        "use auto",
    )


def check_model(name: str, *, catalog: ModelCatalog, key: str = "WHISPER_MODEL") -> None:
    """Raise :class:`SettingUnusable` for ``key`` unless the model ``name`` loads without a download."""
    if catalog.is_here(name):
        return
    from transcriber.engine import hub_repo_id  # faster-whisper's names: only when the name is not here

    repo = hub_repo_id(name)
    if repo is not None and catalog.downloaded(repo) is not None:
        return
    here = ", ".join(row["name"] for row in catalog.available() if row["state"] != "not installed")
    how = (
        f"run `transcriber models prepare {name}` (it needs internet access; offline, run it on another "
        f"machine and copy the folder {name} into {catalog.models_dir})"
        if repo is not None
        else f"copy a CTranslate2 model folder into {catalog.models_dir} and give its folder name"
    )
    raise SettingUnusable(
        key,
        name,
        f"this model is not on this server, and settings cannot make the service download one. "
        f"Models here: {here or 'none'}. To add this one, {how}",
    )
