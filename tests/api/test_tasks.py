"""Tasks through the app with an in-process worker on a scripted engine: the seed's contract."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FakeTranscriber, Harness, repo_audio
from tests.test_decoding import damaged
from transcriber.api import create_app
from transcriber.api.state import app_state
from transcriber.config import Settings
from transcriber.domain import Phrase


def create(harness: Harness, **body: object) -> dict[str, object]:
    response = harness.client.post("/api/v1/create_task", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_seed_flow_upload_create_poll_export(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav, name="Звонок.wav")
    created = create(harness, file_path=upload["stored_path"])
    assert created["status"] == "PENDING"
    assert created["queue_position"] == 0
    task_id = created["task_id"]

    status = harness.client.get(f"/api/v1/status/{task_id}").json()
    assert status["status"] == "PENDING"
    assert status["results"] is None

    assert harness.drain() == 1
    response = harness.client.get(f"/api/v1/status/{task_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    status = response.json()
    assert status["status"] == "COMPLETED"
    assert status["progress"] == 1.0
    assert status["queue_position"] is None
    assert status["language"] == "ru"
    assert status["results"]["phrases"] == [
        {"start": 0.0, "end": 1.5, "text": "Привет, мир."},
        {"start": 1.5, "end": 3.0, "text": "Second phrase."},
    ]

    srt = harness.client.get(f"/export/{task_id}.srt")
    assert srt.status_code == 200
    assert srt.headers["content-type"] == "application/x-subrip; charset=utf-8"
    assert srt.text.startswith("1\n00:00:00,000 --> 00:00:01,500\nПривет, мир.\n")
    disposition = srt.headers["content-disposition"]
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "Звонок.srt"

    doc = json.loads(harness.client.get(f"/export/{task_id}.json").content.decode("utf-8"))
    assert doc["task_id"] == task_id
    assert doc["language"] == "ru"
    assert doc["duration"] == 3.0
    assert doc["text"] == "Привет, мир. Second phrase."
    assert len(doc["phrases"]) == 2
    assert harness.client.get(f"/export/{task_id}.txt").text == "Привет, мир.\nSecond phrase.\n"
    vtt = harness.client.get(f"/export/{task_id}.vtt")
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500")
    assert status["warnings"] == doc["warnings"] == []  # a sound recording: nothing to warn about


def test_a_damaged_recording_is_decoded_to_its_end_and_says_what_was_lost(
    harness: Harness, tmp_path: Path
) -> None:
    # Before: decoding stopped at the first bad frame (29.9 s of 59.9 s) and the task said nothing.
    harness.engine = FakeTranscriber(decode=True)
    path = damaged(repo_audio("multilingual.mp3"), tmp_path / "bad.mp3", size=64 * 1024)
    task_id = create(harness, file_path=harness.upload(path)["stored_path"])["task_id"]
    assert harness.drain() == 1
    status = harness.client.get(f"/api/v1/status/{task_id}").json()
    assert status["status"] == "COMPLETED"
    assert 43.0 < status["duration"] < 44.0  # all that could be decoded, past the damage
    [warning] = status["warnings"]
    assert warning["code"] == "undecodable_audio"
    assert warning["seconds"] == pytest.approx(16.4, abs=1.0)
    assert "could not be decoded" in warning["message"]
    doc = json.loads(harness.client.get(f"/export/{task_id}.json").content.decode("utf-8"))
    assert doc["warnings"] == [warning]
    listed = harness.client.get("/api/v1/tasks").json()["tasks"]
    assert listed[0]["warnings"] == [warning]


def test_create_task_by_upload_id_and_queue_positions(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    positions = [create(harness, upload_id=upload["id"])["queue_position"] for _ in range(3)]
    assert positions == [0, 1, 2]
    worker = harness.worker()
    assert worker.run_once()
    tasks = harness.client.get("/api/v1/tasks").json()
    assert tasks["total"] == 3
    by_status = {t["status"]: t for t in tasks["tasks"]}
    assert by_status["COMPLETED"]["queue_position"] is None
    pending = [t for t in tasks["tasks"] if t["status"] == "PENDING"]
    assert sorted(t["queue_position"] for t in pending) == [0, 1]
    assert all("results" not in t or t["results"] is None for t in tasks["tasks"])


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../../etc/passwd", "..\\..\\windows\\win.ini", "", "uploads/../../x"],
)
def test_create_task_refuses_paths_outside_storage(harness: Harness, path: str) -> None:
    response = harness.client.post("/api/v1/create_task", json={"file_path": path})
    assert response.status_code in (400, 404)
    assert response.json()["detail"]
    assert harness.client.get("/api/v1/tasks").json()["total"] == 0


def test_create_task_refuses_symlink_out_of_storage(harness: Harness, tmp_path: Path) -> None:
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF....")
    link = harness.services.storage.root / "link.wav"
    os.symlink(secret, link)
    response = harness.client.post("/api/v1/create_task", json={"file_path": str(link)})
    assert response.status_code == 400
    assert response.json()["code"] == "path_outside_storage"


def test_create_task_unknown_file_in_storage_is_404(harness: Harness) -> None:
    stray = harness.services.storage.root / "0123.wav"
    stray.write_bytes(b"x")
    response = harness.client.post("/api/v1/create_task", json={"file_path": str(stray)})
    assert response.status_code == 404
    assert "upload" in response.json()["detail"]


def test_per_task_options_override_globals_for_that_task_only(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    create(
        harness,
        upload_id=upload["id"],
        language="en",
        beam_size=2,
        initial_prompt="ComfyUI",
        task="translate",
    )
    create(harness, upload_id=upload["id"])
    harness.drain()
    first, second = harness.engine.seen_settings
    assert (first.language, first.beam_size, first.initial_prompt, first.task) == (
        "en",
        2,
        "ComfyUI",
        "translate",
    )
    assert (second.language, second.beam_size, second.initial_prompt, second.task) == (
        "",
        5,
        "",
        "transcribe",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"beam_size": 0}, "beam_size"),
        ({"language": "xx"}, "language"),
        ({"task": "summarize"}, "task"),
        ({"model": "/etc"}, "model"),
        ({"unknown": 1}, "unknown"),
        ({"multilingual": "sometimes"}, "multilingual"),
        ({"multilingual": True, "language": "ru"}, "multilingual"),  # one language, or each window's
    ],
)
def test_invalid_task_options_are_422_naming_the_field(
    harness: Harness, tone_wav: Path, body: dict[str, object], field: str
) -> None:
    upload = harness.upload(tone_wav)
    response = harness.client.post("/api/v1/create_task", json={"upload_id": upload["id"], **body})
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]
    assert harness.client.get("/api/v1/tasks").json()["total"] == 0


def test_malformed_json_is_422(harness: Harness) -> None:
    response = harness.client.post(
        "/api/v1/create_task", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_cancel_pending_then_conflicts(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    task_id = create(harness, upload_id=upload["id"])["task_id"]
    response = harness.client.post(f"/api/v1/cancel/{task_id}")
    assert response.status_code == 200
    assert response.json()["status"] == "CANCELLED"
    assert harness.client.post(f"/api/v1/cancel/{task_id}").status_code == 200
    assert harness.drain() == 0
    done = create(harness, upload_id=upload["id"])["task_id"]
    harness.drain()
    assert harness.client.post(f"/api/v1/cancel/{done}").status_code == 409
    assert harness.client.post("/api/v1/cancel/missing").status_code == 404


def test_cancel_running_task_stops_it(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    task_id = str(create(harness, upload_id=upload["id"])["task_id"])
    harness.engine.phrases = [Phrase(float(i), float(i + 1), f"p{i}") for i in range(50)]
    harness.engine.duration = 50.0
    worker = harness.worker()
    calls = 0
    original = harness.services.store.save_progress

    def save_and_cancel(*args: object, **kwargs: object) -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:  # after the first batch of phrases: a client cancels
            harness.client.post(f"/api/v1/cancel/{task_id}")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    harness.services.store.save_progress = save_and_cancel  # type: ignore[method-assign]
    worker.settings = worker.settings.model_copy(update={"progress_seconds": 0.0})
    assert worker.run_once()
    status = harness.client.get(f"/api/v1/status/{task_id}").json()
    assert status["status"] == "CANCELLED"
    assert len(harness.services.store.get_phrases(task_id)) < 50
    assert harness.client.get(f"/export/{task_id}.txt").status_code == 409


def test_failed_task_reports_error_and_worker_goes_on(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    bad = create(harness, upload_id=upload["id"])["task_id"]
    harness.engine.fail_with = RuntimeError("decoder exploded")
    harness.worker().run_once()
    harness.engine.fail_with = None
    good = create(harness, upload_id=upload["id"])["task_id"]
    harness.drain()
    failed = harness.client.get(f"/api/v1/status/{bad}").json()
    assert failed["status"] == "FAILED"
    assert "decoder exploded" in failed["error"]
    assert harness.client.get(f"/api/v1/status/{good}").json()["status"] == "COMPLETED"


def test_model_unavailable_fails_task_with_instructions(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    task_id = create(harness, upload_id=upload["id"])["task_id"]
    harness.engine.unavailable = "model 'large-v3' is not available offline; copy it into data/models"
    harness.drain()
    status = harness.client.get(f"/api/v1/status/{task_id}").json()
    assert status["status"] == "FAILED"
    assert "not available offline" in status["error"]
    health = harness.client.get("/health").json()
    assert health["worker"]["state"] == "error"
    assert "not available offline" in health["worker"]["error"]
    harness.engine.unavailable = None
    second = create(harness, upload_id=upload["id"])["task_id"]
    harness.drain()
    assert harness.client.get(f"/api/v1/status/{second}").json()["status"] == "COMPLETED"


def test_delete_task_rules(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    task_id = create(harness, upload_id=upload["id"])["task_id"]
    assert harness.client.delete(f"/api/v1/tasks/{task_id}").status_code == 409
    harness.drain()
    assert harness.client.delete(f"/api/v1/tasks/{task_id}").status_code == 200
    assert harness.client.get(f"/api/v1/tasks/{task_id}").status_code == 404
    assert harness.services.store.get_phrases(str(task_id)) == []
    assert harness.client.delete(f"/api/v1/tasks/{task_id}").status_code == 404


def test_tasks_filter_and_pagination(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    ids = [create(harness, upload_id=upload["id"])["task_id"] for _ in range(5)]
    harness.client.post(f"/api/v1/cancel/{ids[0]}")
    page = harness.client.get("/api/v1/tasks", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5
    assert [t["task_id"] for t in page["tasks"]] == [ids[3], ids[2]]
    cancelled = harness.client.get("/api/v1/tasks", params={"status": "CANCELLED"}).json()
    assert [t["task_id"] for t in cancelled["tasks"]] == [ids[0]]
    both = harness.client.get("/api/v1/tasks", params=[("status", "CANCELLED"), ("status", "PENDING")]).json()
    assert both["total"] == 5
    assert harness.client.get("/api/v1/tasks", params={"status": "BOGUS"}).status_code == 422
    detail = harness.client.get(f"/api/v1/tasks/{ids[1]}").json()
    assert detail["queue_position"] == 0


def test_export_errors(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    task_id = create(harness, upload_id=upload["id"])["task_id"]
    pending = harness.client.get(f"/export/{task_id}.srt")
    assert pending.status_code == 409
    assert "PENDING" in pending.json()["detail"]
    assert harness.client.get(f"/export/{task_id}.docx").status_code == 404
    assert harness.client.get("/export/unknown.txt").status_code == 404


def test_reset_cancels_pending_keeps_history_and_reloads_model(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    done = create(harness, upload_id=upload["id"])["task_id"]
    worker = harness.worker()
    worker.drain()
    pending = [create(harness, upload_id=upload["id"])["task_id"] for _ in range(2)]
    loads_before = harness.engine.loads
    response = harness.client.post("/api/v1/reset")
    assert response.status_code == 200
    assert response.json()["cancelled"] == 2
    for task_id in pending:
        assert harness.client.get(f"/api/v1/status/{task_id}").json()["status"] == "CANCELLED"
    assert harness.client.get(f"/api/v1/status/{done}").json()["status"] == "COMPLETED"
    create(harness, upload_id=upload["id"])
    worker.drain()
    assert harness.engine.loads == loads_before + 1


def test_health(harness: Harness) -> None:
    report = harness.client.get("/health").json()
    assert report["status"] == "ok"
    assert report["ready"] is False
    assert harness.client.get("/health/ready").status_code == 503
    worker = harness.worker()
    worker.preload()
    report = harness.client.get("/health").json()
    assert report["ready"] is True
    assert report["model"] == "base"
    assert report["device"] == "cpu"
    assert report["queue"] == {"pending": 0, "in_progress": 0}
    assert harness.client.get("/health/ready").status_code == 200


def test_openapi_documents_the_contract(harness: Harness) -> None:
    schema = harness.client.get("/openapi.json").json()
    for path in [
        "/api/v1/upload",
        "/api/v1/uploads",
        "/api/v1/create_task",
        "/api/v1/status/{task_id}",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}",
        "/api/v1/cancel/{task_id}",
        "/export/{task_id}.{fmt}",
        "/api/v1/settings",
        "/api/v1/reset",
        "/health",
    ]:
        assert path in schema["paths"], path
    upload = schema["paths"]["/api/v1/upload"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    assert harness.client.get("/docs").status_code == 200


def test_seed_flow_on_postgresql(settings: Settings, postgres: Any, tone_wav: Path) -> None:
    settings.database_url = postgres.new_database()
    app = create_app(settings, environ={})
    with TestClient(app) as client:
        harness = Harness(client=client, services=app_state(app), engine=FakeTranscriber())
        upload = harness.upload(tone_wav)
        task_id = create(harness, file_path=upload["stored_path"])["task_id"]
        assert harness.drain() == 1
        status = client.get(f"/api/v1/status/{task_id}").json()
        assert status["status"] == "COMPLETED"
        assert [p["text"] for p in status["results"]["phrases"]] == ["Привет, мир.", "Second phrase."]
        client.post("/api/v1/settings", json={"WHISPER_BEAM": 3})
        assert client.get("/api/v1/settings").json()["WHISPER_BEAM"] == 3
