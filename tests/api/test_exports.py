"""The export URL's subtitle rules: query parameters, their ranges, and files that keep them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FakeTranscriber, Harness
from tests.subtitle_files import check_subtitles, parse_srt, parse_vtt
from transcriber.domain import Phrase, Transcript
from transcriber.subtitles import RULE_RANGES, SubtitleRules

LONG = (
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software "
    "and associated documentation files, to deal in the software without restriction."
)
PHRASES = [Phrase(0.0, 1.5, "Привет, мир."), Phrase(2.0, 14.0, LONG)]
EXPORTED = Transcript(task_id="t", language="ru", duration=15.0, phrases=PHRASES)
RULES = ["max_line_chars", "max_lines", "max_cue_seconds", "max_cps"]


@pytest.fixture
def task_id(harness: Harness, tone_wav: Path) -> str:
    harness.engine = FakeTranscriber(phrases=PHRASES, duration=15.0)
    upload = harness.upload(tone_wav)
    created = harness.client.post("/api/v1/create_task", json={"upload_id": upload["id"]}).json()
    assert harness.drain() == 1
    task: str = created["task_id"]
    return task


def test_export_subtitles_keep_the_default_rules(harness: Harness, task_id: str) -> None:
    srt_file = harness.client.get(f"/export/{task_id}.srt")
    vtt_file = harness.client.get(f"/export/{task_id}.vtt")
    assert srt_file.status_code == vtt_file.status_code == 200
    expected = check_subtitles(EXPORTED)
    assert parse_srt(srt_file.text) == parse_vtt(vtt_file.text) == expected
    assert len(expected) > len(PHRASES)  # the long phrase is cut into readable cues
    assert expected[0].lines == ("Привет, мир.",)  # the short one is the cue it always was
    explicit = {"max_line_chars": 42, "max_lines": 2, "max_cue_seconds": 7, "max_cps": 20}
    assert harness.client.get(f"/export/{task_id}.srt", params=explicit).text == srt_file.text


def test_export_subtitles_follow_the_query_parameters(harness: Harness, task_id: str) -> None:
    params = {"max_line_chars": 24, "max_lines": 1, "max_cue_seconds": 2.5, "max_cps": 15.5}
    rules = SubtitleRules(max_line_chars=24, max_lines=1, max_cue_seconds=2.5, max_cps=15.5)
    expected = check_subtitles(EXPORTED, rules)
    assert expected != check_subtitles(EXPORTED)
    assert parse_srt(harness.client.get(f"/export/{task_id}.srt", params=params).text) == expected
    assert parse_vtt(harness.client.get(f"/export/{task_id}.vtt", params=params).text) == expected


def test_export_text_and_json_ignore_the_subtitle_rules(harness: Harness, task_id: str) -> None:
    params = {"max_line_chars": 10, "max_lines": 1}
    txt = harness.client.get(f"/export/{task_id}.txt", params=params).text
    assert txt == harness.client.get(f"/export/{task_id}.txt").text == f"Привет, мир.\n{LONG}\n"
    doc = json.loads(harness.client.get(f"/export/{task_id}.json", params=params).text)
    assert [p["text"] for p in doc["phrases"]] == ["Привет, мир.", LONG]
    assert all("words" not in p for p in doc["phrases"])


@pytest.mark.parametrize("name", RULES)
def test_export_refuses_a_rule_out_of_its_range(harness: Harness, task_id: str, name: str) -> None:
    low, high = RULE_RANGES[name]
    for bad in (low - 1, high + 1, -5, 10_000):
        response = harness.client.get(f"/export/{task_id}.srt", params={name: bad})
        assert response.status_code == 422, (name, bad)
        body = response.json()
        assert body["code"] == "invalid_subtitle_rule"
        assert body["key"] == name
        assert body["detail"].startswith(f"{name}: must be")
        assert f"from {low:g} to {high:g}" in body["detail"]
    for good in (low, high):
        assert harness.client.get(f"/export/{task_id}.srt", params={name: good}).status_code == 200


@pytest.mark.parametrize(
    ("name", "value"), [("max_lines", "two"), ("max_line_chars", "4.5"), ("max_cps", "nan")]
)
def test_export_refuses_a_rule_that_is_not_a_number(
    harness: Harness, task_id: str, name: str, value: str
) -> None:
    response = harness.client.get(f"/export/{task_id}.vtt", params={name: value})
    assert response.status_code == 422
    assert name in response.json()["detail"]


def test_export_parameters_are_documented_with_their_ranges(harness: Harness) -> None:
    operation = harness.client.get("/openapi.json").json()["paths"]["/export/{task_id}.{fmt}"]["get"]
    documented = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert set(documented) == set(RULES)
    for name in RULES:
        low, high = RULE_RANGES[name]
        schema = documented[name]["schema"]
        assert (schema["minimum"], schema["maximum"]) == (low, high)
        assert schema["default"] == getattr(SubtitleRules(), name)
        assert f"{low:g} to {high:g}" in documented[name]["description"]
