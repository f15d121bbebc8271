"""Two parties on the two channels of a call: which recordings really are two, the bleed of one channel
into the other, and the speech left to each channel once the bleed is removed (real speech)."""

from __future__ import annotations

import math

import av
import numpy as np
import pytest
from faster_whisper.vad import VadOptions, get_speech_timestamps

from tests.conftest import repo_audio
from transcriber.channels import FRAME, RATE, Bleed, bleed, gated, layout, level_dbfs, own_speech
from transcriber.decoding import pcm_blocks


def stereo() -> tuple[np.ndarray, np.ndarray]:
    """tests/data/stereo_diarization.wav (16 kHz): left speaks 0.3-4.7 s, right 0.3-2.5 s, at once."""
    with av.open(str(repo_audio("stereo_diarization.wav"))) as container:
        frames = [f.to_ndarray() for f in container.decode(audio=0)]
    pcm = np.concatenate(frames, axis=1).reshape(-1, 2).T.astype(np.float32) / 32768.0
    return pcm[0], pcm[1]


def speech(samples: np.ndarray) -> list[tuple[int, int]]:
    found = get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=300, speech_pad_ms=0))
    return [(s["start"], s["end"]) for s in found]


def seconds(spans: list[tuple[int, int]]) -> float:
    return sum(b - a for a, b in spans) / RATE


def test_two_parties_are_told_from_one_signal_stored_twice() -> None:
    left, right = stereo()
    assert layout(left, right)[0] == "split"
    assert layout(left, left.copy()) == ("mono", "the channels carry the same signal (correlation 1.00)")
    assert layout(left, 0.5 * left)[0] == "mono"  # the same signal, one side quieter
    silent = np.zeros_like(left)
    kind, why = layout(left, silent)
    assert (kind, "right channel is silent" in why) == ("mono", True)
    assert level_dbfs(silent) == -math.inf
    assert "(-100 dBFS)" in why  # said as a number, not -inf
    # jfk.flac is stored as stereo, its two channels nearly the same: one speaker, mono
    jfk = np.concatenate(list(pcm_blocks(repo_audio("jfk.flac"), stereo=True))).astype(np.float32) / 32768.0
    assert not np.array_equal(jfk[:, 0], jfk[:, 1])
    assert layout(jfk[:, 0], jfk[:, 1])[0] == "mono"


@pytest.mark.parametrize(("gain", "delay_ms"), [(0.2, 0), (0.3, 12)])
def test_bleed_is_measured_and_only_the_other_partys_copy_is_removed(gain: float, delay_ms: int) -> None:
    left, right = stereo()
    lag = delay_ms * RATE // 1000
    echo = np.zeros_like(left)
    echo[lag:] = left[: len(left) - lag]
    bled = right + gain * echo  # the right channel carries the left party too, late by delay_ms
    found = bleed(bled, left)
    assert found.present
    assert found.gain == pytest.approx(gain, abs=0.06)  # 5 s of speech: the parties correlate a little
    assert abs(found.lag - lag) <= 2

    # the VAD hears the left party on the right channel after 2.5 s, where the right party is silent
    heard = speech(bled)
    assert seconds([(max(a, int(2.8 * RATE)), b) for a, b in heard if b > 2.8 * RATE]) > 1.0, heard
    kept = gated(heard, own_speech(bled, left, found))
    assert all(b <= 2.8 * RATE for _, b in kept), kept  # the bleed after 2.5 s is gone
    own = speech(right)
    assert seconds(kept) >= 0.8 * seconds(own), (kept, own)  # the right party's own words stay

    # the left channel keeps all of its speech: it has no copy of the right party to remove
    left_kept = gated(speech(left), own_speech(left, bled, bleed(left, bled)))
    assert seconds(left_kept) == pytest.approx(seconds(speech(left)), abs=0.05)


def test_bleed_both_ways_is_measured_where_the_other_party_speaks_alone() -> None:
    # PBX crosstalk goes both ways: each channel carries 20 % of the other; fitted on the whole signal,
    # each party's own speech (also in the other channel) biased the gain to 0.4-0.7 and the bleed stayed
    left, right = stereo()
    a, b = left + 0.2 * right, right + 0.2 * left
    found = bleed(b, a)
    assert found.present
    assert found.gain == pytest.approx(0.2, abs=0.03), found
    kept = gated(speech(b), own_speech(b, a, found))
    assert all(end <= 2.8 * RATE for _, end in kept), kept  # the left party's copy after 2.5 s is gone
    assert seconds(kept) >= 0.8 * seconds(speech(right)), kept
    left_kept = gated(speech(a), own_speech(a, b, bleed(a, b)))
    assert seconds(left_kept) >= 0.9 * seconds(speech(left)), left_kept


def test_without_bleed_speaking_at_once_is_kept_on_both_channels() -> None:
    left, right = stereo()
    for channel, other in ((left, right), (right, left)):
        found = bleed(channel, other)
        assert not found.present, found
        spoken = speech(channel)
        kept = gated(spoken, own_speech(channel, other, found))
        assert seconds(kept) == pytest.approx(seconds(spoken), abs=0.05), (kept, spoken)
    # a faint copy (-30 dB) is not measurable on 5 s, but it is far under the other party: dropped
    faint = right.copy()
    faint[int(2.6 * RATE) :] += 0.03 * left[int(2.6 * RATE) :]
    assert not bleed(faint, left).present
    assert any(b > 2.8 * RATE for _, b in speech(faint))  # the VAD hears it
    kept = gated(speech(faint), own_speech(faint, left, bleed(faint, left)))
    assert all(b <= 2.8 * RATE for _, b in kept), kept


def test_gated_spans_keep_the_allowed_frames_only() -> None:
    keep = np.zeros(100, dtype=bool)
    keep[10:40] = True
    keep[60:62] = True  # 20 ms: too short to be a word
    spans = [(5 * FRAME, 50 * FRAME), (55 * FRAME, 70 * FRAME), (95 * FRAME, 120 * FRAME)]
    assert gated(spans, keep) == [(10 * FRAME, 40 * FRAME)]
    assert gated(spans, keep, min_samples=1) == [(10 * FRAME, 40 * FRAME), (60 * FRAME, 62 * FRAME)]
    assert gated([], keep) == []
    assert Bleed(0.01, 0).present is False
