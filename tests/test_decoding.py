"""Decoding packet by packet: damaged recordings are decoded to their end, what is lost is counted,
and the limits bound what one recording may cost."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import repo_audio
from transcriber.decoding import SAMPLE_RATE, DecodeLimits, DecodeReport, pcm_blocks
from transcriber.errors import AudioTooDense, RecordingTooLong


def damaged(source: Path, out: Path, *, size: int, at: float = 0.5) -> Path:
    """A copy of ``source`` with ``size`` bytes zeroed at ``at`` (a fraction of the file)."""
    data = bytearray(source.read_bytes())
    start = int(len(data) * at)
    data[start : start + size] = bytes(size)
    out.write_bytes(bytes(data))
    return out


def decode(path: Path, limits: DecodeLimits | None = None) -> tuple[float, DecodeReport]:
    report = DecodeReport()
    samples = sum(len(block) for block in pcm_blocks(path, report=report, limits=limits))
    return samples / SAMPLE_RATE, report


def write_flac(path: Path, seconds: float, *, rate: int = 16000, layout: str = "mono") -> Path:
    channels = av.AudioLayout(layout).nb_channels
    n = round(seconds * rate)
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.int16)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("flac", rate=rate)
        stream.layout = layout
        frame = av.AudioFrame.from_ndarray(
            np.repeat(tone, channels).reshape(1, -1), format="s16", layout=layout
        )
        frame.sample_rate = rate
        frame.pts = 0
        frame.time_base = Fraction(1, rate)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize("name", ["multilingual.mp3", "hotwords.mp3", "jfk.flac", "stereo_diarization.wav"])
def test_a_sound_recording_loses_nothing(name: str) -> None:
    _seconds, report = decode(repo_audio(name))
    assert (report.lost_seconds, report.bad_packets) == (0.0, 0)


def test_64_zeroed_bytes_in_an_mp3_are_skipped_and_the_rest_is_decoded(tmp_path: Path) -> None:
    # Before: decoding stopped at the bad frame, 29.9 s of 59.9 s, and the task looked complete.
    source = repo_audio("multilingual.mp3")
    whole, _ = decode(source)
    seconds, report = decode(damaged(source, tmp_path / "bad.mp3", size=64))
    assert seconds > whole - 0.1
    assert report.bad_packets >= 1
    assert 0.02 <= report.lost_seconds <= 0.1  # one 24 ms frame, and the bytes that went with it


@pytest.mark.parametrize("size", [4096, 64 * 1024])
def test_a_damaged_stretch_of_an_mp3_is_counted_as_lost(tmp_path: Path, size: int) -> None:
    # The MP3 parser folds the garbage into one packet that fails: counted by its size.
    source = repo_audio("multilingual.mp3")
    whole, _ = decode(source)
    seconds, report = decode(damaged(source, tmp_path / "bad.mp3", size=size))
    assert report.lost_seconds == pytest.approx(whole - seconds, rel=0.1)


def test_a_damaged_stretch_of_a_flac_is_counted_from_the_timestamps(tmp_path: Path) -> None:
    source = repo_audio("jfk.flac")
    whole, _ = decode(source)
    seconds, report = decode(damaged(source, tmp_path / "bad.flac", size=64 * 1024, at=0.4))
    assert seconds < whole - 0.3
    assert report.lost_seconds >= whole - seconds - 0.05


def test_decoding_stops_at_the_longest_duration() -> None:
    with pytest.raises(RecordingTooLong) as exc:
        decode(repo_audio("jfk.flac"), DecodeLimits(max_seconds=5.0))
    assert exc.value.code == "too_large"
    assert "5.0 s" in exc.value.detail
    assert "TRANSCRIBE_LIMITS__MAX_DURATION_SECONDS" in exc.value.detail


def test_a_flac_repeating_its_frames_is_stopped_at_the_limit_whatever_its_header_says(tmp_path: Path) -> None:
    path = repeated_frames_flac(tmp_path / "long.flac", seconds=1.0, times=8)
    assert decode(path)[0] == pytest.approx(8.0, abs=0.01)
    with pytest.raises(RecordingTooLong):
        decode(path, DecodeLimits(max_seconds=3.0))


def test_a_stream_too_dense_to_decode_is_refused(tmp_path: Path) -> None:
    path = write_flac(tmp_path / "dense.flac", 0.05, rate=655_350, layout="7.1")
    with pytest.raises(AudioTooDense) as exc:
        decode(path, DecodeLimits(max_samples_per_second=8 * 192_000))
    assert exc.value.code == "audio_too_dense"
    assert "655350 Hz × 8 channels" in exc.value.detail
    assert "TRANSCRIBE_LIMITS__MAX_SAMPLES_PER_SECOND" in exc.value.detail
    assert decode(path)[0] == pytest.approx(0.05, abs=0.01)  # no bound: decoded


def repeated_frames_flac(path: Path, *, seconds: float, times: int) -> Path:
    """A FLAC whose STREAMINFO says ``seconds`` but which holds its frames ``times`` over: each copy
    restarts the frame numbers, so the packets' timestamps never pass ``seconds`` either."""
    data = write_flac(path, seconds).read_bytes()
    first_frame = data.index(b"\xff\xf8", 42)  # after "fLaC" and the 34-byte STREAMINFO block
    path.write_bytes(data[:first_frame] + data[first_frame:] * times)
    return path


def test_bytes_an_adts_parser_drops_silently_are_counted_as_lost(tmp_path: Path) -> None:
    path = tmp_path / "tone.aac"
    with av.open(str(path), "w", format="adts") as out:
        stream = out.add_stream("aac", rate=22050)
        stream.layout = "mono"
        n = 20 * 22050
        tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(n) / 22050)).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        frame.sample_rate = 22050
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    whole, clean = decode(path)
    assert clean.lost_seconds == 0.0
    seconds, report = decode(damaged(path, tmp_path / "bad.aac", size=8192))
    assert seconds < whole - 0.5
    assert report.lost_seconds == pytest.approx(whole - seconds, rel=0.15)


def test_a_stereo_call_is_decoded_with_its_two_channels() -> None:
    """stereo_diarization.wav holds a different speaker on each channel: decoded as stereo, the channels
    differ and are the file's own (the mono decoding is their mix); a mono file gives its channel on both."""
    stereo = np.concatenate(list(pcm_blocks(repo_audio("stereo_diarization.wav"), stereo=True)))
    mono = np.concatenate(list(pcm_blocks(repo_audio("stereo_diarization.wav"))))
    assert stereo.shape == (5 * SAMPLE_RATE, 2)
    assert stereo.dtype == np.int16
    left, right = stereo[:, 0].astype(np.float64), stereo[:, 1].astype(np.float64)
    assert abs(np.corrcoef(left, right)[0, 1]) < 0.1  # two speakers, not one signal
    assert np.abs(right[3 * SAMPLE_RATE :]).max() < 200  # the right speaker is done by 2.5 s
    assert np.abs(mono - (left + right) / 2).max() <= 2  # the mono decoding mixes the two
    mit = np.concatenate(list(pcm_blocks(repo_audio("multilingual.mp3"), stereo=True)))  # a mono MP3
    assert np.array_equal(mit[:, 0], mit[:, 1])
