"""Tests for transcriber.subtitles: the cue rules, on synthetic word streams and on real speech.

Every SRT and VTT written here is read back by independent parsers and checked rule by rule
(``tests.subtitle_files.check_subtitles``).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import real_harness, repo_audio
from tests.subtitle_files import check_subtitles, parse_srt, parse_vtt
from transcriber.config import Settings
from transcriber.domain import Phrase, Speaker, Transcript, Word
from transcriber.errors import InvalidSubtitleRules
from transcriber.exporters import to_srt
from transcriber.subtitles import DEFAULT_RULES, RULE_RANGES, Cue, SubtitleRules, build_cues, to_milliseconds


def transcript(*phrases: Phrase, duration: float = 0.0) -> Transcript:
    return Transcript(task_id="t", language=None, duration=duration, phrases=list(phrases))


def timed(*words: tuple[str, float, float], probability: float = 0.9) -> Phrase:
    """A phrase with word timings, each word written as Whisper writes it (with a leading space)."""
    with_space = tuple(Word(start, end, " " + text, probability) for text, start, end in words)
    text = "".join(w.word for w in with_space).strip()
    return Phrase(min(w[1] for w in words), max(w[2] for w in words), text, with_space)


def steady(text: str, *, start: float = 0.0, word: float = 0.3, gap: float = 0.0) -> Phrase:
    """``text`` spoken one word every ``word + gap`` seconds."""
    words = []
    at = start
    for item in text.split():
        words.append((item, at, at + word))
        at += word + gap
    return timed(*words)


def lines(cues: Sequence[Cue]) -> list[tuple[str, ...]]:
    return [cue.lines for cue in cues]


# --- the rules object ---------------------------------------------------------------------------


def test_defaults_are_the_issue_s_rules() -> None:
    issue = SubtitleRules(
        max_line_chars=42, max_lines=2, max_cue_seconds=7.0, max_cps=20.0, min_cue_seconds=1.0
    )
    assert issue == DEFAULT_RULES
    assert DEFAULT_RULES.cue_chars == 84
    assert SubtitleRules(max_cps=5.0, max_cue_seconds=2.0).cue_chars == 10  # what can be read in 2 s


@pytest.mark.parametrize(("name", "bounds"), RULE_RANGES.items())
def test_each_rule_is_checked_against_its_range(name: str, bounds: tuple[float, float]) -> None:
    low, high = bounds
    SubtitleRules(**{name: low, **({"max_cue_seconds": 30.0} if name == "min_cue_seconds" else {})})
    SubtitleRules(**{name: high, **({"max_cue_seconds": 30.0} if name == "min_cue_seconds" else {})})
    for bad in (low - 1, high + 1, float("nan"), True, "5", None):
        with pytest.raises(InvalidSubtitleRules) as caught:
            SubtitleRules(**{name: bad})  # type: ignore[arg-type]
        assert caught.value.key == name
        assert caught.value.code == "invalid_subtitle_rule"
        assert f"from {low:g} to {high:g}" in caught.value.detail


@pytest.mark.parametrize("name", ["max_line_chars", "max_lines"])
def test_counts_are_whole_numbers(name: str) -> None:
    with pytest.raises(InvalidSubtitleRules, match="whole number"):
        SubtitleRules(**{name: 2.5})  # type: ignore[arg-type]


def test_the_shortest_cue_is_not_longer_than_the_longest() -> None:
    with pytest.raises(InvalidSubtitleRules, match="max_cue_seconds") as caught:
        SubtitleRules(max_cue_seconds=2.0, min_cue_seconds=3.0)
    assert caught.value.key == "min_cue_seconds"


# --- cues that need no change -----------------------------------------------------------------


def test_a_short_phrase_is_the_cue_it_always_was() -> None:
    cues = check_subtitles(
        transcript(Phrase(0.0, 2.01, "Здравствуйте, это служба поддержки."), Phrase(2.5, 5.9995, "Чем могу?"))
    )
    assert cues == [
        Cue(0, 2010, ("Здравствуйте, это служба поддержки.",)),
        Cue(2500, 6000, ("Чем могу?",)),
    ]


def test_whisper_words_keep_their_text_and_times() -> None:
    phrase = timed(("And", 0.0, 0.2), ("so,", 0.25, 0.6), ("my", 0.7, 0.9), ("fellow", 0.9, 1.4))
    assert phrase.words[0].word == " And"
    assert check_subtitles(transcript(phrase)) == [Cue(0, 1400, ("And so, my fellow",))]


def test_words_without_spaces_are_glued_unless_the_text_has_spaces() -> None:
    chinese = Phrase(0.0, 2.0, "你好世界", (Word(0.0, 1.0, "你好", 0.9), Word(1.0, 2.0, "世界", 0.9)))
    stripped = Phrase(0.0, 2.0, "hello world", (Word(0.0, 1.0, "hello", 0.9), Word(1.0, 2.0, "world", 0.9)))
    assert [c.lines for c in build_cues(transcript(chinese))] == [("你好世界",)]
    assert [c.lines for c in build_cues(transcript(stripped))] == [("hello world",)]


def test_a_word_in_pieces_is_never_cut_between_them() -> None:
    # Whisper writes an unknown German word in pieces, the later ones without a leading space
    # (multilingual.mp3: " Tzu", "-fakau", "-fen"); the pieces make one word, even one too long
    # for a line
    pieces = (" on", " Tzu", "-fakau", "-fen", " on", " Tzu", "-rechtier")
    words = tuple(Word(i * 0.4, i * 0.4 + 0.4, w, 0.5) for i, w in enumerate(pieces))
    phrase = Phrase(0.0, 2.8, "".join(pieces).strip(), words)
    rules = SubtitleRules(max_line_chars=10, max_lines=1, max_cue_seconds=1.0, max_cps=5.0)
    cues = check_subtitles(transcript(phrase, duration=10.0), rules)
    assert [line for c in cues for line in c.lines] == ["on", "Tzu-fakau-fen", "on", "Tzu-rechtier"]
    # the same when the phrase opens with the word in pieces (no later word has a leading space)
    alone = Phrase(
        0.0,
        1.2,
        "Tzu-fafi-tigen,",
        tuple(Word(i * 0.4, i * 0.4 + 0.4, w, 0.5) for i, w in enumerate((" Tzu", "-fafi", "-tigen,"))),
    )
    assert [c.lines for c in check_subtitles(transcript(alone, duration=5.0), rules)] == [
        ("Tzu-fafi-tigen,",)
    ]


def test_words_of_a_script_without_spaces_may_be_cut_between() -> None:
    text = "我们今天讨论的是语音识别系统的部署方案和服务器配置问题"
    chars = tuple(Word(i * 0.3, i * 0.3 + 0.3, text[i : i + 2], 0.9) for i in range(0, len(text), 2))
    phrase = Phrase(0.0, chars[-1].end, text, chars)
    cues = build_cues(transcript(phrase, duration=20.0), rules=SubtitleRules(max_line_chars=10, max_lines=1))
    assert len(cues) > 1
    assert "".join(line for c in cues for line in c.lines) == text
    assert all(len(line) <= 10 for c in cues for line in c.lines)


def test_a_phrase_without_text_gives_no_cue() -> None:
    assert build_cues(transcript(Phrase(0.0, 1.0, "  "), timed((" ", 1.0, 2.0)))) == []


# --- where a long phrase is cut ----------------------------------------------------------------


def test_cut_at_a_sentence_end_rather_than_a_comma_or_anywhere() -> None:
    text = "We start the meeting now. Everyone is here, and the agenda has three items for today"
    cues = check_subtitles(transcript(steady(text)))
    assert [" ".join(c.lines) for c in cues] == [
        "We start the meeting now.",
        "Everyone is here, and the agenda has three items for today",
    ]


def test_cut_at_a_comma_rather_than_anywhere() -> None:
    text = "When the customer calls about the invoice for last month, the operator opens the account page"
    cues = check_subtitles(transcript(steady(text)))
    assert " ".join(cues[0].lines).endswith("last month,")


def test_cut_at_a_pause_rather_than_anywhere() -> None:
    first = steady("the quick brown fox jumps over the lazy dog near the", word=0.25)
    second = steady("river bank and then runs into the forest behind the old mill", start=3.6, word=0.25)
    phrase = timed(*((w.word.strip(), w.start, w.end) for w in first.words + second.words))
    cues = check_subtitles(transcript(phrase))
    assert [" ".join(c.lines) for c in cues] == [first.text, second.text]


def test_a_long_silence_ends_a_cue_even_when_the_text_fits() -> None:
    phrase = timed(("Yes.", 0.0, 0.4), ("Next", 3.4, 3.7), ("question.", 3.7, 4.3))
    cues = check_subtitles(transcript(phrase))
    assert lines(cues) == [("Yes.",), ("Next question.",)]
    assert cues[0].end_ms == 1000  # lengthened to the 1 s minimum, into the silence


def test_a_word_longer_than_a_line_stays_whole_on_its_own_line() -> None:
    long_word = "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft"
    cues = check_subtitles(transcript(steady(f"Das Wort {long_word} ist lang", word=0.5), duration=10.0))
    assert [line for c in cues for line in c.lines] == ["Das Wort", long_word, "ist lang"]
    assert all(len(line) <= 42 for line in ("Das Wort", "ist lang"))


def test_two_lines_are_balanced() -> None:
    text = "the operator opens the account page and checks every payment made last month"
    [cue] = check_subtitles(transcript(steady(text, word=0.4)))
    assert len(cue.lines) == 2
    assert abs(len(cue.lines[0]) - len(cue.lines[1])) <= 8, cue.lines


def test_a_line_break_goes_after_punctuation_when_it_costs_little_balance() -> None:
    [cue] = check_subtitles(
        transcript(steady("Good morning everyone, welcome to our weekly call today", word=0.4))
    )
    assert cue.lines == ("Good morning everyone,", "welcome to our weekly call today")


def test_a_phrase_over_seven_seconds_is_cut() -> None:
    phrase = steady("one two three four five six seven eight nine ten eleven twelve", word=0.9)
    cues = check_subtitles(transcript(phrase))
    assert len(cues) >= 2
    assert all(c.end_ms - c.start_ms <= 7000 for c in cues)


# --- times: minimum, reading speed, no overlap --------------------------------------------------


def test_a_short_cue_is_lengthened_into_silence_but_not_over_the_next_cue() -> None:
    cues = check_subtitles(
        transcript(
            Phrase(0.0, 0.3, "Yes."), Phrase(0.5, 0.8, "No."), Phrase(5.0, 5.2, "Maybe."), duration=5.6
        )
    )
    assert [(c.start_ms, c.end_ms) for c in cues] == [(0, 500), (500, 1500), (5000, 5600)]


def test_a_fast_cue_is_lengthened_to_the_reading_speed() -> None:
    text = "This sentence has forty characters in it"  # 40 characters: 2 s at 20 per second
    cues = check_subtitles(transcript(Phrase(1.0, 2.0, text), Phrase(10.0, 11.0, "Next.")))
    assert (cues[0].start_ms, cues[0].end_ms) == (1000, 3000)
    slower = check_subtitles(transcript(Phrase(1.0, 2.0, text)), SubtitleRules(max_cps=10.0))
    assert (slower[0].start_ms, slower[0].end_ms) == (1000, 5000)


def test_without_a_known_length_the_last_cue_may_still_be_lengthened() -> None:
    assert build_cues(transcript(Phrase(3.0, 3.2, "Bye."), duration=0.0))[0].end_ms == 4000
    assert build_cues(transcript(Phrase(3.0, 3.2, "Bye."), duration=3.5))[0].end_ms == 3500


def test_overlapping_phrases_give_cues_that_do_not_overlap() -> None:
    cues = check_subtitles(transcript(Phrase(0.0, 3.0, "first phrase"), Phrase(2.0, 4.0, "second phrase")))
    assert [(c.start_ms, c.end_ms) for c in cues] == [(0, 2000), (2000, 4000)]


def test_a_single_word_longer_than_seven_seconds_is_shown_seven() -> None:
    [cue] = check_subtitles(transcript(timed(("Hmmmmm", 1.0, 12.0))))
    assert (cue.start_ms, cue.end_ms) == (1000, 8000)


def test_backwards_and_zero_length_words() -> None:
    phrase = Phrase(
        5.0,
        4.0,
        "a b c",
        (Word(5.0, 4.0, " a", 0.5), Word(4.5, 4.5, " b", 0.5), Word(6.0, 6.0, " c", float("nan"))),
    )
    [cue] = check_subtitles(transcript(phrase))
    assert (cue.start_ms, cue.lines) == (5000, ("a b c",))
    assert cue.end_ms == 6000  # at least a second


# --- derived words (phrases without word timings) ----------------------------------------------


def test_derived_words_share_the_phrase_span_by_length() -> None:
    # Two words of 20 characters, then three: 100 characters over 10 s, so the cut after the first
    # sentence (40 characters) falls at 4 s.
    first = " ".join(letter * 19 + "." for letter in "ab")
    second = " ".join(letter * 20 for letter in "cd") + " " + "e" * 19 + "."
    cues = check_subtitles(transcript(Phrase(0.0, 10.0, f"{first} {second}")))
    assert [(c.start_ms, c.end_ms) for c in cues] == [(0, 4000), (4000, 10000)]


def test_derived_words_of_an_instant_phrase() -> None:
    cues = check_subtitles(transcript(Phrase(2.0, 2.0, "one two"), duration=2.0))
    assert [(c.start_ms, c.end_ms, c.lines) for c in cues] == [(2000, 2000, ("one two",))]


# --- sweeps over synthetic word streams ----------------------------------------------------------

ENGLISH_TEXT = "the a of and to in is you that it we was for on are as with they at be this have from"
RUSSIAN_TEXT = (
    "здравствуйте это служба поддержки чем могу помочь пожалуйста спасибо документация программное "
    "обеспечение счёт оплата договор менеджер перезвоните завтра утром"
)
ENGLISH = ENGLISH_TEXT.split()
RUSSIAN = RUSSIAN_TEXT.split()
NUMBERS = ["1,000", "3.5", "2026", "100%", "№5", "+7", "(495)", "123-45-67", "10:30", "1.", "$20"]
PUNCTUATION = [".", ",", "?", "!", ";", ":", "…", ""]
LONG_WORDS = [
    "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft",
    "превысокомногорассмотрительствующий" * 2,
    "x" * 250,
]
STYLES = ["normal", "fast", "no_pauses", "silences", "zero", "odd"]
SWEEP_RULES = [
    DEFAULT_RULES,
    SubtitleRules(max_line_chars=10, max_lines=1, max_cue_seconds=1.0, max_cps=5.0),
    SubtitleRules(max_line_chars=200, max_lines=4, max_cue_seconds=30.0, max_cps=60.0),
    SubtitleRules(max_line_chars=32, max_lines=3, max_cue_seconds=4.0, max_cps=15.0, min_cue_seconds=0.0),
    SubtitleRules(max_cue_seconds=1.0, min_cue_seconds=1.0, max_cps=60.0),
]


def random_word(rng: random.Random, style: str) -> str:
    roll = rng.random()
    if roll < 0.02:
        return rng.choice(LONG_WORDS)
    if roll < 0.04:
        return rng.choice("—–")
    word = rng.choice(NUMBERS) if roll < 0.14 else rng.choice(RUSSIAN if roll < 0.5 else ENGLISH)
    if rng.random() < 0.15:
        word += rng.choice(PUNCTUATION)
    return word


def random_phrase(rng: random.Random, start: float, style: str) -> Phrase:
    words: list[tuple[str, float, float]] = []
    at = start
    for _ in range(rng.randint(1, 90)):
        length = {"fast": rng.uniform(0.02, 0.12), "zero": rng.choice([0.0, 0.0, 0.2])}.get(
            style, rng.uniform(0.1, 0.6)
        )
        gap = 0.0
        if style in {"normal", "fast", "odd"} and rng.random() < 0.2:
            gap = rng.uniform(0.1, 0.9)
        elif style == "silences" and rng.random() < 0.2:
            gap = rng.uniform(1.5, 12.0)
        begin = at + gap
        end = begin + length
        if style == "odd" and rng.random() < 0.2:
            # Starts before the previous word's, ends before starts, starts before the phrase (never
            # before the previous phrase's words, so that the phrases' words stay in time order).
            early = max(begin - 0.5, start - 1.0 if start < 1.0 else start)
            begin, end = rng.choice([(early, end), (end, begin), (begin, begin - 1.0), (begin, begin)])
        words.append((random_word(rng, style), begin, end))
        at = max(at, begin, end) if style != "odd" else at + length + gap
    return timed(*words, probability=rng.random())


def random_transcript(seed: int) -> tuple[Transcript, str]:
    rng = random.Random(seed)
    style = STYLES[seed % len(STYLES)]
    phrases = []
    at = rng.uniform(0.0, 5.0)
    for _ in range(rng.randint(1, 5)):
        phrase = random_phrase(rng, at, style)
        if rng.random() < 0.3:  # an old task, or word timestamps turned off: the derived path
            phrase = Phrase(phrase.start, phrase.end, phrase.text)
        phrases.append(phrase)
        # The next phrase starts once every word of this one has started; odd ones overlap its end.
        at = max(phrase.start, phrase.end, *(w.end for w in phrase.words))
        if style == "odd":
            at = max(phrase.start, *(w.start for w in phrase.words)) if phrase.words else at
        elif style != "no_pauses":
            at += rng.uniform(0.0, 3.0)
    end = max((p.end for p in phrases), default=0.0)
    duration = rng.choice([0.0, end, end + rng.uniform(0.0, 5.0)])
    return transcript(*phrases, duration=duration), style


@pytest.mark.parametrize("rules", SWEEP_RULES, ids=lambda r: f"{r.max_line_chars}x{r.max_lines}")
def test_every_rule_holds_on_synthetic_word_streams(rules: SubtitleRules) -> None:
    styles_seen = set()
    for seed in range(180):
        t, style = random_transcript(seed)
        styles_seen.add(style)
        check_subtitles(t, rules)
    assert styles_seen == set(STYLES)


def test_fast_speech_without_pauses_stays_within_lines_and_time() -> None:
    # 300 words at 10 words a second with no pause at all: cues cannot be lengthened, but keep lines,
    # lengths and order, and never overlap.
    rng = random.Random(7)
    phrase = steady(" ".join(rng.choice(ENGLISH + RUSSIAN) for _ in range(300)), word=0.1)
    cues = check_subtitles(transcript(phrase))
    assert len(cues) > 10
    assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(cues))


def test_numbers_and_punctuation_are_never_split() -> None:
    text = "Сумма 1,000 руб. (495) 123-45-67, в 10:30 — итог: 3.5%! Да? «Нет»."
    cues = check_subtitles(transcript(steady(text, word=0.2)), SubtitleRules(max_line_chars=10, max_lines=1))
    assert cues
    assert all(len(c.lines) == 1 for c in cues)


# --- real speech ---------------------------------------------------------------------------------

RECORDINGS = ["jfk.flac", "multilingual.mp3", "hotwords.mp3", "stereo_diarization.wav"]


def _phrases(status: dict[str, object]) -> list[Phrase]:
    results = status["results"]
    assert isinstance(results, dict)
    return [
        Phrase(
            p["start"],
            p["end"],
            p["text"],
            tuple(Word(**w) for w in p.get("words") or ()),
            speaker=p.get("speaker"),
        )
        for p in results["phrases"]
    ]


def _one_cue_per_phrase(t: Transcript) -> list[Cue]:
    """The cues as they were before the rules: one per phrase, on one line."""
    cues = []
    for p in t.phrases:
        if text := " ".join(p.text.split()):
            start = to_milliseconds(p.start)
            cues.append(Cue(start, max(to_milliseconds(p.end), start), (text,)))
    return cues


@pytest.mark.slow
@pytest.mark.parametrize("name", RECORDINGS)
def test_real_speech_subtitles_keep_every_rule(settings: Settings, models_dir: Path, name: str) -> None:
    with real_harness(settings, models_dir) as harness:
        # the stereo call is split by channel (two parties speaking at once: cues that overlap)
        status = harness.transcribe(repo_audio(name))
        assert status["status"] == "COMPLETED", status
        speakers = tuple(Speaker(**s) for s in status["speakers"])
        assert bool(speakers) == (name == "stereo_diarization.wav"), speakers
        t = Transcript(
            task_id="t",
            language="en",
            duration=status["duration"],
            phrases=_phrases(status),
            speakers=speakers,
        )
        assert t.text
        for rules in SWEEP_RULES:
            assert len(check_subtitles(t, rules)) >= len(_one_cue_per_phrase(t))
        # The same through the export URL, with the default rules and with other ones.
        task = status["task_id"]
        default = harness.client.get(f"/export/{task}.srt")
        assert parse_srt(default.text) == parse_srt(to_srt(t))
        narrow = harness.client.get(f"/export/{task}.vtt", params={"max_line_chars": 20, "max_lines": 1})
        assert parse_vtt(narrow.text) == check_subtitles(t, SubtitleRules(max_line_chars=20, max_lines=1))


@pytest.fixture(scope="module")
def word_timings(models_dir: Path) -> dict[str, Transcript]:
    """The recordings through faster-whisper itself with word timestamps on (tiny.en, beam 1): real
    Whisper words, leading spaces and all, until the engine stores them on every phrase."""
    from faster_whisper import WhisperModel

    from transcriber.model_catalog import ModelCatalog

    model = WhisperModel(
        str(ModelCatalog(models_dir).prepare("tiny.en")), device="cpu", compute_type="int8", cpu_threads=2
    )
    transcripts = {}
    for name in RECORDINGS:
        segments, info = model.transcribe(str(repo_audio(name)), beam_size=1, word_timestamps=True)
        phrases = [
            Phrase(
                s.start,
                s.end,
                s.text,
                tuple(Word(w.start, w.end, w.word, w.probability) for w in s.words or ()),
            )
            for s in segments
        ]
        transcripts[name] = Transcript(task_id=name, language="en", duration=info.duration, phrases=phrases)
    return transcripts


@pytest.mark.slow
@pytest.mark.parametrize("name", RECORDINGS)
def test_real_word_timings_keep_every_rule(word_timings: dict[str, Transcript], name: str) -> None:
    t = word_timings[name]
    assert all(p.words for p in t.phrases)
    assert any(p.words[0].word.startswith(" ") for p in t.phrases)
    for rules in SWEEP_RULES:
        cues = check_subtitles(t, rules)
        assert len(cues) >= len(_one_cue_per_phrase(t))
    # Cues follow the words' own times: each starts when one of its words starts.
    starts = {to_milliseconds(w.start) for p in t.phrases for w in p.words}
    assert all(cue.start_ms in starts for cue in check_subtitles(t))
