"""The OpenAI-compatible routes through OpenAI's own client (``openai``), on the app with a scripted
engine and an in-process worker running in a thread (the request waits for its task)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.conftest import FakeTranscriber, Harness
from transcriber.api import create_app
from transcriber.api.state import app_state
from transcriber.config import OpenAISettings, Settings
from transcriber.domain import Phrase, TaskStatus, Word

WORDS = (Word(0.0, 0.5, " Привет,", 0.9), Word(0.5, 1.5, " мир.", 0.8))
PHRASES = [Phrase(0.0, 1.5, "Привет, мир.", WORDS), Phrase(1.5, 3.0, "Second phrase.")]


class BackgroundWorker:
    """Drains the queue in a thread while requests wait, as the real worker process would."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        worker = self.harness.worker()
        while not self.stop.is_set():
            if not worker.run_once():
                time.sleep(0.02)

    def __enter__(self) -> BackgroundWorker:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def make_client(harness: Harness, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(
        base_url="http://testserver/v1", api_key="unused", http_client=harness.client, max_retries=0, **kwargs
    )


@pytest.fixture
def running(harness: Harness) -> Iterator[Harness]:
    harness.engine.phrases = list(PHRASES)
    with BackgroundWorker(harness):
        yield harness


def test_json_is_the_whole_text_and_the_task_stays_in_the_queue(running: Harness, tone_wav: Path) -> None:
    client = make_client(running)
    with open(tone_wav, "rb") as fh:
        raw = client.audio.transcriptions.with_raw_response.create(model="whisper-1", file=fh)
    result = raw.parse()
    assert result.text == "Привет, мир. Second phrase."
    task_id = raw.headers["x-task-id"]
    task = running.client.get(f"/api/v1/status/{task_id}").json()
    assert task["status"] == "COMPLETED"
    assert task["options"] == {"task": "transcribe"}  # whisper-1 is the configured model: no override


def test_options_come_from_the_form(running: Harness, tone_wav: Path) -> None:
    client = make_client(running)
    with open(tone_wav, "rb") as fh:
        raw = client.audio.transcriptions.with_raw_response.create(
            model="tiny.en", file=fh, language="EN", prompt="Glossary: Whisper.", temperature=0
        )
    task = running.client.get(f"/api/v1/status/{raw.headers['x-task-id']}").json()
    assert task["options"] == {
        "task": "transcribe",
        "model": "tiny.en",
        "language": "en",
        "initial_prompt": "Glossary: Whisper.",
    }
    assert running.engine.seen_settings[-1].initial_prompt == "Glossary: Whisper."


def test_verbose_json_has_segments_and_words(running: Harness, tone_wav: Path) -> None:
    client = make_client(running)
    with open(tone_wav, "rb") as fh:
        result = client.audio.transcriptions.create(
            model="whisper-1",
            file=fh,
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
        )
    assert result.language == "russian"
    assert result.duration == 3.0
    assert [(s.start, s.end, s.text) for s in result.segments or []] == [
        (0.0, 1.5, " Привет, мир."),
        (1.5, 3.0, " Second phrase."),
    ]
    assert result.segments is not None
    assert result.segments[0].avg_logprob == pytest.approx((-0.105361 - 0.223144) / 2, abs=1e-5)
    assert [(w.word, w.start, w.end) for w in result.words or []] == [
        ("Привет,", 0.0, 0.5),
        ("мир.", 0.5, 1.5),
    ]
    assert running.engine.seen_settings[-1].word_timestamps is True


def test_words_only_leaves_segments_out(running: Harness, tone_wav: Path) -> None:
    client = make_client(running)
    with open(tone_wav, "rb") as fh:
        result = client.audio.transcriptions.create(
            model="whisper-1", file=fh, response_format="verbose_json", timestamp_granularities=["word"]
        )
    assert result.segments is None
    assert result.words is not None
    assert len(result.words) == 2


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_text_formats_are_strings(running: Harness, tone_wav: Path, fmt: Any) -> None:
    client = make_client(running)
    with open(tone_wav, "rb") as fh:
        result = client.audio.transcriptions.create(model="whisper-1", file=fh, response_format=fmt)
    assert isinstance(result, str)
    if fmt == "text":
        assert result == "Привет, мир. Second phrase.\n"
    elif fmt == "srt":
        assert result.startswith("1\n00:00:00,000 --> 00:00:01,500\nПривет, мир.\n")
    else:
        assert result.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nПривет, мир.\n")


def test_translation_asks_whisper_to_translate(running: Harness, tone_wav: Path) -> None:
    client = make_client(running)
    # openai 3.x marks translations deprecated (OpenAI's newer models do not translate); Whisper does.
    with open(tone_wav, "rb") as fh, pytest.warns(DeprecationWarning, match="deprecated"):
        result = client.audio.translations.create(model="whisper-1", file=fh, response_format="verbose_json")
    assert result.text == "Привет, мир. Second phrase."
    assert running.engine.seen_settings[-1].task == "translate"


def test_bad_parameters_are_openai_errors_and_leave_no_upload(running: Harness, tone_wav: Path) -> None:
    client = make_client(running)
    cases = [
        ({"response_format": "xml"}, "response_format"),
        ({"response_format": "json", "timestamp_granularities": ["word"]}, "timestamp_granularities[]"),
        ({"temperature": 1.5}, "temperature"),
        ({"language": "xx-not-a-language"}, "language"),
        ({"model": "/etc"}, "model"),
    ]
    for extra, param in cases:
        with open(tone_wav, "rb") as fh, pytest.raises(openai.BadRequestError) as caught:
            client.audio.transcriptions.create(model=extra.pop("model", "whisper-1"), file=fh, **extra)
        assert caught.value.status_code == 400
        error = caught.value.body
        assert isinstance(error, dict)
        assert error["param"] == param, error
        assert error["type"] == "invalid_request_error"
        assert error["message"]
    assert running.client.get("/api/v1/uploads").json()["files"] == []
    assert running.client.get("/api/v1/tasks").json()["total"] == 0


def test_not_audio_is_415_in_openai_shape(running: Harness, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not audio at all\n" * 100)
    with open(text, "rb") as fh, pytest.raises(openai.APIStatusError) as caught:
        make_client(running).audio.transcriptions.create(model="whisper-1", file=fh)
    assert caught.value.status_code == 415
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["code"] == "unsupported_media"


def test_a_failed_task_is_a_500_the_client_does_not_retry(running: Harness, tone_wav: Path) -> None:
    running.engine.fail_with = RuntimeError("the decoder broke")
    client = openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=running.client)
    with open(tone_wav, "rb") as fh, pytest.raises(openai.InternalServerError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=fh)
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["code"] == "task_failed"
    assert running.client.get("/api/v1/tasks").json()["total"] == 1  # retries would each queue one


def test_a_long_wait_is_kept_alive_and_still_valid_json(settings: Settings, tone_wav: Path) -> None:
    settings.openai = OpenAISettings(keepalive_seconds=0.2)
    gate = threading.Event()
    app = create_app(settings, environ={})
    with TestClient(app) as http:
        harness = Harness(client=http, services=app_state(app), engine=FakeTranscriber(before_phrase=gate))

        def open_gate_later() -> None:  # a second after the task started: well past the first keep-alive
            deadline = time.monotonic() + 30
            while not harness.services.store.count_by_status()[TaskStatus.IN_PROGRESS]:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            time.sleep(1.0)
            gate.set()

        threading.Thread(target=open_gate_later, daemon=True).start()
        with BackgroundWorker(harness), open(tone_wav, "rb") as fh:
            response = http.post(
                "/v1/audio/transcriptions", files={"file": fh}, data={"response_format": "verbose_json"}
            )
    assert response.status_code == 200
    assert response.content.startswith(b"  ")  # at least two keep-alive spaces before the document
    assert json.loads(response.content)["text"] == "Привет, мир. Second phrase."


def test_the_wait_has_a_limit_and_the_task_goes_on(settings: Settings, tone_wav: Path) -> None:
    settings.openai = OpenAISettings(keepalive_seconds=0.1, max_wait_seconds=0.3)
    app = create_app(settings, environ={})
    with TestClient(app) as http, open(tone_wav, "rb") as fh:  # no worker: the task stays pending
        response = http.post("/v1/audio/transcriptions", files={"file": fh}, data={"response_format": "text"})
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "still_running"
        task_id = response.headers["x-task-id"]
        assert http.get(f"/api/v1/status/{task_id}").json()["status"] == TaskStatus.PENDING.value


def test_models_list_the_configured_and_bundled_ones(harness: Harness) -> None:
    client = make_client(harness)
    ids = [m.id for m in client.models.list()]
    assert ids[0] == "whisper-1"
    assert {"base", "tiny.en"} <= set(ids)
    assert client.models.retrieve("tiny.en").id == "tiny.en"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("large-v9")


def test_the_api_key_is_a_bearer_token(settings: Settings, tone_wav: Path) -> None:
    settings.api_keys = SecretStr("ci:" + "k" * 32)
    app = create_app(settings, environ={})
    with TestClient(app) as http:
        bad = openai.OpenAI(base_url="http://testserver/v1", api_key="wrong", http_client=http, max_retries=0)
        with pytest.raises(openai.AuthenticationError) as caught:
            bad.models.list()
        assert isinstance(caught.value.body, dict)
        assert caught.value.body["code"] == "invalid_api_key"
        good = openai.OpenAI(base_url="http://testserver/v1", api_key="k" * 32, http_client=http)
        assert good.models.list().data[0].id == "whisper-1"
