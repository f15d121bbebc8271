"""A mono conversation told apart by voice through the real service (tiny.en): each phrase with the
speaker whose words it holds, the speakers listed and named, and every export with the names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import real_harness
from tests.conversations import conversation, write_wav
from transcriber.config import Settings


def words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


@pytest.mark.slow
def test_a_conversation_in_mono_gives_each_phrase_its_speaker(
    settings: Settings, models_dir: Path, tmp_path: Path
) -> None:
    samples, truth = conversation()
    audio = write_wav(samples, tmp_path / "meeting.wav")
    with real_harness(settings, models_dir) as harness:
        status = harness.transcribe(audio, diarize=True, speaker_names="Чтец")
        plain = harness.transcribe(audio)
        task = status["task_id"]
        txt = harness.client.get(f"/export/{task}.txt").text
        document = json.loads(harness.client.get(f"/export/{task}.json").text)
        refused = harness.client.post(
            "/api/v1/create_task",
            json={"upload_id": status["upload_id"], "diarize": True, "min_speakers": 4, "max_speakers": 2},
        )
    assert status["status"] == "COMPLETED", status
    phrases = status["results"]["phrases"]
    assert [s["id"] for s in status["speakers"]] == ["S1", "S2", "S3"], phrases
    assert [s["name"] for s in status["speakers"]] == ["Чтец", "Спикер 2", "Спикер 3"]
    assert all(s["channel"] is None for s in status["speakers"])
    # each phrase lies in one voice's stretch, and each voice is one speaker
    voice_of: dict[str, str] = {}
    for phrase in phrases:
        middle = (phrase["start"] + phrase["end"]) / 2
        who = next(w for a, b, w in truth if a <= middle < b)
        assert voice_of.setdefault(phrase["speaker"], who) == who, (phrase, truth)
    assert voice_of == {"S1": "reader", "S2": "jfk", "S3": "left"}
    kennedy = words(" ".join(p["text"] for p in phrases if p["speaker"] == "S2"))
    assert "ask not what your country can do for you" in kennedy
    # the same words as without telling voices apart, now split where the voice changes
    assert len(phrases) >= len(plain["results"]["phrases"])
    assert all("speaker" not in p for p in plain["results"]["phrases"])
    assert plain["speakers"] == []
    assert re.search(r"^\[00:00:2\d\] Спикер 2: and so my fellow americans", txt, re.M | re.I), txt
    assert [s["name"] for s in document["speakers"]] == ["Чтец", "Спикер 2", "Спикер 3"]
    assert (refused.status_code, refused.json()["key"]) == (422, "min_speakers"), refused.text
