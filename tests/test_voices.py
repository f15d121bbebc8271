"""Voices told apart in a mono recording: the filter banks against Kaldi's, the clustering and the
attribution of words on known inputs, and the shipped CAM++ model on real speech."""

from __future__ import annotations

import itertools

import kaldi_native_fbank as knf
import numpy as np
import pytest

from tests.conversations import RATE, conversation, mono
from transcriber.domain import Phrase, Word
from transcriber.engine.segments import speech_spans
from transcriber.voices.attribution import attributed
from transcriber.voices.clustering import cluster
from transcriber.voices.fbank import fbank
from transcriber.voices.model import MODEL_PATH, SpeakerModel, file_sha256
from transcriber.voices.turns import Turn, TurnFinder, windows


def test_filter_banks_are_kaldis() -> None:
    samples = mono("jfk.flac")
    options = knf.FbankOptions()
    options.frame_opts.dither = 0
    options.frame_opts.samp_freq = 16000
    options.mel_opts.num_bins = 80
    online = knf.OnlineFbank(options)
    online.accept_waveform(16000, samples.tolist())
    online.input_finished()
    reference = np.array([online.get_frame(i) for i in range(online.num_frames_ready)])
    mine = fbank(samples)
    assert mine.shape == reference.shape == (1098, 80)
    assert np.abs(mine - reference).max() < 0.01  # log energies of about 5: float32 against float64
    assert fbank(samples[:399]).shape == (0, 80)  # shorter than one 25 ms frame


def voices(rng: np.random.Generator, centres: np.ndarray, counts: list[int], noise: float) -> np.ndarray:
    rows = [centres[i] + noise * rng.standard_normal((n, centres.shape[1])) for i, n in enumerate(counts)]
    return np.concatenate(rows)


def test_clustering_finds_the_voices_in_the_order_heard() -> None:
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((3, 192))
    x = voices(rng, centres[[2, 0, 1]], [40, 30, 20], noise=0.6)
    labels = cluster(x)
    assert labels.tolist() == [0] * 40 + [1] * 30 + [2] * 20
    assert set(cluster(x, num_speakers=2).tolist()) == {0, 1}  # the count asked for wins
    assert set(cluster(x, max_speakers=2).tolist()) == {0, 1}
    assert cluster(voices(rng, centres[:1], [50], noise=0.6)).tolist() == [0] * 50  # one voice is one
    assert cluster(np.zeros((0, 192))).tolist() == []


def test_a_few_windows_in_another_voice_are_folded_into_the_nearest_speaker() -> None:
    rng = np.random.default_rng(2)
    centres = rng.standard_normal((3, 192))
    x = voices(rng, centres, [60, 60, 2], noise=0.6)
    assert set(cluster(x).tolist()) == {0, 1}
    assert set(cluster(x, num_speakers=3).tolist()) == {0, 1, 2}  # unless that many were asked for


def test_many_windows_are_grouped_first_and_still_found() -> None:
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((2, 192))
    labels = cluster(voices(rng, centres, [900, 700], noise=0.6))
    assert labels.tolist() == [0] * 900 + [1] * 700


def test_windows_cover_long_speech_and_reach_around_short_speech() -> None:
    rate = 16000
    found = windows(
        [(0, 4 * rate), (10 * rate, 10 * rate + rate // 2), (20 * rate, 20 * rate + 1000)], 30 * rate
    )
    long = [w for w in found if w[2] < 5 * rate]
    assert [(a / rate, b / rate) for a, b, _, _ in long] == [
        (0, 1.5),
        (0.75, 2.25),
        (1.5, 3.0),
        (2.25, 3.75),
        (2.5, 4.0),
    ]
    short = [w for w in found if 9 * rate < w[2] < 11 * rate]
    assert short == [(9.5 * rate, 11 * rate, 10 * rate, 10.5 * rate)]  # centred on the half second
    assert len(found) == len(long) + 1  # 62 ms is too short to tell a voice


def test_words_go_to_their_speaker_and_phrases_split_where_the_speaker_changes() -> None:
    turns = [Turn(0.0, 2.0, 0), Turn(2.0, 4.0, 1), Turn(5.0, 6.0, 0)]
    words = (
        Word(0.1, 0.5, " Добрый", 0.9),
        Word(0.5, 0.9, " день.", 0.9),
        Word(2.1, 2.4, " Здравствуйте,", 0.9),
        Word(2.4, 2.6, " да", 0.9),  # short, but between words of the same speaker: stays
        Word(2.6, 3.5, " слушаю.", 0.9),
    )
    phrase = Phrase(0.0, 3.6, "Добрый день. Здравствуйте, да слушаю.", words)
    late = Phrase(4.4, 4.9, "Угу.")  # no words, in no turn: the nearest turn's speaker
    out = attributed([phrase, late], turns)
    assert [(p.speaker, p.text, p.start, p.end) for p in out] == [
        ("S1", "Добрый день.", 0.0, 0.9),
        ("S2", "Здравствуйте, да слушаю.", 2.1, 3.6),
        ("S1", "Угу.", 4.4, 4.9),
    ]
    assert out[1].words == words[2:]
    # a lone short word of another speaker inside a phrase is the turns' edge, not a change
    edge = [Turn(0.0, 0.45, 0), Turn(0.45, 0.6, 1), Turn(0.6, 3.0, 0)]
    assert [p.speaker for p in attributed([phrase], edge)] == ["S1"]
    assert attributed([phrase], []) == [phrase]


# --- the shipped model on real speech -----------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> SpeakerModel:
    return SpeakerModel(threads=2)


def find_turns(model: SpeakerModel, samples: np.ndarray, **counts: int) -> list[Turn]:
    finder = TurnFinder(model.embed)
    finder.feed(samples, 0, speech_spans(300)(samples))
    return finder.turns(**counts)


def test_the_shipped_model_is_the_exported_one() -> None:
    notice = (MODEL_PATH.parent / "NOTICE.md").read_text(encoding="utf-8")
    assert file_sha256() in notice  # the checksum NOTICE.md and the export script state
    assert "Apache" in notice
    assert (MODEL_PATH.parent / "LICENSE-APACHE-2.0.txt").is_file()


def test_a_joined_conversation_gives_each_voice_its_turns(model: SpeakerModel) -> None:
    samples, truth = conversation()
    turns = find_turns(model, samples)
    names: dict[int, str] = {}
    for turn in turns:
        middle = (turn.start + turn.end) / 2
        who = next(w for a, b, w in truth if a <= middle < b)
        assert names.setdefault(turn.speaker, who) == who, (turn, truth)  # one speaker, one voice
    assert sorted(names.values()) == ["jfk", "left", "reader"]
    assert turns[0].speaker == 0  # numbered in the order heard
    # every change of voice is found within 0.5 s of where the recordings were joined
    changes = [b for (_, b, w), (_, _, v) in itertools.pairwise(truth) if w != v]
    found = [b.start for a, b in itertools.pairwise(turns) if a.speaker != b.speaker]
    assert len(found) == len(changes), (found, changes)
    for expected, got in zip(changes, found, strict=True):
        assert abs(expected - got) <= 0.5, (found, changes)
    # told how many there are, or at most two: the two most different voices stay apart
    assert len({t.speaker for t in find_turns(model, samples, num_speakers=2)}) == 2
    assert len({t.speaker for t in find_turns(model, samples, max_speakers=2)}) == 2


def test_one_voice_is_one_speaker(model: SpeakerModel) -> None:
    assert {t.speaker for t in find_turns(model, mono("jfk.flac"))} == {0}
    assert {t.speaker for t in find_turns(model, mono("multilingual.mp3")[: 30 * RATE])} == {0}
    assert {t.speaker for t in find_turns(model, mono("jfk.flac"), min_speakers=2)} == {0, 1}
