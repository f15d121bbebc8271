"""OpenAI's own client against the real service: a real server process behind an API key, its worker
with the real tiny.en (base for translation), real speech, every response format and the errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import srt
import webvtt

from tests.conftest import JFK_TEXT, espeak, repo_audio
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.slow
KEY = "openai-test-key-0123456789abcdef"


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z']+", text.lower()))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("openai") / "data"
    process = ServerProcess(data, models_dir, env={"TRANSCRIBE_API_KEYS": f"tools:{KEY}"}).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=300)


def transcribe(client: openai.OpenAI, **kwargs: Any) -> Any:
    with open(repo_audio("jfk.flac"), "rb") as fh:
        return client.audio.transcriptions.create(model="whisper-1", file=fh, **kwargs)


def test_json(client: openai.OpenAI) -> None:
    assert JFK_TEXT in words(transcribe(client).text)


def test_text(client: openai.OpenAI) -> None:
    result = transcribe(client, response_format="text")
    assert isinstance(result, str)
    assert JFK_TEXT in words(result)


def test_srt_and_vtt_parse(client: openai.OpenAI, tmp_path: Path) -> None:
    cues = list(srt.parse(transcribe(client, response_format="srt")))
    assert JFK_TEXT in words(" ".join(c.content for c in cues))
    assert cues[-1].end.total_seconds() <= 11.1
    vtt_file = tmp_path / "a.vtt"
    vtt_file.write_text(transcribe(client, response_format="vtt"), encoding="utf-8")
    assert JFK_TEXT in words(" ".join(c.text for c in webvtt.read(str(vtt_file))))


def test_verbose_json_with_words(client: openai.OpenAI) -> None:
    result = transcribe(client, response_format="verbose_json", timestamp_granularities=["word", "segment"])
    assert result.task == "transcribe"
    assert result.language == "english"
    assert result.duration == pytest.approx(11.0, abs=0.1)
    assert JFK_TEXT in words(result.text)
    assert result.segments
    assert all(0 <= s.start < s.end <= 11.1 for s in result.segments)
    spoken = [w for w in result.words or [] if w.word.strip(" ,.").lower() == "country"]
    assert len(spoken) == 2  # "...what your country can do for you, ask what you can do for your country."
    assert 0 < spoken[0].start < spoken[0].end < spoken[1].start < spoken[1].end < 11.1


def test_translation_into_english(client: openai.OpenAI, tmp_path: Path) -> None:
    german = espeak("Guten Morgen. Das Wetter ist heute sehr schön.", tmp_path / "de.wav", voice="de")
    # openai 3.x marks translations deprecated (OpenAI's newer models do not translate); Whisper does.
    with open(german, "rb") as fh, pytest.warns(DeprecationWarning, match="deprecated"):
        result = client.audio.translations.create(model="base", file=fh, response_format="verbose_json")
    assert result.language == "german"
    assert "good morning" in words(result.text)


def test_errors_in_openai_shape(server: ServerProcess, client: openai.OpenAI, tmp_path: Path) -> None:
    stranger = openai.OpenAI(base_url=f"{server.url}/v1", api_key="not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        transcribe(stranger)
    with pytest.raises(openai.BadRequestError) as bad:
        transcribe(client, response_format="docx")
    assert isinstance(bad.value.body, dict)
    assert bad.value.body["param"] == "response_format"
    notes = tmp_path / "notes.txt"
    notes.write_text("no audio here\n" * 50)
    with open(notes, "rb") as fh, pytest.raises(openai.APIStatusError) as unsupported:
        client.audio.transcriptions.create(model="whisper-1", file=fh)
    assert unsupported.value.status_code == 415


def test_models(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids[:2] == ["whisper-1", "tiny.en"]  # the alias, then the configured model
    assert "base" in ids
