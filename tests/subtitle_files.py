"""Subtitle files read back with independent parsers (``srt``, ``webvtt-py``) and checked against the rules.

Every test that writes SRT or VTT goes through ``check_subtitles``: the files must parse, agree with each
other, and keep every rule of ``SubtitleRules`` as the module ``transcriber.subtitles`` states them.
"""

from __future__ import annotations

import difflib
import html
import itertools
import math
from datetime import timedelta

import srt
import webvtt

from transcriber.domain import Phrase, Transcript
from transcriber.exporters import to_srt, to_vtt
from transcriber.subtitles import Cue, SubtitleRules, to_milliseconds


def parse_srt(document: str) -> list[Cue]:
    """SubRip read by the ``srt`` package (strictly), numbered 1, 2, 3...; and written back the same."""
    subtitles = list(srt.parse(document))
    assert [s.index for s in subtitles] == list(range(1, len(subtitles) + 1))
    assert srt.compose(subtitles, reindex=False, strict=False) == document
    ms = timedelta(milliseconds=1)
    return [Cue(s.start // ms, s.end // ms, tuple(s.content.split("\n"))) for s in subtitles]


def _timestamp_ms(stamp: webvtt.models.Timestamp) -> int:
    return ((stamp.hours * 60 + stamp.minutes) * 60 + stamp.seconds) * 1000 + stamp.milliseconds


def parse_vtt(document: str) -> list[Cue]:
    """WebVTT read by ``webvtt-py``, character references decoded as a player shows them; a voice span's
    name (``<v Оператор>``) is the cue's speaker."""
    captions = webvtt.from_string(document).captions
    assert len(captions) == document.count(" --> ")  # no cue text was taken for a timing line
    return [
        Cue(
            _timestamp_ms(c.start_time),
            _timestamp_ms(c.end_time),
            tuple(html.unescape(x) for x in c.text.split("\n")),
            html.unescape(c.voice) if c.voice else None,
        )
        for c in captions
    ]


def _without_arrows(line: str) -> str:
    while "-->" in line:
        line = line.replace("-->", "->")
    return line


def phrase_words(phrase: Phrase) -> list[str]:
    """The words a phrase's cues must show, in order."""
    if not phrase.words:
        return phrase.text.split()
    # A word without a leading space continues the one before it ("Mr" + "."), unless no word of the
    # phrase has one while its text has spaces (an engine stripped them): the rule subtitles follow.
    spaced = any(w.word[:1].isspace() for w in phrase.words[1:])
    separate = not spaced and len(phrase.text.split()) > 1
    words: list[str] = []
    for w in phrase.words:
        text = " ".join(w.word.split())
        if not text:
            continue
        if words and not separate and not w.word[:1].isspace():
            words[-1] += text
        else:
            words.append(text)
    return [part for word in words for part in word.split()]


def rule_breaks(cues: list[Cue], rules: SubtitleRules, *, recording_ms: int) -> list[tuple[int, str]]:
    """Every ``(cue index, rule)`` a list of cues breaks; a short or fast cue only counts when the time
    up to the next cue (or the end of the recording) would have let it keep the rule."""
    breaks = []
    max_ms = to_milliseconds(rules.max_cue_seconds)
    min_ms = to_milliseconds(rules.min_cue_seconds)
    for index, cue in enumerate(cues):
        last = max(recording_ms, cue.end_ms) if recording_ms else math.inf
        # a cue may grow into silence only: up to its own speaker's next cue and anyone's next cue
        own = next((c.start_ms for c in cues[index + 1 :] if c.speaker == cue.speaker), last)
        limit = min(own, cues[index + 1].start_ms if index + 1 < len(cues) else last)
        duration = cue.end_ms - cue.start_ms
        if not 1 <= len(cue.lines) <= rules.max_lines:
            breaks.append((index, "lines"))
        if any(len(line) > rules.max_line_chars and " " in line for line in cue.lines):
            breaks.append((index, "line_chars"))
        if duration > max_ms:
            breaks.append((index, "max_seconds"))
        if duration < min(min_ms, max_ms) and cue.end_ms < limit:
            breaks.append((index, "min_seconds"))
        if duration < min(math.ceil(cue.chars * 1000 / rules.max_cps), max_ms) and cue.end_ms < limit:
            breaks.append((index, "cps"))
    return breaks


def check_subtitles(transcript: Transcript, rules: SubtitleRules | None = None) -> list[Cue]:
    """Write ``transcript`` as SRT and VTT, read both back, and check every rule; the cues as read."""
    rules = rules or SubtitleRules()
    cues = parse_srt(to_srt(transcript, rules=rules))
    vtt_cues = parse_vtt(to_vtt(transcript, rules=rules))
    if transcript.speakers:
        return _check_speakers(transcript, rules, cues, vtt_cues)
    assert [(c.start_ms, c.end_ms) for c in vtt_cues] == [(c.start_ms, c.end_ms) for c in cues]
    assert [c.lines for c in vtt_cues] == [tuple(_without_arrows(x) for x in c.lines) for c in cues]

    words = [word for phrase in transcript.phrases for word in phrase_words(phrase)]
    shown = " ".join(line for cue in cues for line in cue.lines)
    assert shown.split() == words, (
        "every word shown once, in order, none cut",
        list(difflib.unified_diff(words, shown.split(), lineterm="", n=2)),
    )
    long_words = {word for word in words if len(word) > rules.max_line_chars}
    for cue in cues:
        assert cue.lines, cue
        assert all(line and line == line.strip() for line in cue.lines), cue
        for line in cue.lines:
            assert len(line) <= rules.max_line_chars or line in long_words, (line, rules)
    for cue, following in itertools.pairwise(cues):
        assert 0 <= cue.start_ms <= cue.end_ms <= following.start_ms, (cue, following)
    assert rule_breaks(cues, rules, recording_ms=to_milliseconds(transcript.duration)) == []
    return cues


def _check_speakers(
    transcript: Transcript, rules: SubtitleRules, srt_cues: list[Cue], cues: list[Cue]
) -> list[Cue]:
    """The rules on a transcript split by speaker: each speaker's cues (VTT voice spans) show its words
    in order and never overlap each other, other speakers' cues may; SRT cues start each phrase with
    its speaker's name and keep the line rules with it. The VTT cues, with their speakers."""
    named = {p.speaker: transcript.speaker_name(p.speaker) for p in transcript.phrases}
    for speaker, name in named.items():
        own = [cue for cue in cues if cue.speaker == name]
        words = [w for p in transcript.phrases if p.speaker == speaker for w in phrase_words(p)]
        assert " ".join(line for cue in own for line in cue.lines).split() == words, name
        for cue, following in itertools.pairwise(own):
            assert 0 <= cue.start_ms <= cue.end_ms <= following.start_ms, (cue, following)
        labelled = [cue for cue in srt_cues if cue.lines[0].startswith(f"{name}: ")]
        assert len(labelled) == sum(1 for p in transcript.phrases if p.speaker == speaker and p.text.strip())
    shown = [w for cue in srt_cues for line in cue.lines for w in line.split()]
    label_words = sum(
        len(f"{named[p.speaker]}:".split()) for p in transcript.phrases if p.text.strip() and p.speaker
    )
    assert len(shown) == sum(len(phrase_words(p)) for p in transcript.phrases) + label_words
    for cue in srt_cues:  # a label is glued to the phrase's first word: a line longer only with a long word
        for line in cue.lines:
            assert len(line) <= rules.max_line_chars or " " not in line.split(": ", 1)[-1], (line, rules)
    assert rule_breaks(cues, rules, recording_ms=to_milliseconds(transcript.duration)) == []
    return cues
