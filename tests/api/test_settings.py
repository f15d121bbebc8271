"""Recognition settings through the API: validation, persistence, reset to default, model reload."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Harness
from tests.test_recognition import DEFAULTS
from transcriber.api import create_app
from transcriber.config import Settings


def test_defaults_are_the_seeds(harness: Harness) -> None:
    assert harness.client.get("/api/v1/settings").json() == DEFAULTS


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
    assert harness.client.get("/api/v1/settings").json() == DEFAULTS


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
