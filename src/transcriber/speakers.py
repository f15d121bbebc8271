"""Speakers' names: the defaults a task's speakers get, renaming them, and their stored form.

A split recording's phrases carry a stable speaker id (``S1``, ``S2``...); what people read is the
speaker's name. Names come from ``WHISPER_SPEAKER_NAMES`` (or the task's ``speaker_names``), in the
order of the ids: for a stereo call the left channel's party first (``Оператор,Клиент``); a speaker
without one is ``Спикер N``. They can be changed later (``PATCH /api/v1/tasks/{id}``), which changes
every export at once: phrases keep the id, never the name. This module imports neither FastAPI nor
faster-whisper.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence

from transcriber.domain import Speaker
from transcriber.errors import Conflict, InvalidSpeaker

MAX_NAME_CHARS = 100
MAX_SPEAKERS = 32
DEFAULT_NAME = "Спикер {n}"  # Russian first: the names are data, written into every export

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def default_name(number: int) -> str:
    """The name of the ``number``-th speaker (from 1) that was given none."""
    return DEFAULT_NAME.format(n=number)


def parse_names(text: str) -> tuple[str, ...]:
    """Names from a comma-separated list (``"Оператор, Клиент"``); an empty item keeps its place, so
    ``",Клиент"`` names only the second speaker. Raises ``ValueError`` saying what is wrong."""
    if not text.strip():
        return ()
    items = text.split(",")
    if len(items) > MAX_SPEAKERS:
        raise ValueError(f"at most {MAX_SPEAKERS} names, separated by commas; got {len(items)}")
    return tuple(check_name(item) for item in items)


def check_name(name: str) -> str:
    """``name`` as it is stored (runs of spaces made one, none at the ends), or ``ValueError``: at most
    ``MAX_NAME_CHARS`` characters, no control characters (a name is written on lines of TXT and SRT
    files)."""
    if _CONTROL.search(name):
        raise ValueError("a speaker's name cannot hold control characters or line breaks")
    name = " ".join(name.split())
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"a speaker's name is at most {MAX_NAME_CHARS} characters; {name[:20]!r}... is not")
    return name


def named(ids: Sequence[tuple[str, int | None]], names: Sequence[str] = ()) -> tuple[Speaker, ...]:
    """Speakers for ``ids`` (each with its channel, or None), named from ``names`` in order."""
    return tuple(
        Speaker(speaker, (names[i] if i < len(names) else "") or default_name(i + 1), channel)
        for i, (speaker, channel) in enumerate(ids)
    )


def renamed(speakers: Sequence[Speaker], changes: Mapping[str, str | None]) -> tuple[Speaker, ...]:
    """``speakers`` with the names ``changes`` gives (by id; None or empty: the default name back).
    Raises :class:`InvalidSpeaker` for an id the task has no speaker for, or a bad name."""
    if not speakers:
        raise Conflict("this task has no speakers: its recording was not split by speaker")
    known = {s.id for s in speakers}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise InvalidSpeaker(
            f"the task has no speaker {unknown[0]!r}; its speakers are {', '.join(s.id for s in speakers)}"
        )
    out = []
    for number, speaker in enumerate(speakers, start=1):
        if speaker.id not in changes:
            out.append(speaker)
            continue
        try:
            name = check_name(changes[speaker.id] or "")
        except ValueError as exc:
            raise InvalidSpeaker(str(exc)) from None
        out.append(Speaker(speaker.id, name or default_name(number), speaker.channel))
    return tuple(out)


def to_json(speakers: Iterable[Speaker]) -> str | None:
    """The stored form of a task's speakers (None for none)."""
    rows = [{"id": s.id, "name": s.name, "channel": s.channel} for s in speakers]
    return json.dumps(rows, ensure_ascii=False) if rows else None


def from_json(text: str | None) -> tuple[Speaker, ...]:
    if not text:
        return ()
    return tuple(Speaker(str(r["id"]), str(r["name"]), r.get("channel")) for r in json.loads(text))
