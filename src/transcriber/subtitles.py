"""Subtitle cues from a transcript's words, under line, duration and reading-speed rules.

Pure functions over the domain types: no I/O, and neither FastAPI nor faster-whisper is imported.
Every time becomes whole milliseconds once (``to_milliseconds``), so the rules hold on exactly the
numbers that the SRT and VTT files carry.

How a transcript becomes cues:

1. Each phrase is cut into cues on its own; a cue never joins two phrases, so a phrase that already
   keeps the rules stays the one cue it always was.
2. The cuts inside a phrase are chosen together (dynamic programming) so that every cue fits in
   ``max_lines`` lines of ``max_line_chars`` characters and lasts at most ``max_cue_seconds``. A cut
   goes at a sentence end if it can, else at a comma or other clause punctuation, else at a pause
   between words, and anywhere else only when nothing better is in reach; it is always between two
   words, never inside one. Long pauses make a cut cheaper still, so a cue is not shown over silence.
3. A cue's lines are as even as possible, with a preference for a break after punctuation. A word
   longer than a line stays whole, on a line of its own.
4. Across the transcript, cues are put in time order and a cue's end is cut back to the next cue's
   start (cues never overlap). With speakers, a cue is cut back only by its own speaker's next cue:
   two parties speaking at once get two cues shown together, as players do. A cue shorter than
   ``min_cue_seconds``, or too fast to read at ``max_cps`` characters per second, is lengthened into
   the silence after it, up to ``max_cue_seconds`` and never past the next cue's start (nor past the
   end of the recording). Where the speech leaves no silence, the cue stays as short or as fast as
   the speech was.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from types import MappingProxyType

from transcriber.domain import Phrase, Transcript
from transcriber.errors import InvalidSubtitleRules

_MS_PER_SECOND = 1_000


def to_milliseconds(seconds: float) -> int:
    """Whole milliseconds for ``seconds``: rounded once, negative clamped to 0, NaN/inf -> 0."""
    if not math.isfinite(seconds):
        return 0
    return max(round(seconds * _MS_PER_SECOND), 0)


RULE_RANGES: Mapping[str, tuple[int | float, int | float]] = MappingProxyType(
    {
        "max_line_chars": (10, 200),
        "max_lines": (1, 4),
        "max_cue_seconds": (1.0, 30.0),
        "max_cps": (5.0, 60.0),
        "min_cue_seconds": (0.0, 30.0),
    }
)
"""The allowed range of each rule, both ends included."""

_WHOLE_NUMBER_RULES = frozenset({"max_line_chars", "max_lines"})


def _in_range(value: object, *, low: float, high: float, whole: bool) -> bool:
    """Whether ``value`` is a number (a whole one if ``whole``; never a bool) from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if whole and not isinstance(value, int):
        return False
    return low <= value <= high


@dataclass(frozen=True, slots=True)
class SubtitleRules:
    """How subtitle cues are cut; every value is checked against ``RULE_RANGES``."""

    max_line_chars: int = 42
    """Characters on one line of a cue."""
    max_lines: int = 2
    """Lines in one cue."""
    max_cue_seconds: float = 7.0
    """How long one cue stays on screen at most."""
    max_cps: float = 20.0
    """Reading speed: characters per second (line breaks not counted), kept where pauses allow."""
    min_cue_seconds: float = 1.0
    """How long one cue stays on screen at least, where the speech leaves the time."""

    def __post_init__(self) -> None:
        for rule in fields(self):
            value: object = getattr(self, rule.name)
            low, high = RULE_RANGES[rule.name]
            whole = rule.name in _WHOLE_NUMBER_RULES
            if not _in_range(value, low=low, high=high, whole=whole):
                kind = "a whole number" if whole else "a number"
                raise InvalidSubtitleRules(
                    rule.name, f"must be {kind} from {low:g} to {high:g} (got {value!r})"
                )
        if self.min_cue_seconds > self.max_cue_seconds:
            raise InvalidSubtitleRules(
                "min_cue_seconds",
                f"must not be over max_cue_seconds ({self.max_cue_seconds:g}), got {self.min_cue_seconds:g}",
            )

    @property
    def cue_chars(self) -> int:
        """Characters one cue may hold: what its lines take, and what can be read in its longest time."""
        return min(self.max_lines * self.max_line_chars, int(self.max_cps * self.max_cue_seconds))


DEFAULT_RULES = SubtitleRules()


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: 1 to ``max_lines`` non-empty lines shown from ``start_ms`` to ``end_ms``."""

    start_ms: int
    end_ms: int
    lines: tuple[str, ...]
    speaker: str | None = None
    """The name of who says it, in a transcript split by speaker."""

    @property
    def chars(self) -> int:
        """The characters a viewer reads (line breaks not counted), for the reading speed."""
        return sum(len(line) for line in self.lines)


@dataclass(frozen=True, slots=True)
class _Token:
    """A word as the cutting sees it: single-line text, ``start_ms <= end_ms``."""

    text: str
    start_ms: int
    end_ms: int
    glued: bool
    """Written right after the previous word, without a space (languages written without spaces)."""


_WRITTEN_WITHOUT_SPACES = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]"
)
"""Characters of scripts written without spaces between words (Thai, Lao, Myanmar, Khmer, Japanese
kana, CJK ideographs, Hangul syllables, full-width forms): a cut may fall between two of them."""


def _timed_words(phrase: Phrase) -> list[_Token]:
    """The phrase's own words. Whisper's words carry their leading space (``" hello"``); one without it
    continues the word before (a word in pieces: ``" Tzu"``, ``"-fakau"``) and is joined to it, unless
    the two meet in a script written without spaces (``"你好"`` ``"世界"``): those are glued together but
    may be cut between. Where no word has a leading space but the phrase's text has spaces, an engine
    stripped them, and the words are separate. Word starts are made non-decreasing and ends never
    before starts."""
    spaced = any(word.word[:1].isspace() for word in phrase.words[1:])
    separate = not spaced and len(phrase.text.split()) > 1
    tokens: list[_Token] = []
    floor = 0
    for word in phrase.words:
        text = " ".join(word.word.split())
        if not text:
            continue
        start = max(to_milliseconds(word.start), floor)
        end = max(to_milliseconds(word.end), start)
        glued = bool(tokens) and not separate and not word.word[:1].isspace()
        if glued and not _WRITTEN_WITHOUT_SPACES.search(tokens[-1].text[-1] + text[0]):
            last = tokens[-1]  # the rest of a word ("Tzu" "-fakau"): never cut inside it
            tokens[-1] = _Token(last.text + text, last.start_ms, max(last.end_ms, end), last.glued)
            continue
        tokens.append(_Token(text, start, end, glued))
        floor = start
    return tokens


def _derived_words(phrase: Phrase) -> list[_Token]:
    """Approximate words for a phrase without word timings: its span shared out over the words of its
    text in proportion to their length (in whole milliseconds, so the first word starts at the phrase's
    start and the last one ends at its end)."""
    words = phrase.text.split()
    if not words:
        return []
    start = to_milliseconds(phrase.start)
    span = max(to_milliseconds(phrase.end), start) - start
    total = sum(len(word) for word in words)
    tokens = []
    done = 0
    for word in words:
        word_start = start + span * done // total
        done += len(word)
        tokens.append(_Token(word, word_start, start + span * done // total, glued=False))
    return tokens


def _phrase_tokens(phrase: Phrase) -> list[_Token]:
    """The phrase's words with times: its own when it has them, otherwise derived from its text."""
    return (_timed_words(phrase) if phrase.words else []) or _derived_words(phrase)


def _joined(tokens: Sequence[_Token]) -> str:
    return "".join(t.text if i == 0 or t.glued else " " + t.text for i, t in enumerate(tokens))


# --- where to cut ---------------------------------------------------------------------------------
# Costs in points; the cutting minimises their sum over a phrase.

_SENTENCE_ENDS = frozenset(".!?…。！？")
_CLAUSE_ENDS = frozenset(",;:—–、，；：")
_DASHES = frozenset("—–")
_LINE_BREAKS_AFTER = _SENTENCE_ENDS | _CLAUSE_ENDS
_CLOSERS = "\"'»”’)]}"

_CUE_COST = 4.0
"""Every cue: fewer, fuller cues read better than many small ones."""
_EMPTINESS_COST = 3.0
"""Times the squared unused share of a cue's characters: no one-word leftovers, even halves."""
_CUT_AT_SENTENCE_END = 0.0
_CUT_AT_CLAUSE = 2.0
_CUT_ELSEWHERE = 10.0
_PAUSE_MS_PER_POINT = 250
"""Each 250 ms of silence between two words makes a cut there one point cheaper..."""
_PAUSE_MAX_POINTS = 8.0
"""... up to 8 points (2 s), so a long silence is a better cut than any punctuation without one."""


def _cut_cost(left: _Token, right: _Token) -> float:
    """What a cut between two neighbouring words costs: punctuation first, then the pause."""
    end = left.text.rstrip(_CLOSERS) or left.text
    if end[-1] in _SENTENCE_ENDS:
        cost = _CUT_AT_SENTENCE_END
    elif end[-1] in _CLAUSE_ENDS or right.text[0] in _DASHES:
        cost = _CUT_AT_CLAUSE
    else:
        cost = _CUT_ELSEWHERE
    pause = max(right.start_ms - left.end_ms, 0)
    return cost - min(pause / _PAUSE_MS_PER_POINT, _PAUSE_MAX_POINTS)


@dataclass(slots=True)
class _Wrap:
    """Greedy line filling, one word at a time: the fewest lines a run of words needs."""

    width: int
    lines: int = 0
    current: int = 0

    def add(self, token: _Token) -> None:
        extra = len(token.text) + (0 if token.glued else 1)
        if self.lines and self.current + extra <= self.width:
            self.current += extra
        else:
            self.lines += 1
            self.current = len(token.text)


def _cut(tokens: Sequence[_Token], rules: SubtitleRules) -> Iterator[tuple[int, int]]:
    """The ``(first, past_last)`` word ranges of a phrase's cues, in order, cut where it costs least."""
    count = len(tokens)
    budget = rules.cue_chars
    max_ms = to_milliseconds(rules.max_cue_seconds)
    cut_costs = [_cut_cost(left, right) for left, right in itertools.pairwise(tokens)]
    best = [math.inf] * (count + 1)
    best[0] = 0.0
    back = [0] * (count + 1)
    for first in range(count):
        wrap = _Wrap(rules.max_line_chars)
        chars = 0
        end = 0
        for last in range(first, count):
            token = tokens[last]
            wrap.add(token)
            chars += len(token.text) + (0 if last == first or token.glued else 1)
            end = max(end, token.end_ms)
            too_big = wrap.lines > rules.max_lines or chars > budget
            if last > first and (too_big or end - tokens[first].start_ms > max_ms):
                break  # every longer run from ``first`` is too big or too long as well
            cost = best[first] + _CUE_COST + _EMPTINESS_COST * (1 - min(chars / budget, 1.0)) ** 2
            if last + 1 < count:
                cost += cut_costs[last]
            if cost < best[last + 1]:
                best[last + 1] = cost
                back[last + 1] = first
    ranges = []
    past = count
    while past > 0:
        ranges.append((back[past], past))
        past = back[past]
    return reversed(ranges)


def _lines(tokens: Sequence[_Token], rules: SubtitleRules) -> tuple[str, ...]:
    """The fewest lines that hold ``tokens``, as even as possible, preferring breaks after punctuation."""
    wrap = _Wrap(rules.max_line_chars)
    for token in tokens:
        wrap.add(token)
    if wrap.lines <= 1:
        return (_joined(tokens),)
    width = rules.max_line_chars
    plain_break = width * width / 8  # a break that is not after punctuation costs like uneven lines
    count = len(tokens)
    # reach[k]: the first k words with the space before each, so that words first..past-1 on one
    # line take reach[past] - reach[first] - (the space before word ``first``).
    space_before = [0 if token.glued else 1 for token in tokens]
    reach = [0]
    for token, space in zip(tokens, space_before, strict=True):
        reach.append(reach[-1] + space + len(token.text))
    breaks_well = [(t.text.rstrip(_CLOSERS) or t.text)[-1] in _LINE_BREAKS_AFTER for t in tokens]
    # best[k][j]: the cheapest layout of the first j words in k lines (sum of squared line lengths).
    best = [[math.inf] * (count + 1) for _ in range(wrap.lines + 1)]
    back = [[0] * (count + 1) for _ in range(wrap.lines + 1)]
    best[0][0] = 0.0
    for lines in range(1, wrap.lines + 1):
        for past in range(1, count + 1):
            for first in range(past - 1, -1, -1):
                length = reach[past] - reach[first] - space_before[first]
                if past - first > 1 and length > width:
                    break
                cost = best[lines - 1][first] + length * length
                if past < count and not breaks_well[past - 1]:
                    cost += plain_break
                if cost < best[lines][past]:
                    best[lines][past] = cost
                    back[lines][past] = first
    result = []
    past = count
    for lines in range(wrap.lines, 0, -1):
        first = back[lines][past]
        result.append(_joined(tokens[first:past]))
        past = first
    return tuple(reversed(result))


def build_cues(
    transcript: Transcript, *, rules: SubtitleRules = DEFAULT_RULES, labels: bool = False
) -> list[Cue]:
    """The transcript's subtitle cues under ``rules``, in time order (see the module's docstring).

    A phrase without word timings gets approximate ones, its span shared out over its words in
    proportion to their length; the rules hold all the same. Phrases with no text give no cue. Each
    cue carries its speaker's name; with ``labels`` the first cue of each phrase also starts with it
    (``Оператор: ...``), counted in its lines like a word.
    """
    drafts: list[Cue] = []
    for phrase in transcript.phrases:
        tokens = _phrase_tokens(phrase)
        name = transcript.speaker_name(phrase.speaker)
        if labels and name and tokens:
            first_word = tokens[0]
            tokens[0] = _Token(f"{name}: {first_word.text}", first_word.start_ms, first_word.end_ms, False)
        for first, past in _cut(tokens, rules):
            part = tokens[first:past]
            end = max(token.end_ms for token in part)
            drafts.append(Cue(part[0].start_ms, end, _lines(part, rules), name))
    drafts.sort(key=lambda cue: cue.start_ms)
    return list(_timed(drafts, rules=rules, recording_ms=to_milliseconds(transcript.duration)))


def _timed(drafts: Sequence[Cue], *, rules: SubtitleRules, recording_ms: int) -> Iterator[Cue]:
    """Each cue cut back to the next one's start and to ``max_cue_seconds``, then lengthened into
    the silence after it as far as ``min_cue_seconds`` and ``max_cps`` ask."""
    max_ms = to_milliseconds(rules.max_cue_seconds)
    min_ms = to_milliseconds(rules.min_cue_seconds)
    own_next: list[float | None] = [None] * len(drafts)  # the start of the same speaker's next cue
    seen: dict[str | None, float] = {}
    for index in range(len(drafts) - 1, -1, -1):
        own_next[index] = seen.get(drafts[index].speaker)
        seen[drafts[index].speaker] = drafts[index].start_ms
    for index, cue in enumerate(drafts):
        # the last cue: up to the end of the recording, when it is known
        last = max(recording_ms, cue.end_ms) if recording_ms else math.inf
        # cut back by the speaker's own next cue; lengthened only into silence, before anyone's next cue
        own = own_next[index]
        own = last if own is None else own
        anyone = drafts[index + 1].start_ms if index + 1 < len(drafts) else last
        end = min(cue.end_ms, cue.start_ms + max_ms, own)
        needed = min(max(min_ms, math.ceil(cue.chars * _MS_PER_SECOND / rules.max_cps)), max_ms)
        if end - cue.start_ms < needed:
            end = max(end, min(cue.start_ms + needed, own, anyone))
        yield Cue(cue.start_ms, int(end), cue.lines, cue.speaker)
