"""The two channels of a stereo call: whether they really are two parties, and where each party speaks.

PBXs (Asterisk's MixMonitor with ``r()``/``t()``, most call recorders) put each party on a channel of
its own. Transcribing each channel on its own speech gives "who said what" exactly, but the channels
often carry some of each other (line echo, a headset's sidetone, a mixer's crosstalk): the VAD then
hears the other party on a channel and Whisper writes its words twice, once for the wrong speaker.

Here the bleed is estimated as a linear copy of the other channel (the gain and the lag, within
``MAX_LAG_SECONDS``, by least squares), and a channel's speech is kept only where what is left of it
once the copy is removed is not far below the other channel (``MARGIN_DB``, on 250 ms of smoothed
energy) and the copy explains most of it (``EXPLAINED_DB``). Without a measurable copy only a faint
channel under a loud one is dropped (``FAINT_DB``): both parties speaking at once (an "угу" under the
other's sentence) stay on both channels. Files whose channels are the same signal, or where one is
silent, are really mono (:func:`layout`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

RATE = 16_000
FRAME = RATE // 100  # 10 ms: the step of the energy envelopes
SMOOTH_FRAMES = 25  # 250 ms of smoothing
MARGIN_DB = 8.0  # a channel this far below the other, once the measured copy is removed, is bleed
EXPLAINED_DB = 6.0  # the copy is what a frame holds when removing it takes away this much of its energy
FAINT_DB = 20.0  # without a measurable copy, a channel this far below the other is a faint bleed
MIN_CORRELATION = 0.3  # a copy correlating less with the channel where the other party speaks is not one
MAX_LAG_SECONDS = 0.05  # bleed arrives at most this late (an echo on the line)
LAG_STEP = 4  # the lag is looked for at a quarter of the rate first
DOMINATED_DB = 3.0  # bleed is measured where the other channel is this much louder than the channel
MIN_DOMINATED_SECONDS = 1.0  # with less of such audio there is nothing to measure a copy on
SAME_CORRELATION = 0.95  # channels correlated this much are one signal (a mono file stored as stereo)
SILENT_DBFS = -60.0  # a channel this quiet on the whole carries no party
_FLOOR = 1e-10  # energy floor (-100 dB), so silence has a level


@dataclass(frozen=True, slots=True)
class Bleed:
    """``channel ≈ own speech + gain * other[t - lag]``."""

    gain: float
    lag: int  # samples; the copy is ``lag`` samples later than the other channel
    correlation: float = 0.0  # of the channel with the other one at that lag

    @property
    def present(self) -> bool:
        # a copy is quieter than its source: a gain of 1 or more is the source estimated from its copy
        return abs(self.correlation) >= MIN_CORRELATION and abs(self.gain) < 1.0


def level_dbfs(samples: np.ndarray) -> float:
    """The RMS level of float samples in [-1, 1) in dB below full scale; -inf for digital silence (and
    for no samples). The one measure of loudness: the channel layout and the invented-text checks."""
    if not len(samples):
        return -math.inf
    energy = float(np.mean(np.square(samples, dtype=np.float64)))
    return 10 * math.log10(energy) if energy > 0 else -math.inf


def layout(left: np.ndarray, right: np.ndarray) -> tuple[Literal["split", "mono"], str]:
    """Whether a stereo recording holds two parties (``split``) or one signal (``mono``), and why."""
    levels = level_dbfs(left), level_dbfs(right)
    if min(levels) < SILENT_DBFS:
        side = "left" if levels[0] < levels[1] else "right"
        return "mono", f"the {side} channel is silent ({max(min(levels), -100.0):.0f} dBFS)"
    correlation = _correlation(left, right)
    if correlation >= SAME_CORRELATION:
        return "mono", f"the channels carry the same signal (correlation {correlation:.2f})"
    return "split", f"the channels differ (correlation {correlation:.2f})"


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    a64 -= a64.mean()
    b64 -= b64.mean()
    norm = float(np.sqrt(np.dot(a64, a64) * np.dot(b64, b64)))
    return float(np.dot(a64, b64) / norm) if norm > 0 else 0.0


def bleed(channel: np.ndarray, other: np.ndarray, max_lag: int = int(MAX_LAG_SECONDS * RATE)) -> Bleed:
    """The copy of ``other`` in ``channel``, measured where ``other`` is the louder by ``DOMINATED_DB``
    (its party speaking alone, so ``channel`` holds little but the copy there): the lag
    (0..``max_lag``) whose cross-correlation is strongest, and the least-squares gain at that lag.

    On the whole signal the estimate would be biased whenever the bleed goes both ways: each channel's
    own party is then also in the other channel, and fitting one channel by the other counts it as copy
    (20 % both ways measured as a gain of 0.4-0.7, and the bleed was kept)."""
    n = min(len(channel), len(other))
    if n <= max_lag:
        return Bleed(0.0, 0)
    frames = n // FRAME
    dominated = envelope_db(other[:n]) >= envelope_db(channel[:n]) + DOMINATED_DB
    mask = np.zeros(n, dtype=np.float64)
    mask[: frames * FRAME] = np.repeat(dominated, FRAME)
    if mask.sum() < MIN_DOMINATED_SECONDS * RATE:
        return Bleed(0.0, 0)
    x, y = channel[:n].astype(np.float64) * mask, other[:n].astype(np.float64)
    # the lag is searched at a quarter of the rate (FFTs a quarter as long), then refined at the full one
    coarse = _strongest_lag(_decimated(x), _decimated(y), max_lag // LAG_STEP + 1) * LAG_STEP
    lags = range(max(0, coarse - LAG_STEP), min(max_lag, coarse + LAG_STEP) + 1)
    products = {lag: float(np.dot(x[lag:], y[: n - lag])) for lag in lags}  # sum x[t] * y[t - lag]
    lag = max(products, key=lambda candidate: abs(products[candidate]))
    energy = float(np.dot(mask[lag:], np.square(y[: n - lag])))  # of the source over the masked frames
    own = float(np.dot(x, x))
    if energy <= 0 or own <= 0:
        return Bleed(0.0, 0)
    return Bleed(products[lag] / energy, lag, products[lag] / np.sqrt(energy * own))


def _decimated(samples: np.ndarray) -> np.ndarray:
    usable = len(samples) // LAG_STEP * LAG_STEP
    return np.asarray(samples[:usable].reshape(-1, LAG_STEP).mean(axis=1))


def _strongest_lag(x: np.ndarray, y: np.ndarray, max_lag: int) -> int:
    """The lag (0..``max_lag``) at which ``sum x[t] * y[t - lag]`` is largest in size (by FFT)."""
    size = 1 << int(np.ceil(np.log2(len(x) + max_lag + 1)))
    spectrum = np.fft.rfft(x, size) * np.conj(np.fft.rfft(y, size))
    return int(np.argmax(np.abs(np.fft.irfft(spectrum, size)[: max_lag + 1])))


def envelope_db(samples: np.ndarray) -> np.ndarray:
    """Energy per 10 ms frame, smoothed over 250 ms, in dB."""
    frames = len(samples) // FRAME
    if frames == 0:
        return np.zeros(0)
    energy = np.square(samples[: frames * FRAME].astype(np.float64)).reshape(frames, FRAME).mean(axis=1)
    kernel = np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES
    smoothed = np.convolve(energy, kernel, mode="same")
    return np.asarray(10 * np.log10(np.maximum(smoothed, _FLOOR)))


def own_speech(channel: np.ndarray, other: np.ndarray, copy: Bleed) -> np.ndarray:
    """Per 10 ms frame: whether ``channel`` may hold its own party's speech there: not where removing
    the measured copy of ``other`` takes away most of the frame (``EXPLAINED_DB``) and leaves it more
    than ``MARGIN_DB`` below ``other`` (the copy estimated the wrong way round, from the party to its
    echo, removes little and drops nothing); without
    a measurable copy, where the channel is not more than ``FAINT_DB`` below it (a quieter party
    speaking at once stays, a faint echo goes)."""
    frames = min(len(channel), len(other)) // FRAME
    if not copy.present:
        return np.asarray(envelope_db(channel)[:frames] >= envelope_db(other)[:frames] - FAINT_DB)
    shifted = np.zeros(len(channel), dtype=np.float64)
    n = min(len(channel), len(other) + copy.lag)
    shifted[copy.lag : n] = other[: n - copy.lag]
    residual = envelope_db(channel.astype(np.float64) - copy.gain * shifted)[:frames]
    explained = residual < envelope_db(channel)[:frames] - EXPLAINED_DB
    return np.asarray(~(explained & (residual < envelope_db(other)[:frames] - MARGIN_DB)))


def gated(
    spans: list[tuple[int, int]], keep: np.ndarray, *, min_samples: int = RATE // 5
) -> list[tuple[int, int]]:
    """The parts of speech ``spans`` (samples) inside frames ``keep`` allows, each at least
    ``min_samples`` long (shorter leftovers are bleed's edges, not words)."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        first, last = start // FRAME, min(-(-end // FRAME), len(keep))
        run_start: int | None = None
        for index in range(first, last + 1):
            inside = index < last and bool(keep[index])
            if inside and run_start is None:
                run_start = index
            elif not inside and run_start is not None:
                a, b = max(start, run_start * FRAME), min(end, index * FRAME)
                if b - a >= min_samples:
                    out.append((a, b))
                run_start = None
    return out
