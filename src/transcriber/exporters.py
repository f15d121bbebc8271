"""Transcript exporters: plain text, SRT, WebVTT and JSON, plus download file names.

Pure functions over the domain types; this module imports neither FastAPI nor
faster-whisper. Every timestamp goes through ``to_milliseconds`` exactly once
(``round(seconds * 1000)``) and is then split with integer ``divmod``, so a
phrase at 2.01 s is written as ``00:00:02,010`` and never as ``00:00:02,009``.

SRT and VTT write the cues of ``transcriber.subtitles`` (lines, duration and reading
speed under ``SubtitleRules``); TXT and JSON keep one entry per phrase. A transcript split by
speaker shows its speakers' names everywhere: TXT lines ``[00:01:02] Оператор: ...``, SRT cues that
start with the name, VTT voice tags (``<v Оператор>``), JSON ids and names.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol
from urllib.parse import quote

from transcriber.domain import Phrase, Transcript, Word
from transcriber.subtitles import DEFAULT_RULES, SubtitleRules, build_cues, to_milliseconds

_MS_PER_SECOND = 1_000
_MS_PER_MINUTE = 60 * _MS_PER_SECOND
_MS_PER_HOUR = 60 * _MS_PER_MINUTE

# Characters Windows refuses in file names; "/" and "\" are also path separators.
_INVALID_FILENAME_CHARS = frozenset('<>:"/\\|?*')
# Device names Windows reserves regardless of extension ("CON.srt" cannot be saved).
_WINDOWS_RESERVED_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
)
_MAX_STEM_LENGTH = 150
_PATH_SEPARATORS = re.compile(r"[/\\]")


def _format_milliseconds(ms: int, decimal_marker: str) -> str:
    hours, rest = divmod(ms, _MS_PER_HOUR)
    minutes, rest = divmod(rest, _MS_PER_MINUTE)
    secs, millis = divmod(rest, _MS_PER_SECOND)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_marker}{millis:03d}"


def format_timestamp(seconds: float, *, decimal_marker: str) -> str:
    """``HH:MM:SS<marker>mmm`` (hours grow past 99 when needed), from integer milliseconds."""
    return _format_milliseconds(to_milliseconds(seconds), decimal_marker)


@dataclass(frozen=True, slots=True)
class _Line:
    """A phrase ready for a text file: non-empty single-line text, ``end_ms >= start_ms``."""

    start_ms: int
    end_ms: int
    text: str
    speaker: str | None = None


def _single_line(text: str) -> str:
    """Collapse every run of whitespace (including CR, LF and Unicode line breaks) to one space."""
    return " ".join(text.split())


def _span_ms(phrase: Phrase) -> tuple[int, int]:
    """Start and end in milliseconds; an end before the start is moved to the start."""
    start_ms = to_milliseconds(phrase.start)
    return start_ms, max(to_milliseconds(phrase.end), start_ms)


def _phrase_lines(t: Transcript) -> Iterator[_Line]:
    for phrase in t.phrases:
        text = _single_line(phrase.text)
        if text:
            yield _Line(*_span_ms(phrase), text, t.speaker_name(phrase.speaker))


def to_txt(t: Transcript, *, rules: SubtitleRules = DEFAULT_RULES) -> str:
    """One phrase per line, empty phrases skipped; ``""`` when there is no text at all. A transcript
    split by speaker gives each line its start and speaker: ``[00:01:02] Оператор: ...``.

    ``rules`` is accepted like every format's renderer takes it, and has no effect on plain text.
    """
    if not t.speakers:
        return "".join(f"{line.text}\n" for line in _phrase_lines(t))
    return "".join(
        f"[{_format_milliseconds(line.start_ms, ',')[:8]}] {line.speaker}: {line.text}\n"
        for line in _phrase_lines(t)
    )


def to_srt(t: Transcript, *, rules: SubtitleRules = DEFAULT_RULES) -> str:
    """SubRip: numbered blocks of the cues under ``rules``, each followed by a blank line; ``""`` for an
    empty transcript."""
    blocks = []
    for number, cue in enumerate(build_cues(t, rules=rules, labels=bool(t.speakers)), start=1):
        start = _format_milliseconds(cue.start_ms, ",")
        end = _format_milliseconds(cue.end_ms, ",")
        text = "\n".join(cue.lines)
        blocks.append(f"{number}\n{start} --> {end}\n{text}\n\n")
    return "".join(blocks)


def _vtt_text(text: str) -> str:
    """Cue text that cannot end the cue early or open a tag.

    WebVTT forbids ``-->`` in cue text and reads ``<`` and ``&`` as markup, so those two are
    written as character references (players display them as the original characters).
    """
    while "-->" in text:  # a loop, because "--->" becomes "-->" after one pass
        text = text.replace("-->", "->")
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _vtt_annotation(name: str) -> str:
    """A voice tag's annotation: ``>`` would close the tag, ``&`` start a reference; no ``-->``."""
    return _vtt_text(name).replace(">", "&gt;")


def to_vtt(t: Transcript, *, rules: SubtitleRules = DEFAULT_RULES) -> str:
    """WebVTT: the ``WEBVTT`` header, then the cues under ``rules`` without cue identifiers; in a
    transcript split by speaker each cue is a voice span of its speaker (``<v Оператор>...``)."""
    cues = []
    for cue in build_cues(t, rules=rules):
        start = _format_milliseconds(cue.start_ms, ".")
        end = _format_milliseconds(cue.end_ms, ".")
        text = "\n".join(_vtt_text(line) for line in cue.lines)
        if cue.speaker:
            text = f"<v {_vtt_annotation(cue.speaker)}>{text}"
        cues.append(f"{start} --> {end}\n{text}\n\n")
    return "WEBVTT\n\n" + "".join(cues)


def _seconds(ms: int) -> float:
    return ms / _MS_PER_SECOND


JsonValue = float | str | None | list["JsonValue"] | dict[str, "JsonValue"]


def _json_word(word: Word) -> dict[str, JsonValue]:
    start_ms = to_milliseconds(word.start)
    probability = word.probability if math.isfinite(word.probability) else None
    return {
        "start": _seconds(start_ms),
        "end": _seconds(max(to_milliseconds(word.end), start_ms)),
        "word": word.word,
        "probability": probability,
    }


def _json_phrase(phrase: Phrase, t: Transcript) -> dict[str, JsonValue]:
    start_ms, end_ms = _span_ms(phrase)
    document: dict[str, JsonValue] = {
        "start": _seconds(start_ms),
        "end": _seconds(end_ms),
        "text": phrase.text.strip(),
    }
    if phrase.language:
        document["language"] = phrase.language
    if phrase.speaker:
        document["speaker"] = phrase.speaker
        document["speaker_name"] = t.speaker_name(phrase.speaker)
    if phrase.words:
        document["words"] = [_json_word(word) for word in phrase.words]
    return document


def to_json(t: Transcript, *, rules: SubtitleRules = DEFAULT_RULES) -> str:
    """A JSON document with times in seconds rounded to whole milliseconds; non-ASCII kept as is.

    Phrases with no text are left out, as in the other formats; a phrase's text is stripped
    but keeps any inner line breaks, which JSON carries without harm. A phrase with word timings
    carries them as ``words: [{start, end, word, probability}]`` (the word as the engine gave
    it, with its leading space); one without has no ``words`` key. A phrase whose language was
    detected for its own window (multilingual tasks) carries ``language``, one in a task split by
    speaker its ``speaker`` id and ``speaker_name``, and the document lists the ``speakers``
    (``id``, ``name``, ``channel``). ``rules`` has no effect here.
    """
    document: dict[str, object] = {
        "task_id": t.task_id,
        "language": t.language,
        "duration": _seconds(to_milliseconds(t.duration)),
        "text": t.text,
        "phrases": [_json_phrase(p, t) for p in t.phrases if p.text.strip()],
        "warnings": [{"code": w.code, "seconds": w.seconds, "message": w.message} for w in t.warnings],
    }
    if t.speakers:
        document["speakers"] = [{"id": s.id, "name": s.name, "channel": s.channel} for s in t.speakers]
    return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)


class Renderer(Protocol):
    """Writes a transcript in one format; subtitle formats cut their cues under ``rules``."""

    def __call__(self, t: Transcript, /, *, rules: SubtitleRules = ...) -> str: ...


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """A download format: its name (also the file extension), media type and renderer."""

    name: str
    media_type: str
    render: Renderer


FORMATS: Mapping[str, ExportFormat] = MappingProxyType(
    {
        f.name: f
        for f in (
            ExportFormat("txt", "text/plain; charset=utf-8", to_txt),
            ExportFormat("srt", "application/x-subrip; charset=utf-8", to_srt),
            ExportFormat("vtt", "text/vtt; charset=utf-8", to_vtt),
            ExportFormat("json", "application/json; charset=utf-8", to_json),
        )
    }
)


# Cc: control characters (CR, LF, TAB among them); Cf: format characters such as U+202E,
# which can disguise an extension; Cs: lone surrogates, which cannot be encoded as UTF-8;
# Zl, Zp: the Unicode line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _clean_name(name: str) -> str:
    """``name`` without control, format, surrogate and line-breaking characters."""
    return "".join(c for c in name if unicodedata.category(c) not in _UNSAFE_CATEGORIES)


def export_filename(source_name: str | None, task_id: str, fmt: str) -> str:
    """The download name: the upload's base name with the extension replaced by ``.{fmt}``.

    Unicode letters and spaces are kept; path components, control characters and characters
    Windows does not allow are dropped. Falls back to ``transcript-{task_id}.{fmt}``.
    """
    fallback = f"transcript-{task_id}.{fmt}"
    if source_name is None:
        return fallback
    base = _PATH_SEPARATORS.split(unicodedata.normalize("NFC", source_name))[-1]
    base = "".join(c for c in _clean_name(base) if c not in _INVALID_FILENAME_CHARS)
    # Trailing dots go before the extension is split off; leading ones after, so that
    # ".mp3" (nothing but an extension) falls back rather than becoming "mp3.srt".
    base = base.rstrip(" .")
    stem, dot, _extension = base.rpartition(".")
    if not dot:
        stem = base
    stem = stem.strip(" .")[:_MAX_STEM_LENGTH].strip(" .")
    if not stem:
        return fallback
    if stem.split(".", 1)[0].strip().upper() in _WINDOWS_RESERVED_NAMES:
        stem = f"_{stem}"
    return f"{stem}.{fmt}"


def _ascii_fallback(char: str) -> str:
    return char if " " <= char <= "~" and char not in '"\\' else "_"


def content_disposition(filename: str) -> str:
    """An RFC 6266 ``attachment`` value with an ASCII ``filename`` and a UTF-8 ``filename*``.

    Control characters (CR and LF among them) are removed first, so the value is always safe
    to put in a header.
    """
    name = _clean_name(filename).strip() or "transcript"
    ascii_name = "".join(_ascii_fallback(char) for char in name)
    encoded = quote(name, safe="", encoding="utf-8")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"
