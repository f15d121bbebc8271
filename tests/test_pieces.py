"""Cutting recordings into pieces: lossless, in silences, decoded as faster-whisper decodes."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from transcriber.decoding import SAMPLE_RATE, pcm_blocks
from transcriber.pieces import cut_point, even_piece_seconds, split_pieces

RATE = SAMPLE_RATE


def loud_spans(samples: np.ndarray) -> list[tuple[int, int]]:
    """Speech = runs of 10 ms frames louder than -40 dBFS (a stand-in for the VAD in these tests)."""
    frame = RATE // 100
    usable = len(samples) // frame * frame
    loud = np.abs(samples[:usable].reshape(-1, frame)).max(axis=1) > 0.01
    spans, start = [], None
    for i, on in enumerate([*loud, False]):
        if on and start is None:
            start = i * frame
        elif not on and start is not None:
            spans.append((start, i * frame))
            start = None
    return spans


def signal(layout: list[tuple[str, float]], seed: int = 0) -> np.ndarray:
    """int16 audio from ("tone"|"noise"|"silence", seconds) parts."""
    rng = np.random.default_rng(seed)
    parts = []
    for kind, seconds in layout:
        n = int(seconds * RATE)
        if kind == "silence":
            parts.append(np.zeros(n))
        elif kind == "tone":
            parts.append(0.3 * np.sin(2 * np.pi * 300 * np.arange(n) / RATE))
        else:
            parts.append(rng.uniform(-0.3, 0.3, n))
    return (np.concatenate(parts) * 32767).astype(np.int16)


def blocks(samples: np.ndarray, size: int = 1152) -> Iterator[np.ndarray]:
    for i in range(0, len(samples), size):
        yield samples[i : i + size]


def joined(pieces: list) -> np.ndarray:
    return np.concatenate([p.samples for p in pieces])


def test_pieces_cover_the_audio_exactly_and_end_in_silences() -> None:
    # 12 s of sound with a 0.5 s silence every 3 s; pieces of 4 s, cuts searched in their last 2 s
    layout = [("noise", 2.5), ("silence", 0.5)] * 4
    audio = signal(layout)
    pieces = list(split_pieces(blocks(audio), loud_spans, piece_seconds=4, search_seconds=2))
    assert np.array_equal(joined(pieces), audio.astype(np.float32) / 32768.0)
    assert [p.offset for p in pieces] == [0, *np.cumsum([len(p.samples) for p in pieces])[:-1]]
    assert [p.cut for p in pieces[:-1]] == ["silence"] * (len(pieces) - 1)
    assert pieces[-1].cut == "end"
    for piece in pieces[:-1]:  # the cut is the middle of the silence at 2.5-3.0 s, 5.5-6.0 s, ...
        end = piece.end_seconds
        assert end % 3.0 == pytest.approx(2.75, abs=0.02)
    assert all(len(p.samples) <= 4 * RATE for p in pieces)


def test_without_a_silence_the_cut_is_the_quietest_moment() -> None:
    audio = signal([("noise", 9.0)])
    quiet_at = int(3.3 * RATE)
    audio[quiet_at : quiet_at + RATE // 50] //= 100  # 20 ms much quieter than the rest, no silence
    pieces = list(split_pieces(blocks(audio), loud_spans, piece_seconds=4, search_seconds=2))
    assert pieces[0].cut == "quiet"
    assert pieces[0].end_seconds == pytest.approx(3.31, abs=0.011)
    assert np.array_equal(joined(pieces), audio.astype(np.float32) / 32768.0)


def test_a_silence_shorter_than_a_fifth_of_a_second_is_not_a_cut() -> None:
    tail = signal([("noise", 1.0), ("silence", 0.1), ("noise", 0.9)]).astype(np.float32) / 32768.0
    index, how = cut_point(tail, loud_spans)
    assert how == "quiet"
    assert RATE <= index <= int(1.1 * RATE)  # the quietest moment is still inside the short pause


def test_a_short_recording_is_one_piece_and_silence_is_kept() -> None:
    audio = signal([("silence", 3.0)])
    pieces = list(split_pieces(blocks(audio), loud_spans, piece_seconds=600))
    assert [(p.offset, len(p.samples), p.cut) for p in pieces] == [(0, 3 * RATE, "end")]
    assert list(split_pieces(iter([]), loud_spans)) == []


def test_big_blocks_are_cut_into_several_pieces() -> None:
    audio = signal([("noise", 1.5), ("silence", 0.5)] * 6)
    pieces = list(split_pieces(iter([audio]), loud_spans, piece_seconds=3, search_seconds=1.5))
    assert len(pieces) >= 4
    assert np.array_equal(joined(pieces), audio.astype(np.float32) / 32768.0)


def write_mp3(path: Path, samples: np.ndarray, rate: int) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libmp3lame", rate=rate, layout="stereo")
        frame = av.AudioFrame.from_ndarray(np.stack([samples, samples]), format="s16p", layout="stereo")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


@pytest.mark.parametrize("kind", ["mp3", "wav"])
def test_decoding_matches_faster_whisper_sample_for_sample(tmp_path: Path, kind: str) -> None:
    rate = 44100
    samples = (np.sin(2 * np.pi * 440 * np.arange(rate * 3) / rate) * 12000).astype(np.int16)
    if kind == "mp3":
        path = write_mp3(tmp_path / "a.mp3", samples, rate)
    else:
        path = tmp_path / "a.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(samples.tobytes())
    ours = np.concatenate(list(pcm_blocks(path))).astype(np.float32) / 32768.0
    assert len(ours) == pytest.approx(3 * RATE, abs=RATE // 10)
    assert np.array_equal(ours, decode_audio(str(path)))


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (None, 600.0),  # unknown: the longest piece
        (float("nan"), 600.0),
        (300.0, 600.0),  # fits in one piece
        (600.0, 600.0),
        (642.0, 321.0),  # 10.7 minutes: two pieces of 5.35, not 10 and 0.7
        (1800.0, 600.0),
        (1801.0, 1801.0 / 4),
        (7200.0, 600.0),
    ],
)
def test_pieces_are_as_even_as_the_longest_piece_allows(duration: float | None, expected: float) -> None:
    piece = even_piece_seconds(duration, 600.0)
    assert piece == pytest.approx(expected)
    assert piece <= 600.0
