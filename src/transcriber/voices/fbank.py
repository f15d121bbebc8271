"""Kaldi's log mel filter banks in numpy: the features the speaker-embedding model was trained on.

3D-Speaker trains CAM++ on ``torchaudio.compliance.kaldi.fbank(wav, num_mel_bins=80, dither=0)`` of the
waveform in [-1, 1), then subtracts each window's mean over time. Written here with Kaldi's defaults so
no torch is needed at run time: 25 ms frames every 10 ms that lie whole inside the audio
(``snip_edges``), the DC offset removed, pre-emphasis 0.97, a Povey window, a 512-point FFT of the power
spectrum, 80 triangular mel bins from 20 Hz to the Nyquist frequency, the natural log (floored at the
float epsilon). ``tests/test_voices.py`` checks it against ``kaldi-native-fbank``.
"""

from __future__ import annotations

import functools

import numpy as np

RATE = 16_000
FRAME = 400  # 25 ms
SHIFT = 160  # 10 ms
FFT = 512  # the frame length rounded up to a power of two
MELS = 80
LOW_HZ = 20.0
PREEMPHASIS = 0.97
_EPSILON = float(np.finfo(np.float32).eps)


def _mel(hz: np.ndarray | float) -> np.ndarray:
    return np.asarray(1127.0 * np.log(1.0 + np.asarray(hz) / 700.0))


@functools.cache
def mel_banks() -> np.ndarray:
    """The (MELS, FFT // 2) triangular filters, equally spaced on Kaldi's mel scale (the Nyquist bin
    left out, as Kaldi does)."""
    low, high = _mel(LOW_HZ), _mel(RATE / 2)
    delta = (high - low) / (MELS + 1)
    bins = _mel(np.arange(FFT // 2) * RATE / FFT)
    left = low + np.arange(MELS)[:, None] * delta
    center, right = left + delta, left + 2 * delta
    up = (bins - left) / (center - left)
    down = (right - bins) / (right - center)
    return np.asarray(np.maximum(0.0, np.minimum(up, down)), dtype=np.float64)


@functools.cache
def povey_window() -> np.ndarray:
    return np.asarray(np.power(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / (FRAME - 1)), 0.85))


def fbank(samples: np.ndarray) -> np.ndarray:
    """(frames, 80) float32 log mel energies of 16 kHz ``samples`` (float, in [-1, 1)); no frames for
    audio shorter than 25 ms."""
    count = 0 if len(samples) < FRAME else 1 + (len(samples) - FRAME) // SHIFT
    if count == 0:
        return np.zeros((0, MELS), dtype=np.float32)
    strides = np.lib.stride_tricks.sliding_window_view(samples.astype(np.float64), FRAME)[::SHIFT][:count]
    frames = strides - strides.mean(axis=1, keepdims=True)
    frames = np.concatenate(
        [frames[:, :1] * (1 - PREEMPHASIS), frames[:, 1:] - PREEMPHASIS * frames[:, :-1]], 1
    )
    frames *= povey_window()
    power = np.square(np.abs(np.fft.rfft(frames, FFT)))[:, : FFT // 2]
    energies = power @ mel_banks().T
    return np.asarray(np.log(np.maximum(energies, _EPSILON)), dtype=np.float32)
