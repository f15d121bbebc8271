"""A worker pinned to a device (``transcriber worker --device cuda:N``): several workers on one host each
keep their own GPU whatever the saved settings say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeTranscriber, Harness
from transcriber.cli import _settings, build_parser
from transcriber.config import WorkerSettings
from transcriber.engine import loading
from transcriber.errors import InvalidInput
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings
from transcriber.worker import Worker


@pytest.mark.parametrize(
    ("device", "environ", "pinned"),
    [
        ("cuda:1", {}, ("cuda", 1)),
        ("cuda:1", {"WHISPER_DEVICE_INDEX": "3"}, ("cuda", 1)),  # the flag's number wins
        ("cuda", {"WHISPER_DEVICE_INDEX": "2"}, ("cuda", 2)),
        ("cpu", {}, ("cpu", 0)),
        (None, {"WHISPER_DEVICE_INDEX": "1"}, (None, 1)),  # follow WHISPER_DEVICE, on the second GPU
        (None, {}, (None, 0)),
    ],
)
def test_the_pinned_device_and_gpu_number(
    device: str | None, environ: dict[str, str], pinned: tuple[str | None, int]
) -> None:
    assert WorkerSettings(device=device).pinned_device(environ) == pinned


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "cuda:", "cuda:123", "cpu:0x"])
def test_an_unknown_device_is_refused(device: str) -> None:
    with pytest.raises(ValueError, match="cpu, cuda, cuda:N"):
        WorkerSettings(device=device)


def test_a_bad_gpu_number_in_the_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="WHISPER_DEVICE_INDEX"):
        WorkerSettings().pinned_device({"WHISPER_DEVICE_INDEX": "first"})


def test_the_worker_command_takes_the_device(tmp_path: Path) -> None:
    args = build_parser().parse_args(["worker", "--data-dir", str(tmp_path), "--device", "CUDA:1"])
    assert _settings(args).worker.device == "cuda:1"
    bad = build_parser().parse_args(["worker", "--data-dir", str(tmp_path), "--device", "tpu"])
    with pytest.raises(InvalidInput, match="cpu, cuda, cuda:N"):
        _settings(bad)
    # transcribe's own --device (auto/cpu/cuda) is not a worker setting
    one_file = build_parser().parse_args(
        ["transcribe", "a.wav", "--data-dir", str(tmp_path), "--device", "cpu"]
    )
    assert _settings(one_file).worker.device is None


def test_a_pinned_worker_ignores_the_saved_device(harness: Harness) -> None:
    store = harness.services.store
    store.save_settings({"WHISPER_DEVICE": "cuda"}, bump_model=True)

    def worker(device: Any) -> Worker:
        return Worker(
            store=store,
            storage=harness.services.storage,
            transcriber=FakeTranscriber(),
            base_settings=RecognitionSettings(),
            settings=harness.services.settings.worker,
            device=device,
        )

    assert worker(None).global_settings().device == "cuda"
    assert worker("cpu").global_settings().device == "cpu"


@pytest.mark.parametrize(("device", "index", "expected"), [("cuda", 2, 2), ("cpu", 2, None)])
def test_the_engine_is_placed_on_the_numbered_gpu(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, device: str, index: int, expected: int | None
) -> None:
    made: list[dict[str, Any]] = []
    monkeypatch.setattr(loading, "EngineModel", lambda ref, **kwargs: made.append(kwargs))
    catalog = ModelCatalog(tmp_path)
    for download in (False, True):
        loading.create_model(
            "base", download=download, device=device, compute_type="int8", cpu_threads=1, catalog=catalog,
            device_index=index,
        )  # fmt: skip
    assert [m.get("device_index") for m in made] == [expected, expected]
    assert all(m["device"] == device for m in made)


def test_the_device_label_names_the_gpu_after_the_first() -> None:
    assert [
        loading.device_label("cuda", 0),
        loading.device_label("cuda", 1),
        loading.device_label("cpu", 1),
    ] == [
        "cuda",
        "cuda:1",
        "cpu",
    ]
