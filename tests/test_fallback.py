"""Saved model settings that cannot be loaded: the worker runs with ones that load and says so.

The choice itself is tested with a load function written by the test; the worker with the real
engine, the real tiny.en model and a real SQLite store (this machine has no GPU, and ``large-v3`` is
not in the model cache).
"""

from __future__ import annotations

import logging
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import JFK_TEXT, Harness, real_harness
from transcriber import schema as t
from transcriber.config import Settings
from transcriber.domain import TaskStatus
from transcriber.errors import ModelUnavailable
from transcriber.fallback import SettingsFallback
from transcriber.recognition import RecognitionSettings
from transcriber.usability import cuda_device_count
from transcriber.worker import calibration

ENV = RecognitionSettings(model="tiny.en", device="cpu", beam_size=1)


class Loader:
    """Loads every model but the ``broken`` ones, on any device but ``cuda``; counts the attempts."""

    def __init__(self, *broken: str) -> None:
        self.broken = set(broken)
        self.tried: list[str] = []

    def __call__(self, settings: RecognitionSettings) -> None:
        self.tried.append(settings.model)
        if settings.model in self.broken:
            raise ModelUnavailable(f"cannot load model {settings.model!r}")
        if settings.device == "cuda":
            raise ModelUnavailable("no CUDA GPU")


def test_the_saved_settings_are_used_when_they_load() -> None:
    fallback = SettingsFallback(baseline=ENV)
    chosen = fallback.choose(ENV.model_copy(update={"model": "base"}), load=Loader())
    assert chosen.model == "base"
    assert fallback.note is None


def test_a_failing_model_gives_way_to_the_last_that_worked_and_keeps_the_other_values() -> None:
    fallback = SettingsFallback(baseline=ENV)
    load = Loader("broken")
    fallback.choose(ENV.model_copy(update={"model": "base"}), load=load)
    wanted = ENV.model_copy(update={"model": "broken", "beam_size": 3, "language": "ru"})
    chosen = fallback.choose(wanted, load=load)
    assert (chosen.model, chosen.beam_size, chosen.language) == ("base", 3, "ru")
    assert fallback.note is not None
    assert fallback.note.startswith("WHISPER_MODEL=broken cannot be loaded, so tasks run with the last")
    assert "(WHISPER_MODEL=base)" in fallback.note
    assert "cannot load model 'broken'" in fallback.note


def test_without_a_working_gpu_the_saved_model_runs_on_auto() -> None:
    fallback = SettingsFallback(baseline=ENV)
    wanted = ENV.model_copy(update={"device": "cuda", "compute_type": "float16"})
    chosen = fallback.choose(wanted, load=Loader())
    assert (chosen.model, chosen.device, chosen.compute_type) == ("tiny.en", "auto", "auto")
    assert fallback.note is not None
    assert fallback.note.startswith(
        "WHISPER_DEVICE=cuda, WHISPER_COMPUTE_TYPE=float16 cannot be loaded, so tasks run with the "
        "saved model on device and compute type auto (WHISPER_DEVICE=auto, WHISPER_COMPUTE_TYPE=auto)"
    )


def test_then_the_environment_then_the_defaults() -> None:
    fallback = SettingsFallback(baseline=ENV)
    wanted = ENV.model_copy(update={"model": "broken"})
    assert fallback.choose(wanted, load=Loader("broken")).model == "tiny.en"
    fallback = SettingsFallback(baseline=ENV)
    assert fallback.choose(wanted, load=Loader("broken", "tiny.en")).model == "base"
    assert fallback.note is not None
    assert "the built-in defaults" in fallback.note


def test_a_failed_load_is_not_tried_again_until_the_settings_change(caplog: pytest.LogCaptureFixture) -> None:
    fallback = SettingsFallback(baseline=ENV)
    load = Loader("broken")
    wanted = ENV.model_copy(update={"model": "broken"})
    with caplog.at_level(logging.WARNING, logger="transcriber.fallback"):
        for _ in range(3):
            assert fallback.choose(wanted, load=load).model == "tiny.en"
    assert load.tried == ["broken", "broken", "tiny.en", "tiny.en", "tiny.en"]  # then on auto
    assert len(caplog.records) == 1  # one line, not one per task
    fallback.forget_failures()
    load.broken.clear()
    assert fallback.choose(wanted, load=load).model == "broken"
    assert fallback.note is None


def test_nothing_loads_raises_the_saved_settings_failure() -> None:
    fallback = SettingsFallback(baseline=ENV)
    with pytest.raises(ModelUnavailable, match="'broken'"):
        fallback.choose(ENV.model_copy(update={"model": "broken"}), load=Loader("broken", "tiny.en", "base"))
    assert fallback.note is None


# -- the worker with the real engine ----------------------------------------------------------------


@pytest.fixture
def real(settings: Settings, models_dir: Path) -> Iterator[Harness]:
    with real_harness(settings, models_dir) as harness:
        yield harness


def _transcribe(real: Harness, audio: Path) -> dict[str, Any]:
    """The task's status, with the settings it ran with (which the API does not show)."""
    status = real.transcribe(audio)
    task = real.services.store.get_task(status["task_id"])
    assert task is not None
    status["effective"] = task.effective
    return status


def _saved_by_an_older_version(real: Harness, values: dict[str, str]) -> None:
    """What the API no longer accepts, written the way an older version saved it."""
    real.services.store.save_settings(values, bump_model=True)


NO_GPU = pytest.mark.skipif(cuda_device_count() > 0, reason="this machine has a GPU")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("saved", "why"),
    [
        ({"WHISPER_MODEL": "large-v3"}, "could not be downloaded"),
        pytest.param({"WHISPER_DEVICE": "cuda"}, "CUDA needs an NVIDIA driver", marks=NO_GPU),
    ],
)
def test_a_saved_setting_that_cannot_load_does_not_fail_tasks(
    real: Harness, speech_file: Path, saved: dict[str, str], why: str
) -> None:
    _saved_by_an_older_version(real, saved)
    status = _transcribe(real, speech_file)
    assert status["status"] == TaskStatus.COMPLETED, status
    text = " ".join(p["text"] for p in status["results"]["phrases"]).lower()
    assert JFK_TEXT in text.replace(",", "")
    [(key, value)] = saved.items()
    assert f"{key}={value} cannot be loaded" in status["effective"]["settings_fallback"]

    health = real.client.get("/health").json()
    assert health["ready"] is True
    assert health["model"] == "tiny.en"  # unchanged fields: what is loaded
    fallback = health["settings_fallback"]
    assert fallback["in_force"] == {"model": "tiny.en", "device": "cpu", "compute_type": "int8"}
    assert fallback["reason"].startswith(f"{key}={value} cannot be loaded, so tasks run with the settings")
    assert why in fallback["reason"]
    shown = real.client.get("/api/v1/settings").json()
    assert shown[key] == value  # the saved value is shown as saved, the fallback beside it
    assert shown["fallback"] == fallback

    assert real.client.post("/api/v1/settings", json={key: None}).status_code == 200
    real.worker().follow_settings()
    assert real.client.get("/health").json()["settings_fallback"] is None
    assert real.client.get("/api/v1/settings").json()["fallback"] is None


@pytest.mark.slow
def test_a_model_folder_that_passes_the_check_but_does_not_load_falls_back(
    real: Harness, speech_file: Path, models_dir: Path, tmp_path: Path
) -> None:
    """Files on disk are all the cheap check sees; a damaged model.bin only shows when loading."""
    folder = models_dir / f"damaged-{tmp_path.name}"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"this is not a model")
    (folder / "config.json").write_text("{}", encoding="utf-8")
    try:
        assert real.client.post("/api/v1/settings", json={"WHISPER_MODEL": folder.name}).status_code == 200
        worker = real.worker()
        worker.preload()
        assert real.client.get("/health").json()["worker"]["state"] == "idle"
        status = _transcribe(real, speech_file)
    finally:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()
    assert status["status"] == TaskStatus.COMPLETED, status
    fallback = real.client.get("/api/v1/settings").json()["fallback"]
    assert fallback["in_force"]["model"] == "tiny.en"
    assert f"WHISPER_MODEL={folder.name} cannot be loaded" in fallback["reason"]
    assert "cannot load model" in fallback["reason"]


# -- calibration: the first task's ETA ----------------------------------------------------------------


@pytest.mark.slow
def test_a_model_never_measured_here_is_calibrated_once_when_loaded(real: Harness, speech_file: Path) -> None:
    store = real.services.store
    assert store.measured_speed("tiny.en", device="cpu", compute_type="int8") is None
    real.worker().preload()
    calibrated = store.measured_speed("tiny.en", device="cpu", compute_type="int8")
    assert calibrated is not None
    assert calibrated > 1.0, "tiny.en runs faster than real time on any CPU this runs on"
    with store.engine.begin() as conn:
        rows = conn.execute(select(t.engine_speeds.c.audio_seconds)).scalars().all()
    # batched by default: the 11 s clip 8 times with pauses, so the batches are filled as a task fills
    # them (a clip decoded alone runs at about half the speed of a full batch)
    assert rows == [pytest.approx(8 * (11.0 + calibration.PAUSE_SECONDS), abs=0.5)], "measured once"
    status = real.transcribe(speech_file)  # a second worker: known now, so not calibrated again
    assert status["status"] == "COMPLETED"
    with store.engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(t.engine_speeds)).scalar_one() == 1


def test_the_calibration_fills_batches_as_a_task_does(tmp_path: Path) -> None:

    assert calibration.repetitions(RecognitionSettings(batch_size=0)) == 1  # sequential: the clip alone
    assert calibration.repetitions(RecognitionSettings(batch_size=8, vad_min_silence_ms=0)) == 1
    assert calibration.repetitions(RecognitionSettings(batch_size=2)) == 4  # two clips per 30 s chunk
    assert calibration.repetitions(RecognitionSettings()) == 2 * calibration.BATCH_CHUNKS
    assert calibration.calibration_audio(tmp_path, 1) == calibration.CLIP
    with wave.open(str(calibration.calibration_audio(tmp_path, 3))) as made:
        seconds = made.getnframes() / made.getframerate()
    assert seconds == pytest.approx(3 * (11.0 + calibration.PAUSE_SECONDS), abs=0.3)


@pytest.mark.slow
def test_calibration_can_be_turned_off(settings: Settings, models_dir: Path) -> None:
    with real_harness(settings, models_dir) as harness:
        harness.services.settings.worker.calibrate = False
        harness.worker().preload()
        assert harness.services.store.measured_speed("tiny.en", device="cpu", compute_type="int8") is None
