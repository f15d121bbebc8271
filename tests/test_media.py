"""Tests for transcriber.media.probe on real media files encoded here with PyAV's bundled FFmpeg."""

from __future__ import annotations

import struct
import wave
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import repo_audio
from tests.test_decoding import damaged, decode, repeated_frames_flac, write_flac
from transcriber.decoding import DecodeLimits
from transcriber.errors import AudioTooDense, EmptyUpload, RecordingTooLong, UnsupportedMedia
from transcriber.media import ACCEPTED, probe

SECONDS = 1.5
TOLERANCE = 0.1


@dataclass(frozen=True)
class AudioFormat:
    """How to write one kind of file: container, encoder candidates (first available wins), layout."""

    name: str
    suffix: str
    container: str
    encoders: tuple[str, ...]
    rate: int
    layout: str = "mono"
    options: dict[str, str] = field(default_factory=dict)
    codec: str = ""  # the decoder name probe() should report (substring), if it is fixed


FORMATS = [
    AudioFormat("flac", ".flac", "flac", ("flac",), 16000, codec="flac"),
    AudioFormat("mp3", ".mp3", "mp3", ("libmp3lame", "mp3"), 44100, codec="mp3"),
    AudioFormat("ogg-opus", ".ogg", "ogg", ("libopus", "opus"), 48000, codec="opus"),
    AudioFormat(
        "ogg-vorbis",
        ".ogg",
        "ogg",
        ("libvorbis", "vorbis"),
        44100,
        layout="stereo",  # FFmpeg's own (experimental) Vorbis encoder only does stereo
        options={"strict": "experimental"},
        codec="vorbis",
    ),
    AudioFormat("m4a-aac", ".m4a", "ipod", ("aac",), 44100, codec="aac"),
    AudioFormat("aac-adts", ".aac", "adts", ("aac",), 22050, codec="aac"),
    AudioFormat("webm-opus", ".webm", "webm", ("libopus", "opus"), 48000, codec="opus"),
    AudioFormat("mka-flac", ".mka", "matroska", ("flac",), 16000, codec="flac"),
    AudioFormat("amr-nb", ".amr", "amr", ("libopencore_amrnb",), 8000, codec="amr"),
]


def available_encoder(candidates: tuple[str, ...]) -> str:
    for name in candidates:
        if name not in av.codecs_available:
            continue
        try:
            codec = av.Codec(name, "w")
        except (av.FFmpegError, ValueError):
            continue
        if codec.is_encoder:
            return name
    pytest.skip(f"PyAV's FFmpeg has none of the encoders {candidates}")


def sine(seconds: float, rate: int, channels: int = 1, freq: float = 440.0) -> np.ndarray:
    """Interleaved 16-bit samples of a sine tone, shaped (1, samples * channels) as PyAV's packed s16."""
    n = round(seconds * rate)
    wave_ = (0.3 * 32767 * np.sin(2 * np.pi * freq * np.arange(n) / rate)).astype(np.int16)
    return np.repeat(wave_, channels).reshape(1, -1)


def add_audio(
    out: av.container.OutputContainer,
    encoder: str,
    rate: int,
    *,
    layout: str = "mono",
    options: dict[str, str] | None = None,
) -> av.audio.stream.AudioStream:
    stream = out.add_stream(encoder, rate=rate, options=options or {})
    stream.layout = layout
    return stream


def write_tone(
    out: av.container.OutputContainer, stream: av.audio.stream.AudioStream, seconds: float
) -> None:
    rate = stream.codec_context.sample_rate
    layout = stream.layout.name
    channels = stream.layout.nb_channels
    samples = sine(seconds, rate, channels)
    chunk = 1000  # frames of an odd size: the encoder's resampler has to re-cut them
    pts = 0
    for start in range(0, samples.shape[1], chunk * channels):
        piece = np.ascontiguousarray(samples[:, start : start + chunk * channels])
        frame = av.AudioFrame.from_ndarray(piece, format="s16", layout=layout)
        frame.sample_rate = rate
        frame.pts = pts
        frame.time_base = Fraction(1, rate)
        pts += piece.shape[1] // channels
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def add_video(out: av.container.OutputContainer, encoder: str, fps: int = 25) -> av.video.stream.VideoStream:
    stream = out.add_stream(encoder, rate=fps)
    stream.width = 32
    stream.height = 32
    stream.pix_fmt = "yuv420p"
    return stream


def write_pictures(
    out: av.container.OutputContainer, stream: av.video.stream.VideoStream, seconds: float
) -> None:
    fps = int(stream.codec_context.framerate or 25)
    for i in range(round(seconds * fps)):
        image = np.full((32, 32, 3), (i * 9) % 256, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = i
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def write_wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(sine(seconds, rate).tobytes())
    return path


def write_png(path: Path) -> Path:
    """A valid 1x1 RGB PNG, written by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte, then one red pixel
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
    return path


def assert_lists_accepted_formats(exc: pytest.ExceptionInfo[UnsupportedMedia]) -> None:
    message = str(exc.value)
    assert ACCEPTED in message
    assert "mp3" in message
    assert "wav" in message
    assert exc.value.code == "unsupported_media"


# -- audio that probes --------------------------------------------------------------------------------


def test_wav_probes_with_its_duration(tmp_path: Path) -> None:
    info = probe(write_wav(tmp_path / "tone.wav", SECONDS))
    assert info.format == "wav"
    assert info.codec == "pcm_s16le"
    assert (info.sample_rate, info.channels) == (16000, 1)
    assert info.duration == pytest.approx(SECONDS, abs=TOLERANCE)


def test_conftest_tone_probes(tone_wav: Path) -> None:
    assert probe(tone_wav).duration == pytest.approx(2.0, abs=TOLERANCE)


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.name for f in FORMATS])
def test_encoded_audio_probes_with_its_duration(tmp_path: Path, fmt: AudioFormat) -> None:
    encoder = available_encoder(fmt.encoders)
    path = tmp_path / f"tone{fmt.suffix}"
    with av.open(str(path), "w", format=fmt.container) as out:
        stream = add_audio(out, encoder, fmt.rate, layout=fmt.layout, options=fmt.options)
        write_tone(out, stream, SECONDS)
    info = probe(path)
    assert info.duration == pytest.approx(SECONDS, abs=TOLERANCE)
    assert info.sample_rate == fmt.rate
    assert info.channels == (2 if fmt.layout == "stereo" else 1)
    assert fmt.codec in info.codec
    _seconds, report = decode(path)
    assert (report.lost_seconds, report.bad_packets) == (0.0, 0)  # a sound file: nothing counted lost
    assert info.format  # e.g. "mov,mp4,m4a,3gp,3g2,mj2"; the API takes its first name as an extension


def test_longer_audio_is_measured_in_full(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "long.wav", 30.0, rate=8000)
    assert probe(path).duration == pytest.approx(30.0, abs=TOLERANCE)


def test_extension_does_not_matter(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "tone.wav", SECONDS)
    disguised = tmp_path / "tone.mp3"
    disguised.write_bytes(wav.read_bytes())
    no_suffix = tmp_path / "upload"
    no_suffix.write_bytes(wav.read_bytes())
    assert probe(disguised).format == "wav"
    assert probe(no_suffix).duration == pytest.approx(SECONDS, abs=TOLERANCE)


@pytest.mark.parametrize("video_encoders", [("mpeg4",), ("libx264", "h264")], ids=["mpeg4", "h264"])
def test_video_with_an_audio_track_probes_the_audio(tmp_path: Path, video_encoders: tuple[str, ...]) -> None:
    video = available_encoder(video_encoders)
    audio = available_encoder(("aac",))
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        pictures = add_video(out, video)
        sound = add_audio(out, audio, 44100)
        write_pictures(out, pictures, 2.0)  # the picture runs longer than the sound
        write_tone(out, sound, SECONDS)
    info = probe(path)
    assert info.codec == "aac"
    assert (info.sample_rate, info.channels) == (44100, 1)
    assert info.duration == pytest.approx(SECONDS, abs=TOLERANCE)


# -- what is refused ------------------------------------------------------------------------------------


def test_video_without_audio_is_unsupported(tmp_path: Path) -> None:
    video = available_encoder(("mpeg4", "libx264", "h264"))
    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        write_pictures(out, add_video(out, video), 1.0)
    with pytest.raises(UnsupportedMedia) as exc:
        probe(path)
    assert "no audio" in str(exc.value)
    assert_lists_accepted_formats(exc)


def test_png_is_unsupported(tmp_path: Path) -> None:
    for name in ("pixel.png", "pixel.mp3"):
        with pytest.raises(UnsupportedMedia) as exc:
            probe(write_png(tmp_path / name))
        assert_lists_accepted_formats(exc)


def test_text_named_wav_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("Это не звук, а текст.\n" * 50, encoding="utf-8")
    with pytest.raises(UnsupportedMedia) as exc:
        probe(path)
    assert_lists_accepted_formats(exc)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("size", [1, 100, 64 * 1024])
def test_random_bytes_named_mp3_are_unsupported(tmp_path: Path, seed: int, size: int) -> None:
    path = tmp_path / "noise.mp3"
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    with pytest.raises(UnsupportedMedia) as exc:
        probe(path)
    assert_lists_accepted_formats(exc)


def test_truncated_header_is_unsupported(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "tone.wav", SECONDS).read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(wav[:40])  # the RIFF header and nothing else
    with pytest.raises(UnsupportedMedia) as exc:
        probe(path)
    assert_lists_accepted_formats(exc)


def test_empty_file_is_an_empty_upload(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    with pytest.raises(EmptyUpload) as exc:
        probe(path)
    assert exc.value.code == "empty_file"
    assert "empty" in str(exc.value)


def test_accepted_formats_message_names_the_common_ones() -> None:
    for name in ("mp3", "wav", "m4a", "flac", "ogg", "webm", "mp4"):
        assert name in ACCEPTED


# -- lengths that cannot be taken from the header -------------------------------------------------------


def test_a_flac_holding_more_frames_than_its_header_says_is_measured_in_full(tmp_path: Path) -> None:
    # Before: its STREAMINFO and its packets' timestamps both said 1 s, and 1 s passed any limit.
    path = repeated_frames_flac(tmp_path / "long.flac", seconds=1.0, times=8)
    assert probe(path).duration == pytest.approx(8.0, abs=0.01)


def test_a_file_whose_packets_do_not_say_their_length_is_measured_by_decoding(tmp_path: Path) -> None:
    path = damaged(repo_audio("jfk.flac"), tmp_path / "bad.flac", size=8192)
    decoded = decode(path)[1].decoded_seconds
    assert probe(path).duration == pytest.approx(decoded, abs=0.01)
    with pytest.raises(RecordingTooLong):
        probe(path, limits=DecodeLimits(max_seconds=5.0))


def test_a_stream_too_dense_to_decode_is_refused_at_probe(tmp_path: Path) -> None:
    path = write_flac(tmp_path / "dense.flac", 0.05, rate=655_350, layout="7.1")
    with pytest.raises(AudioTooDense):
        probe(path, limits=DecodeLimits(max_samples_per_second=8 * 192_000))
    assert probe(path).channels == 8
