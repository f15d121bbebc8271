"""Recognition settings through the API: validation, persistence, reset to default, model reload."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Harness
from tests.test_recognition import DEFAULTS
from transcriber.api import create_app
from transcriber.config import Settings
from transcriber.usability import cuda_device_count, supported_compute_types


def test_defaults_are_the_seeds(harness: Harness) -> None:
    assert harness.client.get("/api/v1/settings").json() == {**DEFAULTS, "fallback": None}


def test_update_validates_everything_before_applying(harness: Harness) -> None:
    response = harness.client.post("/api/v1/settings", json={"WHISPER_LANGUAGE": "ru", "WHISPER_BEAM": "abc"})
    assert response.status_code == 422
    assert response.json()["key"] == "WHISPER_BEAM"
    assert "WHISPER_BEAM" in response.json()["detail"]
    assert harness.client.get("/api/v1/settings").json()["WHISPER_LANGUAGE"] == ""

    for bad in (
        {"WHISPER_DEVICE": "gpu"},
        {"WHISPER_BEAM": 0},
        {"WHISPER_TASK": "x"},
        {"WHISPER_LANGUAGE": "klingon"},
        {"WHISPER_VAD_MIN_SIL_MS": -5},
        {"WHISPER_NOPE": 1},
        {"WHISPER_MODEL": "/etc"},
    ):
        response = harness.client.post("/api/v1/settings", json=bad)
        assert response.status_code == 422, bad
        assert next(iter(bad)) in response.json()["detail"]
    assert harness.client.get("/api/v1/settings").json() == {**DEFAULTS, "fallback": None}


def test_update_strings_typed_and_reset_by_empty_or_null(harness: Harness) -> None:
    response = harness.client.post(
        "/api/v1/settings",
        json={"WHISPER_BEAM": "6", "WHISPER_CONDITION_PREV": "false", "WHISPER_LANGUAGE": "RU"},
    )
    assert response.status_code == 200
    current = harness.client.get("/api/v1/settings").json()
    assert (current["WHISPER_BEAM"], current["WHISPER_CONDITION_PREV"], current["WHISPER_LANGUAGE"]) == (
        6,
        False,
        "ru",
    )
    harness.client.post("/api/v1/settings", json={"WHISPER_BEAM": "", "WHISPER_LANGUAGE": None})
    current = harness.client.get("/api/v1/settings").json()
    assert current["WHISPER_BEAM"] == 5
    assert current["WHISPER_LANGUAGE"] == ""
    assert current["WHISPER_CONDITION_PREV"] is False


def test_settings_survive_restart(settings: Settings) -> None:
    with TestClient(create_app(settings, environ={})) as client:
        assert client.post("/api/v1/settings", json={"WHISPER_PROMPT": "Газпром, 1С"}).status_code == 200
    with TestClient(create_app(settings, environ={})) as client:
        assert client.get("/api/v1/settings").json()["WHISPER_PROMPT"] == "Газпром, 1С"


def test_environment_is_the_baseline_and_reset_returns_to_it(settings: Settings) -> None:
    app = create_app(settings, environ={"WHISPER_BEAM": "3", "WHISPER_LANGUAGE": "ru"})
    with TestClient(app) as client:
        assert client.get("/api/v1/settings").json()["WHISPER_BEAM"] == 3
        client.post("/api/v1/settings", json={"WHISPER_BEAM": 6})
        assert client.get("/api/v1/settings").json()["WHISPER_BEAM"] == 6
        client.post("/api/v1/settings", json={"WHISPER_BEAM": None})
        assert client.get("/api/v1/settings").json()["WHISPER_BEAM"] == 3
        rows = {r["key"]: r for r in client.get("/api/v1/settings/schema").json()}
        assert rows["WHISPER_BEAM"]["default"] == 3
        assert rows["WHISPER_LANGUAGE"]["value"] == "ru"
        assert rows["WHISPER_VAD_MIN_SIL_MS"]["description"]


def test_model_change_reloads_before_next_task(harness: Harness) -> None:
    store = harness.services.store
    generation = store.model_generation()
    harness.client.post("/api/v1/settings", json={"WHISPER_BEAM": 4})
    assert store.model_generation() == generation
    harness.client.post("/api/v1/settings", json={"WHISPER_MODEL": "tiny.en"})
    assert store.model_generation() == generation + 1
    worker = harness.worker()
    worker.preload()
    assert harness.engine.loaded is not None
    assert harness.engine.loaded.name == "tiny.en"


def test_settings_body_must_be_an_object(harness: Harness) -> None:
    assert harness.client.post("/api/v1/settings", json=["WHISPER_BEAM"]).status_code == 422


NO_GPU = pytest.mark.skipif(cuda_device_count() > 0, reason="this machine has a GPU")
CPU_TYPES = supported_compute_types("cpu")


@pytest.mark.parametrize(
    ("update", "key", "hint"),
    [
        pytest.param({"WHISPER_DEVICE": "cuda"}, "WHISPER_DEVICE", "use cpu", marks=NO_GPU),
        ({"WHISPER_MODEL": "large-v3"}, "WHISPER_MODEL", "transcriber models prepare large-v3"),
        ({"WHISPER_MODEL": "my-own-model"}, "WHISPER_MODEL", "copy a CTranslate2 model folder"),
        pytest.param(
            {"WHISPER_DEVICE": "cpu", "WHISPER_COMPUTE_TYPE": "int16"},
            "WHISPER_COMPUTE_TYPE",
            "use auto",
            marks=pytest.mark.skipif("int16" in CPU_TYPES, reason="this processor computes in int16"),
        ),
    ],
)
def test_settings_that_cannot_work_here_are_refused(
    harness: Harness, update: dict[str, str], key: str, hint: str
) -> None:
    generation = harness.services.store.model_generation()
    response = harness.client.post("/api/v1/settings", json=update)
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["code"], body["key"]) == ("setting_unusable", key)
    assert body["detail"].startswith(f"{key}={update[key]}: ")
    assert hint in body["detail"]
    assert harness.client.get("/api/v1/settings").json() == {**DEFAULTS, "fallback": None}  # nothing saved
    assert harness.services.store.model_generation() == generation


def test_absent_model_message_lists_the_models_here(harness: Harness) -> None:
    detail = harness.client.post("/api/v1/settings", json={"WHISPER_MODEL": "large-v3"}).json()["detail"]
    assert "not on this server" in detail
    assert "tiny.en" in detail
    assert "base" in detail


@pytest.mark.parametrize(
    "update",
    [
        {"WHISPER_MODEL": "tiny.en", "WHISPER_DEVICE": "cpu", "WHISPER_COMPUTE_TYPE": "int8"},
        {"WHISPER_DEVICE": "auto", "WHISPER_COMPUTE_TYPE": "float16"},  # runs as int8 on a processor
        {"WHISPER_COMPUTE_TYPE": "float32"},
        {"WHISPER_MODEL": "base", "WHISPER_DEVICE": "cpu"},
    ],
)
def test_settings_that_work_here_are_saved(harness: Harness, update: dict[str, str]) -> None:
    response = harness.client.post("/api/v1/settings", json=update)
    assert response.status_code == 200, response.text
    current = harness.client.get("/api/v1/settings").json()
    assert {k: current[k] for k in update} == update


def test_models_in_the_model_cache_are_usable(harness: Harness, models_dir: Path) -> None:
    folder = models_dir / "own-model-in-cache"
    folder.mkdir(exist_ok=True)
    for name in ("model.bin", "config.json"):
        (folder / name).write_bytes(b"{}")
    assert harness.client.post("/api/v1/settings", json={"WHISPER_MODEL": folder.name}).status_code == 200
    # A model faster-whisper downloaded by name earlier (`transcriber models prepare small`).
    snapshot = models_dir / "hub" / "models--Systran--faster-whisper-small" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True, exist_ok=True)
    for name in ("model.bin", "config.json"):
        (snapshot / name).write_bytes(b"{}")
    try:
        assert harness.client.post("/api/v1/settings", json={"WHISPER_MODEL": "small"}).status_code == 200
    finally:
        shutil.rmtree(models_dir / "hub" / "models--Systran--faster-whisper-small")
        shutil.rmtree(folder)


def test_the_get_answer_can_be_posted_back_as_it_is(harness: Harness) -> None:
    shown = harness.client.get("/api/v1/settings").json()
    assert "fallback" in shown
    assert harness.client.post("/api/v1/settings", json=shown).status_code == 200


def test_a_task_option_naming_an_absent_model_is_refused(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    response = harness.client.post(
        "/api/v1/create_task", json={"upload_id": upload["id"], "model": "large-v3"}
    )
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["key"]) == ("setting_unusable", "model")
    assert "model=large-v3" in response.json()["detail"]
    raw = harness.client.post(
        "/api/v1/transcribe", params={"name": "a.wav", "model": "large-v3"}, content=tone_wav.read_bytes()
    )
    assert raw.status_code == 422, raw.text
    assert raw.json()["code"] == "setting_unusable"
    ok = harness.client.post("/api/v1/create_task", json={"upload_id": upload["id"], "model": "tiny.en"})
    assert ok.status_code == 200, ok.text
