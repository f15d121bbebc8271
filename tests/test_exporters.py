"""Tests for transcriber.exporters: timestamps, the four formats and download names."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.subtitle_files import check_subtitles, parse_srt, parse_vtt
from transcriber.domain import Phrase, Speaker, Transcript, Word, task_warnings
from transcriber.exporters import (
    FORMATS,
    ExportFormat,
    content_disposition,
    export_filename,
    format_timestamp,
    to_json,
    to_milliseconds,
    to_srt,
    to_txt,
    to_vtt,
)
from transcriber.subtitles import SubtitleRules

TIMESTAMP = re.compile(r"(\d{2,}):([0-5]\d):([0-5]\d)([,.])(\d{3})")
TIMING_LINE = re.compile(rf"{TIMESTAMP.pattern} --> {TIMESTAMP.pattern}")


def parse_timestamp(text: str) -> tuple[int, str]:
    """Milliseconds and decimal marker of an SRT/VTT timestamp, checked strictly."""
    match = TIMESTAMP.fullmatch(text)
    assert match is not None, text
    hours, minutes, seconds, marker, millis = match.groups()
    ms = ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)
    return ms, marker


def make_transcript(*phrases: Phrase, duration: float = 3665.0) -> Transcript:
    return Transcript(
        task_id="t-1",
        language="ru",
        duration=duration,
        phrases=list(phrases),
        source_name="call.mp3",
    )


SAMPLE = make_transcript(
    Phrase(0.0, 2.01, "Здравствуйте, это служба поддержки."),
    Phrase(2.5, 5.9995, "  Чем могу помочь?  "),
    Phrase(3661.2, 3665.0, "Hello, world"),
)

EMPTY = make_transcript(duration=0.0)


# --- milliseconds and timestamps -----------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.0, 0),
        (2.01, 2010),  # 2.01 * 1000 == 2009.9999999999998; truncation would give 2009
        (0.9995, 1000),
        (59.9999, 60000),
        (3599.9996, 3600000),
        (1.23456, 1235),
        (0.0004, 0),
        (0.0006, 1),
        (-0.4, 0),
        (-5.0, 0),
        (math.nan, 0),
        (math.inf, 0),
        (-math.inf, 0),
    ],
)
def test_to_milliseconds_known_values(seconds: float, expected: int) -> None:
    result = to_milliseconds(seconds)
    assert type(result) is int
    assert result == expected


@pytest.mark.parametrize(
    ("seconds", "srt"),
    [
        (0.0, "00:00:00,000"),
        (2.01, "00:00:02,010"),
        (0.9995, "00:00:01,000"),
        (59.9999, "00:01:00,000"),
        (61.5, "00:01:01,500"),
        (3599.9996, "01:00:00,000"),
        (3599.999, "00:59:59,999"),
        (36000.0, "10:00:00,000"),
        (359999.999, "99:59:59,999"),
        (360000.0, "100:00:00,000"),
        (3723.004, "01:02:03,004"),
        (-1.0, "00:00:00,000"),
        (math.nan, "00:00:00,000"),
    ],
)
def test_format_timestamp_known_values(seconds: float, srt: str) -> None:
    assert format_timestamp(seconds, decimal_marker=",") == srt
    vtt = srt[:-4] + "." + srt[-3:]
    assert format_timestamp(seconds, decimal_marker=".") == vtt


def test_format_timestamp_marker_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        format_timestamp(1.0, ",")  # type: ignore[call-arg]


def test_format_timestamp_round_trips_every_seventh_millisecond() -> None:
    for ms in range(0, 100_000, 7):
        seconds = ms / 1000
        assert parse_timestamp(format_timestamp(seconds, decimal_marker=",")) == (
            ms,
            ",",
        ), ms
        assert parse_timestamp(format_timestamp(seconds, decimal_marker=".")) == (
            ms,
            ".",
        ), ms


def test_format_timestamp_rounds_to_nearest_millisecond() -> None:
    # 0.4 ms either side of a whole millisecond must land on it; truncation fails the
    # "below" case and rounding to the wrong side fails the "above" case.
    for ms in range(1, 100_000, 7):
        below = parse_timestamp(format_timestamp(ms / 1000 - 0.0004, decimal_marker=","))
        above = parse_timestamp(format_timestamp(ms / 1000 + 0.0004, decimal_marker=","))
        assert below == (ms, ","), ms
        assert above == (ms, ","), ms


def test_format_timestamp_round_trips_long_recordings() -> None:
    # Up to ~111 hours, stepping by an odd number so every field takes many values.
    for ms in range(0, 400_000_000, 999_983):
        assert parse_timestamp(format_timestamp(ms / 1000, decimal_marker=",")) == (
            ms,
            ",",
        )


# --- plain text ------------------------------------------------------------------------------


def test_txt_golden() -> None:
    expected = "Здравствуйте, это служба поддержки.\nЧем могу помочь?\nHello, world\n"
    assert to_txt(SAMPLE) == expected


def test_txt_empty_transcript() -> None:
    assert to_txt(EMPTY) == ""
    assert to_txt(make_transcript(Phrase(0, 1, "   "), Phrase(1, 2, ""))) == ""


def test_txt_keeps_one_phrase_per_line() -> None:
    t = make_transcript(Phrase(0, 1, "one\r\ntwo"), Phrase(1, 2, " "), Phrase(2, 3, "three"))
    assert to_txt(t) == "one two\nthree\n"


# --- SRT -------------------------------------------------------------------------------------

SRT_GOLDEN = (
    "1\n"
    "00:00:00,000 --> 00:00:02,010\n"
    "Здравствуйте, это служба поддержки.\n"
    "\n"
    "2\n"
    "00:00:02,500 --> 00:00:06,000\n"
    "Чем могу помочь?\n"
    "\n"
    "3\n"
    "01:01:01,200 --> 01:01:05,000\n"
    "Hello, world\n"
    "\n"
)


def srt_blocks(document: str) -> list[list[str]]:
    assert document.endswith("\n\n")
    return [block.split("\n") for block in document[:-2].split("\n\n")]


def test_srt_golden() -> None:
    assert to_srt(SAMPLE) == SRT_GOLDEN
    check_subtitles(SAMPLE)


def test_srt_empty_transcript() -> None:
    assert to_srt(EMPTY) == ""


def test_srt_skips_empty_phrases_and_numbers_contiguously() -> None:
    t = make_transcript(
        Phrase(0.0, 1.0, "first"),
        Phrase(1.0, 2.0, "  \n "),
        Phrase(2.0, 3.0, ""),
        Phrase(3.0, 4.0, "second"),
    )
    blocks = srt_blocks(to_srt(t))
    assert [block[0] for block in blocks] == ["1", "2"]
    assert [block[2] for block in blocks] == ["first", "second"]
    assert blocks[1][1] == "00:00:03,000 --> 00:00:04,000"


def test_srt_collapses_line_breaks_inside_a_phrase() -> None:
    t = make_transcript(
        Phrase(0.0, 1.0, "line one\r\nline two\n\nline three\rend\u2028x"),
        Phrase(1.0, 2.0, "next"),
    )
    blocks = srt_blocks(to_srt(t))
    assert len(blocks) == 2
    assert blocks[0] == [
        "1",
        "00:00:00,000 --> 00:00:01,000",
        "line one line two line three end x",
    ]
    assert all(len(block) == 3 for block in blocks)


def test_srt_end_before_start_uses_start() -> None:
    # The cue starts at the start; as it is then no time at all, it is lengthened to the 1 s
    # minimum into the silence after it (before the subtitle rules it stayed 5.000 --> 5.000).
    t = make_transcript(Phrase(5.0, 4.2, "backwards"))
    assert to_srt(t) == "1\n00:00:05,000 --> 00:00:06,000\nbackwards\n\n"
    followed = make_transcript(Phrase(5.0, 4.2, "backwards"), Phrase(5.25, 6.5, "next"))
    assert to_srt(followed).startswith("1\n00:00:05,000 --> 00:00:05,250\nbackwards\n\n")


def test_srt_every_timing_line_is_well_formed() -> None:
    phrases = [Phrase(i * 0.337, i * 0.337 + 0.2999, f"phrase {i}") for i in range(300)]
    check_subtitles(make_transcript(*phrases))
    blocks = srt_blocks(to_srt(make_transcript(*phrases)))
    assert len(blocks) == 300
    for index, (number, timing, text) in enumerate(blocks):
        assert number == str(index + 1)
        match = TIMING_LINE.fullmatch(timing)
        assert match is not None
        start = parse_timestamp(timing.split(" --> ")[0])[0]
        end = parse_timestamp(timing.split(" --> ")[1])[0]
        assert start == round(index * 0.337 * 1000)
        assert end >= start
        assert text == f"phrase {index}"


# --- WebVTT ----------------------------------------------------------------------------------

VTT_GOLDEN = (
    "WEBVTT\n"
    "\n"
    "00:00:00.000 --> 00:00:02.010\n"
    "Здравствуйте, это служба поддержки.\n"
    "\n"
    "00:00:02.500 --> 00:00:06.000\n"
    "Чем могу помочь?\n"
    "\n"
    "01:01:01.200 --> 01:01:05.000\n"
    "Hello, world\n"
    "\n"
)


def vtt_cues(document: str) -> list[list[str]]:
    header = "WEBVTT\n\n"
    assert document.startswith(header)
    body = document[len(header) :]
    if not body:
        return []
    assert body.endswith("\n\n")
    return [cue.split("\n") for cue in body[:-2].split("\n\n")]


def test_vtt_golden() -> None:
    assert to_vtt(SAMPLE) == VTT_GOLDEN


def test_vtt_empty_transcript() -> None:
    assert to_vtt(EMPTY) == "WEBVTT\n\n"
    assert to_vtt(make_transcript(Phrase(0, 1, " \r\n "))) == "WEBVTT\n\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a --> b", "a -> b"),
        ("a-->b", "a->b"),
        ("a --->b", "a ->b"),
        ("---->>", "->>"),
        ("<- ok ->", "&lt;- ok ->"),
    ],
)
def test_vtt_text_never_contains_an_arrow(text: str, expected: str) -> None:
    cues = vtt_cues(to_vtt(make_transcript(Phrase(1.0, 2.0, text))))
    assert cues == [["00:00:01.000 --> 00:00:02.000", expected]]


def test_vtt_escapes_markup_characters() -> None:
    t = make_transcript(Phrase(0.0, 1.0, "AT&T <b>bold</b>"))
    cues = vtt_cues(to_vtt(t))
    assert cues[0][1] == "AT&amp;T &lt;b>bold&lt;/b>"
    assert parse_vtt(to_vtt(t))[0].lines == ("AT&T <b>bold</b>",)  # as a player shows it


def test_vtt_escapes_every_line_of_a_two_line_cue() -> None:
    t = make_transcript(Phrase(0.0, 6.0, "Tom & Jerry <3 and the --> arrows, then <i>tags</i> & more"))
    assert vtt_cues(to_vtt(t)) == [
        [
            "00:00:00.000 --> 00:00:06.000",
            "Tom &amp; Jerry &lt;3 and the -> arrows,",
            "then &lt;i>tags&lt;/i> &amp; more",
        ]
    ]
    check_subtitles(t)


def test_vtt_cue_has_no_blank_lines_and_one_timing_line() -> None:
    t = make_transcript(
        Phrase(0.0, 1.0, "first\n\nsecond --> third\r\n\r\nfourth"),
        Phrase(1.0, 2.0, "\n\nnext\n\n"),
        Phrase(2.0, 3.0, "\n\n"),
    )
    document = to_vtt(t)
    cues = vtt_cues(document)
    assert cues == [
        ["00:00:00.000 --> 00:00:01.000", "first second -> third fourth"],
        ["00:00:01.000 --> 00:00:02.000", "next"],
    ]
    arrow_lines = [line for line in document.split("\n") if "-->" in line]
    assert all(TIMING_LINE.fullmatch(line) for line in arrow_lines)
    assert len(arrow_lines) == 2


def test_vtt_end_before_start_uses_start() -> None:
    # Lengthened to the 1 s minimum, as in SRT (it was 02.010 --> 02.010 before the subtitle rules).
    assert vtt_cues(to_vtt(make_transcript(Phrase(2.01, 1.0, "x")))) == [
        ["00:00:02.010 --> 00:00:03.010", "x"]
    ]


# --- JSON ------------------------------------------------------------------------------------


def test_json_round_trip() -> None:
    t = Transcript(
        task_id="abc-123",
        language="ru",
        duration=12.34567,
        phrases=[
            Phrase(0.0, 2.01, "  Привет, мир  "),
            Phrase(2.0004, 3.9996, ""),
            Phrase(1.23456, 4.5, "second", speaker="S2"),
        ],
        source_name="Звонок.mp3",
    )
    output = to_json(t)
    data = json.loads(output)
    assert list(data) == ["task_id", "language", "duration", "text", "phrases", "warnings"]
    assert data["warnings"] == []
    assert data["task_id"] == "abc-123"
    assert data["language"] == "ru"
    assert data["duration"] == 12.346
    assert data["text"] == "Привет, мир second"
    assert data["phrases"] == [
        {"start": 0.0, "end": 2.01, "text": "Привет, мир"},
        # only where split by speaker; a speaker the transcript does not list is named by its id
        {"start": 1.235, "end": 4.5, "text": "second", "speaker": "S2", "speaker_name": "S2"},
    ]
    for phrase in data["phrases"]:
        assert isinstance(phrase["start"], float)
        assert isinstance(phrase["end"], float)
    assert "Привет, мир" in output
    assert "\\u" not in output
    assert output.startswith('{\n  "task_id": "abc-123"')


def test_json_empty_transcript() -> None:
    data = json.loads(to_json(Transcript(task_id="x", language=None, duration=0.0)))
    assert data == {
        "task_id": "x",
        "language": None,
        "duration": 0.0,
        "text": "",
        "phrases": [],
        "warnings": [],
    }


def test_json_says_when_audio_could_not_be_decoded() -> None:
    warnings = task_warnings(undecoded_seconds=16.4123)
    t = Transcript(task_id="x", language="en", duration=60.0, warnings=warnings)
    data = json.loads(to_json(t))
    assert data["warnings"] == [
        {"code": "undecodable_audio", "seconds": 16.412, "message": warnings[0].message}
    ]
    assert "16.4 s of the audio could not be decoded" in data["warnings"][0]["message"]
    assert task_warnings(undecoded_seconds=None) == task_warnings(undecoded_seconds=0.0) == ()


def test_json_is_strict_even_for_non_finite_times() -> None:
    t = make_transcript(Phrase(math.nan, math.inf, "x"), duration=math.inf)
    output = to_json(t)
    assert "NaN" not in output
    assert "Infinity" not in output
    data = json.loads(output)
    assert data["duration"] == 0.0
    assert data["phrases"] == [{"start": 0.0, "end": 0.0, "text": "x"}]


def test_json_times_agree_with_subtitle_timestamps() -> None:
    # Phrases that keep the subtitle rules are one cue each, at the phrase's own times. (Before the
    # rules these phrases overlapped, 1 s long every 13.7 ms; cues are now cut back to the next
    # cue's start, which test_overlapping_phrases_give_cues_that_do_not_overlap covers.)
    phrases = [Phrase(i * 1.0137, i * 1.0137 + 1.0, f"p{i}") for i in range(500)]
    t = make_transcript(*phrases)
    data = json.loads(to_json(t))
    for cue, phrase in zip(srt_blocks(to_srt(t)), data["phrases"], strict=True):
        start, end = cue[1].split(" --> ")
        assert parse_timestamp(start)[0] == round(phrase["start"] * 1000)
        assert parse_timestamp(end)[0] == round(phrase["end"] * 1000)


def test_json_carries_words_only_for_phrases_that_have_them() -> None:
    words = (Word(0.0, 0.4004, " Привет,", 0.91), Word(0.5, 2.01, " мир", float("nan")))
    t = make_transcript(Phrase(0.0, 2.01, " Привет, мир", words), Phrase(3.0, 4.0, "без слов"))
    data = json.loads(to_json(t))
    assert data["phrases"] == [
        {
            "start": 0.0,
            "end": 2.01,
            "text": "Привет, мир",
            "words": [
                {"start": 0.0, "end": 0.4, "word": " Привет,", "probability": 0.91},
                {"start": 0.5, "end": 2.01, "word": " мир", "probability": None},
            ],
        },
        {"start": 3.0, "end": 4.0, "text": "без слов"},
    ]
    assert list(data["phrases"][0]) == ["start", "end", "text", "words"]


# --- subtitle rules in SRT and VTT -------------------------------------------------------------

LONG_PHRASE = Phrase(
    10.0,
    25.0,
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software "
    "and associated documentation files, to deal in the software without restriction.",
)


def test_a_long_phrase_becomes_several_readable_cues() -> None:
    t = make_transcript(LONG_PHRASE)
    cues = check_subtitles(t)
    assert len(cues) > 1
    assert cues[0].start_ms == 10_000
    assert cues[-1].end_ms == 25_000
    assert " ".join(line for cue in cues for line in cue.lines) == LONG_PHRASE.text
    assert parse_vtt(to_vtt(t)) == cues
    assert to_txt(t) == LONG_PHRASE.text + "\n"  # TXT stays one line per phrase
    assert json.loads(to_json(t))["phrases"][0]["text"] == LONG_PHRASE.text


def test_subtitle_rules_reach_both_formats() -> None:
    t = make_transcript(LONG_PHRASE)
    rules = SubtitleRules(max_line_chars=20, max_lines=1, max_cue_seconds=3.0, max_cps=12.0)
    narrow = check_subtitles(t, rules)
    assert len(narrow) > len(check_subtitles(t))
    assert all(len(cue.lines) == 1 and len(cue.lines[0]) <= 20 for cue in narrow)
    assert parse_srt(to_srt(t, rules=rules)) == narrow
    assert to_txt(t, rules=rules) == to_txt(t)
    assert to_json(t, rules=rules) == to_json(t)


# --- the format table ------------------------------------------------------------------------


def test_formats_table() -> None:
    assert dict(FORMATS) == {
        "txt": ExportFormat("txt", "text/plain; charset=utf-8", to_txt),
        "srt": ExportFormat("srt", "application/x-subrip; charset=utf-8", to_srt),
        "vtt": ExportFormat("vtt", "text/vtt; charset=utf-8", to_vtt),
        "json": ExportFormat("json", "application/json; charset=utf-8", to_json),
    }
    for name, fmt in FORMATS.items():
        assert fmt.name == name
        assert isinstance(fmt.render(SAMPLE), str)
        assert isinstance(fmt.render(SAMPLE, rules=SubtitleRules(max_lines=1)), str)


def test_formats_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        FORMATS["txt"].name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        FORMATS["pdf"] = FORMATS["txt"]  # type: ignore[index]


# --- download file names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_name", "fmt", "expected"),
    [
        ("Звонок клиента 01.mp3", "srt", "Звонок клиента 01.srt"),
        ("Звонок клиента 01.mp3", "json", "Звонок клиента 01.json"),
        ("../../etc/passwd", "srt", "passwd.srt"),
        ("C:\\Users\\x\\a.wav", "srt", "a.srt"),
        ("C:\\Users\\x/../mixed/b.ogg", "vtt", "b.vtt"),
        ("...", "srt", "transcript-t-1.srt"),
        (".", "srt", "transcript-t-1.srt"),
        ("", "srt", "transcript-t-1.srt"),
        ("   ", "srt", "transcript-t-1.srt"),
        ("dir/", "srt", "transcript-t-1.srt"),
        ("..\\..\\", "srt", "transcript-t-1.srt"),
        ('<>:"|?*.mp3', "srt", "transcript-t-1.srt"),
        (".mp3", "srt", "transcript-t-1.srt"),
        ("name.wav.", "srt", "name.srt"),
        ("trailing dots....", "srt", "trailing dots.srt"),
        (None, "txt", "transcript-t-1.txt"),
        ('my "best" call.wav', "srt", "my best call.srt"),
        ("a<b>c|d?e*f:g.ogg", "srt", "abcdefg.srt"),
        ("line\r\nbreak\t.mp3", "srt", "linebreak.srt"),
        ("evil\u202egnp.exe", "srt", "evilgnp.srt"),
        ("  .hidden.mp3 ", "srt", "hidden.srt"),
        ("name. .mp3", "srt", "name.srt"),
        ("no_extension", "srt", "no_extension.srt"),
        ("archive.tar.gz", "srt", "archive.tar.srt"),
        ("日本語 ファイル.m4a", "srt", "日本語 ファイル.srt"),
        ("CON.wav", "srt", "_CON.srt"),
        ("lpt1.backup.wav", "srt", "_lpt1.backup.srt"),
        ("console.wav", "srt", "console.srt"),
    ],
)
def test_export_filename(source_name: str | None, fmt: str, expected: str) -> None:
    assert export_filename(source_name, "t-1", fmt) == expected


def test_export_filename_caps_the_stem() -> None:
    assert export_filename("x" * 300 + ".wav", "t-1", "srt") == "x" * 150 + ".srt"
    # A cut that ends in a space must not leave it before the extension.
    assert export_filename("a" * 149 + " b.wav", "t-1", "srt") == "a" * 149 + ".srt"
    assert export_filename("Я" * 200 + ".mp3", "t-1", "txt") == "Я" * 150 + ".txt"


def test_export_filename_normalises_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Мой звонок.mp3")
    assert decomposed != "Мой звонок.mp3"
    assert export_filename(decomposed, "t-1", "srt") == "Мой звонок.srt"


@pytest.mark.parametrize(
    "source_name",
    [
        "a\x00b.wav",
        "\x1b[31mred.wav",
        "x\ud800y.wav",
        "../\r\n/..\\.\\.mp3",
        'Content-Disposition: "evil"\r\n.wav',
        "a\u2028b\u2029c.wav",
        "\x7f\x85\u200b.wav",
        "trailing dots....",
        "спецсимволы «ёлки» №5 — тест.flac",
    ],
)
def test_export_filename_is_always_safe(source_name: str) -> None:
    name = export_filename(source_name, "t-1", "srt")
    stem, dot, extension = name.rpartition(".")
    assert dot == "."
    assert extension == "srt"
    assert stem
    assert stem == stem.strip(" .")
    assert not set(name) & set('<>:"/\\|?*')
    assert all(unicodedata.category(c) not in {"Cc", "Cf", "Cs", "Zl", "Zp"} for c in name)
    name.encode("utf-8")  # no lone surrogates


# --- Content-Disposition ---------------------------------------------------------------------

DISPOSITION = re.compile(
    r'attachment; filename="(?P<fallback>[ !#-\[\]-~]*)"; '
    r"filename\*=UTF-8''(?P<encoded>[A-Za-z0-9!#$&+.^_`|~%-]*)"
)


def parse_disposition(value: str) -> tuple[str, str]:
    """The ASCII fallback and the decoded ``filename*`` of a header value we produced."""
    match = DISPOSITION.fullmatch(value)
    assert match is not None, value
    decoded = unquote(match["encoded"], encoding="utf-8", errors="strict")
    return match["fallback"], decoded


def test_content_disposition_cyrillic() -> None:
    value = content_disposition("Звонок клиента 01.srt")
    assert value == (
        'attachment; filename="______ _______ 01.srt"; '
        "filename*=UTF-8''%D0%97%D0%B2%D0%BE%D0%BD%D0%BE%D0%BA%20"
        "%D0%BA%D0%BB%D0%B8%D0%B5%D0%BD%D1%82%D0%B0%2001.srt"
    )
    assert parse_disposition(value) == (
        "______ _______ 01.srt",
        "Звонок клиента 01.srt",
    )


def test_content_disposition_ascii_name() -> None:
    value = content_disposition("transcript-abc.json")
    assert parse_disposition(value) == ("transcript-abc.json", "transcript-abc.json")


def test_content_disposition_quotes_and_backslashes() -> None:
    fallback, decoded = parse_disposition(content_disposition('a"b\\c;d.srt'))
    assert fallback == "a_b_c;d.srt"
    assert decoded == 'a"b\\c;d.srt'


@pytest.mark.parametrize(
    "filename",
    [
        "a\r\nSet-Cookie: x=1.srt",
        "\r\n",
        "x\ry\nz\x00.vtt",
        "Звонок\r\n\u2028\u2029.txt",
        "tab\there.txt",
        "x\ud800y.txt",
        "emoji 🎧 100%.json",
        "%D0%97 already encoded.txt",
    ],
)
def test_content_disposition_is_header_safe(filename: str) -> None:
    value = content_disposition(filename)
    assert "\r" not in value
    assert "\n" not in value
    assert value.isascii()
    assert all(" " <= c <= "~" for c in value)
    fallback, decoded = parse_disposition(value)
    assert fallback
    assert len(fallback) == len(decoded)
    assert not {"\r", "\n", "\x00", "\t"} & set(decoded)
    expected = "".join(
        c for c in filename if unicodedata.category(c) not in {"Cc", "Cf", "Cs", "Zl", "Zp"}
    ).strip()
    assert decoded == (expected or "transcript")


def test_content_disposition_of_export_filename_round_trips() -> None:
    for source in ["Звонок клиента 01.mp3", "../../etc/passwd", None, 'q"uote.wav']:
        name = export_filename(source, "t-1", "srt")
        assert parse_disposition(content_disposition(name))[1] == name


# --- layering --------------------------------------------------------------------------------


def test_exporters_import_neither_fastapi_nor_faster_whisper() -> None:
    src = Path(__file__).resolve().parents[1] / "src"
    code = (
        "import sys; import transcriber.exporters, transcriber.subtitles; "
        "bad = sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'fastapi', 'starlette', 'faster_whisper', 'ctranslate2'}); "
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(src)},
        timeout=60,
    )
    assert result.stdout.strip() == ""


# --- speakers ---------------------------------------------------------------------------------


CALL = Transcript(
    task_id="t-2",
    language="ru",
    duration=3700.0,
    phrases=[
        Phrase(0.0, 2.0, "Здравствуйте, служба поддержки.", speaker="S1"),
        Phrase(1.5, 3.0, "Алло, добрый день!", speaker="S2"),  # at once with the operator
        Phrase(3665.2, 3667.0, "Всего доброго.", speaker="S1"),
    ],
    speakers=(Speaker("S1", "Оператор", 0), Speaker("S2", "Клиент <VIP> & Co", 1)),
)


def test_txt_with_speakers_gives_each_line_its_time_and_name() -> None:
    assert to_txt(CALL) == (
        "[00:00:00] Оператор: Здравствуйте, служба поддержки.\n"
        "[00:00:01] Клиент <VIP> & Co: Алло, добрый день!\n"
        "[01:01:05] Оператор: Всего доброго.\n"
    )
    assert to_txt(SAMPLE).startswith("Здравствуйте, это служба поддержки.\n")  # the seed's TXT stays


def test_srt_and_vtt_name_the_speaker_and_let_two_speak_at_once() -> None:
    srt_cues = parse_srt(to_srt(CALL))
    assert [c.lines[0].split(":")[0] for c in srt_cues] == ["Оператор", "Клиент <VIP> & Co", "Оператор"]
    vtt = to_vtt(CALL)
    assert "<v Клиент &lt;VIP&gt; &amp; Co>Алло, добрый день!" in vtt
    cues = check_subtitles(CALL)
    assert [(c.speaker, c.start_ms, c.end_ms) for c in cues] == [
        ("Оператор", 0, 2000),  # not cut back where the client starts: they speak at once
        ("Клиент <VIP> & Co", 1500, 3000),
        ("Оператор", 3665200, 3667000),
    ]
    assert cues[0].lines == ("Здравствуйте, служба поддержки.",)  # VTT: the name in the voice tag only


def test_json_lists_the_speakers_and_names_each_phrase() -> None:
    data = json.loads(to_json(CALL))
    assert data["speakers"] == [
        {"id": "S1", "name": "Оператор", "channel": 0},
        {"id": "S2", "name": "Клиент <VIP> & Co", "channel": 1},
    ]
    assert [(p["speaker"], p["speaker_name"]) for p in data["phrases"]] == [
        ("S1", "Оператор"),
        ("S2", "Клиент <VIP> & Co"),
        ("S1", "Оператор"),
    ]
    assert "speakers" not in json.loads(to_json(SAMPLE))
