"""Tests for transcriber.service.settings and .health: the settings in force, changes, the report."""

from __future__ import annotations

import pytest

from tests.service.conftest import Parts
from transcriber.config import WorkerSettings
from transcriber.errors import InvalidSettings
from transcriber.service import health, settings


def test_the_saved_settings_lie_over_the_baseline_and_reset_to_it(parts: Parts) -> None:
    assert settings.effective(store=parts.store, baseline=parts.baseline) == parts.baseline
    after = settings.update_settings(
        store=parts.store, catalog=parts.catalog, baseline=parts.baseline, update={"WHISPER_BEAM": "2"}
    )
    assert after.beam_size == 2
    assert parts.store.get_settings() == {"WHISPER_BEAM": 2}  # stored typed, not as the string sent
    assert settings.effective(store=parts.store, baseline=parts.baseline) == after
    rows = {r["key"]: r for r in settings.describe_settings(store=parts.store, baseline=parts.baseline)}
    assert (rows["WHISPER_BEAM"]["value"], rows["WHISPER_BEAM"]["default"]) == (2, 3)
    settings.update_settings(
        store=parts.store, catalog=parts.catalog, baseline=parts.baseline, update={"WHISPER_BEAM": ""}
    )
    assert settings.effective(store=parts.store, baseline=parts.baseline) == parts.baseline


def test_an_invalid_change_saves_nothing(parts: Parts) -> None:
    with pytest.raises(InvalidSettings) as info:
        settings.update_settings(
            store=parts.store,
            catalog=parts.catalog,
            baseline=parts.baseline,
            update={"WHISPER_LANGUAGE": "ru", "WHISPER_BEAM": 99},
        )
    assert info.value.key == "WHISPER_BEAM"
    assert parts.store.get_settings() == {}


def test_the_health_report_without_a_ready_worker(parts: Parts) -> None:
    report = health.health_report(store=parts.store, worker_settings=WorkerSettings())
    assert (report["ready"], report["worker"], report["queue"]) == (
        False,
        None,
        {"pending": 0, "in_progress": 0},
    )
    parts.store.register_worker("w1", pid=1, host="here")
    report = health.health_report(store=parts.store, worker_settings=WorkerSettings())
    assert report["ready"] is False
    assert [w["id"] for w in report["workers"]] == ["w1"]
    assert report["worker"]["id"] == "w1"
    assert health.fallback_in_force(store=parts.store, worker_settings=WorkerSettings()) is None
