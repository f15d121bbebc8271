"""The loop detector on real decodings: Whisper's loops, and ordinary speech that must not count."""

from __future__ import annotations

import pytest

from transcriber.engine.loops import (
    MAX_COMPRESSION,
    MAX_REPEATED_WORDS,
    Repetition,
    compression_ratio,
    repeated_words,
    repetition,
    words_of,
)

# What faster-whisper 1.2.1's batched pipeline wrote for the German half of tests/data/multilingual.mp3
LOOP = (
    "Each one of these software and data documents is distributed by the company and is distributed by "
    "the company and is distributed by the company and is distributed by the company and is distributed "
    "by the company."
)
SPEECH = [
    # tests/data/jfk.flac, multilingual.mp3 (English half) and ordinary Russian speech
    "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your "
    "country.",
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and "
    "associated documentation files to deal in the software without restriction, including without "
    "limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and or sell "
    "copies of the software.",
    "Добрый день, это служба поддержки. Да, я вас слушаю. Нет, заказ ещё не пришёл, мы ждём его с "
    "понедельника, и в понедельник нам сказали, что он будет во вторник.",
    "Раз, два, три, четыре, пять — вышел зайчик погулять.",
    "Да, да, да, конечно. Нет, нет. Алло, алло, вы меня слышите? Алло.",
    # one clip heard twice in one window (tests/data/jfk.flac repeated with a pause): compresses 2.5
    "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your "
    "country. And so my fellow Americans, ask not what your country can do for you, ask what you can do "
    "for your country.",
]


def test_a_loop_is_found() -> None:
    found = repetition(LOOP)
    assert found.looping
    # "is distributed by the company and" five times in a row: four copies after the first, less the
    # last copy's "and" that the text does not have
    assert found.repeated == 4 * 6 - 1 - 5


@pytest.mark.parametrize("text", SPEECH)
def test_ordinary_speech_is_not_a_loop(text: str) -> None:
    assert not repetition(text).looping, repetition(text)


def test_either_sign_is_enough() -> None:
    assert Repetition(MAX_COMPRESSION + 0.1, 0).looping
    assert Repetition(1.0, MAX_REPEATED_WORDS).looping
    assert not Repetition(MAX_COMPRESSION, MAX_REPEATED_WORDS - 1).looping
    one_word = "да " * 60  # "да да да ...": compresses far too well
    assert compression_ratio(one_word) > MAX_COMPRESSION
    assert repetition(one_word).looping


def test_the_better_decoding_is_the_one_that_does_not_loop() -> None:
    loop, speech = repetition(LOOP), repetition(SPEECH[1])
    assert speech.better_than(loop)
    assert not loop.better_than(speech)
    worse = Repetition(2.0, loop.repeated + 1)
    assert loop.better_than(worse)
    assert not worse.better_than(loop)
    assert not loop.better_than(loop)
    # of two decodings that do not loop, neither replaces the other (a retry that left a sentence out
    # compresses less, and must not win for that)
    assert not Repetition(1.5, 0).better_than(Repetition(2.3, 0))
    assert not Repetition(2.3, 0).better_than(Repetition(1.5, 0))


def test_real_repetition_is_kept_when_a_retry_is_no_better() -> None:
    # a phone queue's message said three times in a row looks like a loop; decoded again it says the
    # same, and the first decoding stays
    queue = "Ваш звонок очень важен для нас. " * 3
    first = repetition(queue)
    assert first.looping
    assert not repetition(queue).better_than(first)


def test_copies_must_follow_each_other() -> None:
    assert repeated_words(words_of("a b c a b c a b c")) == 6
    assert repeated_words(words_of("a b c a b c x a b c")) == 0  # two in a row, then one after a gap
    assert repeated_words(words_of("a b c a b c a b")) == 0  # two copies and a bit: not three
    assert repeated_words(words_of("the the the the the the the")) == 6
    assert repeated_words(words_of("Алло? Алло! Алло.")) == 2


def test_short_and_empty_texts() -> None:
    assert repeated_words([]) == 0
    assert repeated_words(words_of("два слова")) == 0
    assert not repetition("").looping
    assert compression_ratio("") == 0.0
