"""Real recordings of the repository joined into conversations of several voices, with the truth of
who speaks when: the cases for telling voices apart (tests and ``bench/voices.py``)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from tests.conftest import repo_audio
from transcriber.decoding import pcm_blocks

RATE = 16000


def mono(name: str) -> np.ndarray:
    """A repository recording as float32 16 kHz mono."""
    return np.concatenate(list(pcm_blocks(repo_audio(name)))).astype(np.float32) / 32768.0


def stereo_left() -> np.ndarray:
    pcm = np.concatenate(list(pcm_blocks(repo_audio("stereo_diarization.wav"), stereo=True)))
    return pcm[:, 0].astype(np.float32) / 32768.0


def conversation() -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Real recordings joined into one mono conversation of three voices: the licence's reader, Kennedy,
    the reader again, the stereo file's left speaker, Kennedy again (the truth: who from when to when)."""
    licence, jfk = mono("multilingual.mp3"), mono("jfk.flac")
    parts = [
        ("reader", licence[: 20 * RATE]),
        ("jfk", jfk),
        ("reader", licence[20 * RATE : 30 * RATE]),
        ("left", stereo_left()),
        ("jfk", jfk[: 5 * RATE]),
    ]
    truth, at = [], 0.0
    for who, samples in parts:
        truth.append((at, at + len(samples) / RATE, who))
        at += len(samples) / RATE
    return np.concatenate([samples for _, samples in parts]), truth


def write_wav(samples: np.ndarray, path: Path) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1, 1 - 1 / 32768) * 32768).astype(np.int16).tobytes())
    return path
