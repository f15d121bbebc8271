"""Recordings for the benchmarks: decode any file to 16 kHz mono int16, write WAVs, read text aloud with
espeak-ng, repeat clips to a length, the duration a container declares, and a large valid WAV (a tone and
silence) for upload benchmarks.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import wave
from pathlib import Path

import av
import numpy as np

from transcriber.decoding import SAMPLE_RATE, pcm_blocks

from .errors import SpeechError


def decode_mono_16k(path: Path) -> np.ndarray:
    """The whole file as 16 kHz mono int16 samples."""
    blocks = list(pcm_blocks(path))
    if not blocks:
        raise SpeechError(f"no audio could be decoded from {path}")
    return np.concatenate(blocks).astype(np.int16)


def audio_seconds(path: Path) -> float:
    return len(decode_mono_16k(path)) / SAMPLE_RATE


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


def synthesise(text: str, voice: str, target: Path, words_per_minute: int = 150) -> Path:
    """Read ``text`` aloud with espeak-ng into ``target`` (a WAV at espeak's own rate)."""
    if not shutil.which("espeak-ng"):
        raise SpeechError("espeak-ng is not installed (apt-get install espeak-ng)")
    command = ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(target), text]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not target.is_file():
        raise SpeechError(f"espeak-ng failed: {done.stderr.strip() or done.returncode}")
    return target


def repeat_to_length(clips: list[np.ndarray], seconds: float, gap_seconds: float) -> np.ndarray:
    """Concatenate ``clips`` in turn (with short gaps) until ``seconds`` are filled, then cut there."""
    wanted = int(seconds * SAMPLE_RATE)
    gap = np.zeros(int(gap_seconds * SAMPLE_RATE), dtype=np.int16)
    parts: list[np.ndarray] = []
    total = 0
    while total < wanted:
        for clip in clips:
            parts += [clip, gap]
            total += len(clip) + len(gap)
    return np.concatenate(parts)[:wanted]


def write_mp3(path: Path, pcm: np.ndarray, *, repeat: int, bit_rate: int) -> Path:
    """``pcm`` (16 kHz mono int16) ``repeat`` times over as a mono MP3, written to a part file first."""
    partial = path.with_suffix(".part.mp3")
    with av.open(str(partial), "w") as out:
        stream = out.add_stream("libmp3lame", rate=SAMPLE_RATE, layout="mono")
        stream.bit_rate = bit_rate
        for _ in range(repeat):
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16p", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    partial.replace(path)
    return path


def container_seconds(path: Path) -> float | None:
    """The duration the container declares, without decoding (what progress and ETA can use)."""
    with av.open(str(path)) as container:
        if container.duration is not None:
            return float(container.duration / av.time_base)
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
    return None


def wav_header(data_bytes: int) -> bytes:
    """A 44-byte header of 16 kHz mono 16-bit PCM with ``data_bytes`` of samples."""
    rate, channels, width = SAMPLE_RATE, 1, 2
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * width, channels * width, width * 8)
    riff = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
    return riff + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", data_bytes)


def write_big_wav(path: Path, total_bytes: int) -> float:
    """A valid WAV of exactly ``total_bytes`` (half a second of a 440 Hz tone, half a second of silence,
    repeated), written in 1 MB blocks; returns its duration in seconds."""
    data_bytes = (total_bytes - 44) // 2 * 2
    t = np.arange(SAMPLE_RATE // 2) / SAMPLE_RATE
    second = np.concatenate([3000 * np.sin(2 * np.pi * 440 * t), np.zeros(SAMPLE_RATE // 2)])
    block = np.tile(second.astype("<i2"), 32).tobytes()
    with open(path, "wb") as out:
        out.write(wav_header(data_bytes))
        left = data_bytes
        while left > 0:
            left -= out.write(block[: min(left, len(block))])
    return data_bytes / (2 * SAMPLE_RATE)
