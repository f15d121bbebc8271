"""A transcript in the shapes of OpenAI's audio API: ``json``, ``text``, ``srt``, ``vtt``, ``verbose_json``.

Pure functions over the domain types, like :mod:`transcriber.exporters` (whose SRT and VTT they reuse,
speaker names included). ``verbose_json`` is OpenAI's document: ``task``, ``language`` (the language's
English name in lower case, as OpenAI writes it), ``duration``, ``text``, ``segments`` (one per phrase)
and ``words``. A segment carries every field OpenAI's client declares; what this service does not keep
is given its neutral value and said so here: ``tokens`` is empty, ``seek`` is the segment's start in
10 ms frames, ``temperature`` is 0 (decoding starts at 0 and only a chunk whose text loops is decoded
again hotter), ``no_speech_prob`` is 0 (phrases over silence are dropped before they are stored).
``avg_logprob`` is the mean log-probability of the segment's words when they were timed, and
``compression_ratio`` is computed from its text the way Whisper does.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass
from typing import Any

from transcriber.domain import Phrase, Transcript
from transcriber.exporters import to_srt, to_vtt
from transcriber.subtitles import to_milliseconds

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
GRANULARITIES = ("word", "segment")
DEFAULT_MODEL_ALIAS = "whisper-1"
"""The model name OpenAI's clients send by default: this service's configured model."""

# Whisper's own language names (openai-whisper's tokenizer.LANGUAGES), which verbose_json reports.
LANGUAGE_NAMES = {
    "en": "english", "zh": "chinese", "de": "german", "es": "spanish", "ru": "russian", "ko": "korean",
    "fr": "french", "ja": "japanese", "pt": "portuguese", "tr": "turkish", "pl": "polish", "ca": "catalan",
    "nl": "dutch", "ar": "arabic", "sv": "swedish", "it": "italian", "id": "indonesian", "hi": "hindi",
    "fi": "finnish", "vi": "vietnamese", "he": "hebrew", "uk": "ukrainian", "el": "greek", "ms": "malay",
    "cs": "czech", "ro": "romanian", "da": "danish", "hu": "hungarian", "ta": "tamil", "no": "norwegian",
    "th": "thai", "ur": "urdu", "hr": "croatian", "bg": "bulgarian", "lt": "lithuanian", "la": "latin",
    "mi": "maori", "ml": "malayalam", "cy": "welsh", "sk": "slovak", "te": "telugu", "fa": "persian",
    "lv": "latvian", "bn": "bengali", "sr": "serbian", "az": "azerbaijani", "sl": "slovenian",
    "kn": "kannada", "et": "estonian", "mk": "macedonian", "br": "breton", "eu": "basque",
    "is": "icelandic", "hy": "armenian", "ne": "nepali", "mn": "mongolian", "bs": "bosnian",
    "kk": "kazakh", "sq": "albanian", "sw": "swahili", "gl": "galician", "mr": "marathi",
    "pa": "punjabi", "si": "sinhala", "km": "khmer", "sn": "shona", "yo": "yoruba", "so": "somali",
    "af": "afrikaans", "oc": "occitan", "ka": "georgian", "be": "belarusian", "tg": "tajik",
    "sd": "sindhi", "gu": "gujarati", "am": "amharic", "yi": "yiddish", "lo": "lao", "uz": "uzbek",
    "fo": "faroese", "ht": "haitian creole", "ps": "pashto", "tk": "turkmen", "nn": "nynorsk",
    "mt": "maltese", "sa": "sanskrit", "lb": "luxembourgish", "my": "myanmar", "bo": "tibetan",
    "tl": "tagalog", "mg": "malagasy", "as": "assamese", "tt": "tatar", "haw": "hawaiian",
    "ln": "lingala", "ha": "hausa", "ba": "bashkir", "jw": "javanese", "su": "sundanese",
    "yue": "cantonese",
}  # fmt: skip
_MEDIA_TYPES = {
    "json": "application/json",
    "verbose_json": "application/json",
    "text": "text/plain; charset=utf-8",
    "srt": "text/plain; charset=utf-8",  # what OpenAI sends; its client reads these three as text
    "vtt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    media_type: str


def language_name(code: str | None) -> str | None:
    """``ru`` → ``russian``; an unknown code is given back as it is."""
    if code is None:
        return None
    return LANGUAGE_NAMES.get(code.lower(), code)


def _seconds(value: float) -> float:
    return to_milliseconds(value) / 1000


def _spoken(t: Transcript) -> list[Phrase]:
    return [p for p in t.phrases if p.text.strip()]


def compression_ratio(text: str) -> float:
    """Whisper's measure of repetition: the text's UTF-8 length over its zlib-compressed length."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _avg_logprob(phrase: Phrase) -> float:
    logs = [math.log(max(w.probability, 1e-10)) for w in phrase.words if math.isfinite(w.probability)]
    return round(sum(logs) / len(logs), 6) if logs else 0.0


def _segment(index: int, phrase: Phrase, t: Transcript) -> dict[str, Any]:
    text = phrase.text.strip()
    segment: dict[str, Any] = {
        "id": index,
        "seek": round(phrase.start * 100),
        "start": _seconds(phrase.start),
        "end": _seconds(max(phrase.end, phrase.start)),
        "text": " " + text,  # Whisper's segments begin with the space their first token carries
        "tokens": [],
        "temperature": 0.0,
        "avg_logprob": _avg_logprob(phrase),
        "compression_ratio": round(compression_ratio(text), 6),
        "no_speech_prob": 0.0,
    }
    if phrase.speaker:
        segment["speaker"] = t.speaker_name(phrase.speaker)
    return segment


def _words(t: Transcript) -> list[dict[str, Any]]:
    return [
        {"word": w.word.strip(), "start": _seconds(w.start), "end": _seconds(max(w.end, w.start))}
        for p in _spoken(t)
        for w in p.words
    ]


def _usage(t: Transcript) -> dict[str, Any]:
    return {"type": "duration", "seconds": math.ceil(t.duration)}


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8")


def render(t: Transcript, *, response_format: str, granularities: tuple[str, ...], task: str) -> Rendered:
    """The transcript as OpenAI answers ``response_format``; ``granularities`` (verbose_json only):
    ``segment`` (also when none is given) and/or ``word``."""
    media_type = _MEDIA_TYPES[response_format]
    if response_format == "text":
        return Rendered((t.text + "\n").encode("utf-8"), media_type)
    if response_format == "srt":
        return Rendered(to_srt(t).encode("utf-8"), media_type)
    if response_format == "vtt":
        return Rendered(to_vtt(t).encode("utf-8"), media_type)
    if response_format == "json":
        return Rendered(_json({"text": t.text, "usage": _usage(t)}), media_type)
    document: dict[str, Any] = {
        "task": task,
        "language": language_name(t.language),
        "duration": _seconds(t.duration),
        "text": t.text,
    }
    if "segment" in granularities or not granularities:
        document["segments"] = [_segment(i, p, t) for i, p in enumerate(_spoken(t))]
    if "word" in granularities:
        document["words"] = _words(t)
    document["usage"] = _usage(t)
    return Rendered(_json(document), media_type)
