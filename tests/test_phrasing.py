"""Phrases cut from words (``transcriber.phrasing``): the rules on hand-made cases, then swept over
random word streams for the invariants every cut must keep."""

from __future__ import annotations

import random

import pytest

from transcriber.domain import Phrase, Word
from transcriber.phrasing import MAX_SECONDS, PAUSE_SECONDS, PhraseJoiner, split_phrase


def stream(*items: tuple[str, float, float]) -> Phrase:
    words = tuple(Word(start, end, text, 0.9) for text, start, end in items)
    return Phrase(words[0].start, words[-1].end, "".join(w.word for w in words).strip(), words, language="de")


def texts(phrases: list[Phrase]) -> list[str]:
    return [p.text for p in phrases]


def test_a_phrase_without_words_or_already_one_phrase_is_kept_as_it_is() -> None:
    bare = Phrase(0.0, 20.0, "no words here")
    assert split_phrase(bare) == [bare]
    short = stream((" One", 0.0, 0.4), (" two.", 0.5, 0.9))
    assert split_phrase(short)[0] is short


def test_sentences_end_phrases_once_they_are_long_enough() -> None:
    phrase = stream(
        (" Yes.", 0.0, 0.4),  # too short to stand alone
        (" I", 0.5, 0.6),
        (" think", 0.6, 1.0),
        (" so.", 1.0, 1.6),
        (" Next", 1.7, 2.0),
        (" one?", 2.0, 2.5),
    )
    parts = split_phrase(phrase)
    assert texts(parts) == ["Yes. I think so.", "Next one?"]
    assert [(p.start, p.end) for p in parts] == [(0.0, 1.6), (1.7, 2.5)]
    assert {p.language for p in parts} == {"de"}


def test_a_long_pause_always_ends_a_phrase() -> None:
    phrase = stream(
        (" and", 0.0, 0.3), (" then", 0.3, 0.6), (" after", 0.6 + PAUSE_SECONDS, 2.0), (" it", 2.0, 2.2)
    )
    assert texts(split_phrase(phrase)) == ["and then", "after it"]


def test_a_long_run_is_cut_at_a_clause_mark_before_the_longest_gap() -> None:
    items = [(f" w{i}", i * 0.5, i * 0.5 + 0.4) for i in range(30)]  # 15 s, no sentence end
    items[8] = (" w8,", 4.0, 4.4)
    items[14] = (" w14", 7.0, 7.2)  # a 0.3 s gap after it: longer than the others, but no mark
    parts = split_phrase(stream(*items))
    assert parts[0].text.endswith("w8,"), texts(parts)
    assert all(p.end - p.start <= MAX_SECONDS for p in parts)
    without_marks = [(f" w{i}", i * 0.5, i * 0.5 + (0.2 if i == 14 else 0.4)) for i in range(30)]
    assert split_phrase(stream(*without_marks))[0].text.endswith("w14"), "cut at the longest gap"


def test_a_sentence_end_inside_quotes_counts() -> None:
    phrase = stream((" He", 0.0, 0.5), (" said", 0.5, 1.0), (" «stop.»", 1.0, 1.8), (" Then", 1.9, 2.3))
    assert texts(split_phrase(phrase)) == ["He said «stop.»", "Then"]


@pytest.mark.parametrize("seed", range(40))
def test_random_streams_keep_every_word_in_order_and_the_limits(seed: int) -> None:
    rng = random.Random(seed)
    items: list[tuple[str, float, float]] = []
    time = rng.uniform(0, 5)
    for _ in range(rng.randint(2, 120)):
        length = (
            rng.choice([0.05, 0.2, 0.4, 0.8, 2.0, 12.0]) if rng.random() < 0.05 else rng.uniform(0.1, 0.6)
        )
        mark = rng.choice(["", "", "", "", ",", ".", "?", "!", ";", "…"])
        items.append((f" {rng.choice(['да', 'word', 'число', '42', 'Tzu'])}{mark}", time, time + length))
        time += length + (rng.choice([0.0, 0.05, 0.3, 1.5]) if rng.random() < 0.3 else 0.02)
    phrase = stream(*items)
    parts = split_phrase(phrase)
    assert [w for p in parts for w in p.words] == list(phrase.words)
    for part in parts:
        assert part.words
        assert part.text == "".join(w.word for w in part.words).strip()
        assert (part.start, part.end) == (part.words[0].start, part.words[-1].end)
        if len(part.words) > 1:  # only a word longer than the limit on its own may be longer
            assert part.end - part.start <= MAX_SECONDS + 1e-9
        gaps = [b.start - a.end for a, b in zip(part.words, part.words[1:], strict=False)]
        assert all(gap < PAUSE_SECONDS for gap in gaps), gaps
    starts = [p.start for p in parts]
    assert starts == sorted(starts)


def test_a_sentence_cut_by_the_end_of_a_chunk_is_joined_to_the_next_chunk() -> None:
    joiner = PhraseJoiner()
    first = stream((" We", 0.0, 0.3), (" choose", 0.3, 0.8), (" to", 0.8, 1.0))  # the chunk ends here
    second = stream((" go", 1.05, 1.3), (" to", 1.3, 1.4), (" the", 1.4, 1.5), (" moon.", 1.5, 2.0))
    third = stream((" Not", 2.1, 2.4), (" because", 2.4, 3.0))
    assert joiner.add(first) == []  # held: the next chunk may go on with it
    assert texts(joiner.add(second)) == []  # joined, and held again (the next may go on too)
    assert texts(joiner.add(third)) == ["We choose to go to the moon."]  # it ended a sentence
    [last] = joiner.flush()
    assert last.text == "Not because"
    assert joiner.flush() == []


@pytest.mark.parametrize(
    "second",
    [
        stream((" after", 1.0 + PAUSE_SECONDS, 2.5)),  # a pause: a new phrase
        Phrase(1.1, 2.0, "no words"),  # nothing to join by
    ],
)
def test_a_chunk_after_a_pause_or_without_words_starts_its_own_phrase(second: Phrase) -> None:
    joiner = PhraseJoiner()
    assert joiner.add(stream((" and", 0.5, 0.8), (" then", 0.8, 1.0))) == []
    out = joiner.add(second) + joiner.flush()
    assert texts(out) == ["and then", second.text]


def test_a_chunk_in_another_language_starts_its_own_phrase() -> None:
    joiner = PhraseJoiner()
    joiner.add(stream((" and", 0.5, 0.8), (" then", 0.8, 1.0)))  # language "de"
    english = stream((" so", 1.05, 1.3), (" we", 1.3, 1.5))
    english = Phrase(english.start, english.end, english.text, english.words, language="en")
    assert texts(joiner.add(english) + joiner.flush()) == ["and then", "so we"]
