"""Decoding a recording packet by packet: damaged packets are skipped and counted, limits are kept.

FFmpeg's decoder raises on a packet it cannot decode; PyAV's ``container.decode()`` generator then
ends, so one bad frame in the middle of a file used to end the transcript there, looking complete. Here
each packet is decoded on its own: a bad one is skipped and decoding carries on, and the audio lost is
counted in :class:`DecodeReport`:

- a packet that cannot be decoded loses its own duration, or, when its size says more (a raw MP3 or
  ADTS parser folds the garbage it resyncs over into one packet), its size at the stream's average
  bytes per second so far;
- a forward jump in the packets' timestamps (Ogg, Matroska and FLAC resync after a damaged stretch
  and carry on at the right time) loses the jump;
- in a raw ADTS (AAC) stream, whose parser drops what it cannot sync to without a word, the bytes of
  the file that are in no packet are lost, at the average bytes per second.

:class:`DecodeLimits` bound the work of one recording: decoding stops with :class:`RecordingTooLong`
past the longest accepted duration (a header can claim less than the file holds), and a stream whose
sample rate times channels is over the bound is refused (:class:`AudioTooDense`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from transcriber.config import LimitSettings
from transcriber.errors import AudioTooDense, RecordingTooLong

SAMPLE_RATE = 16_000
GAP_TOLERANCE_SECONDS = 0.005
"""A timestamp jump up to this is rounding (Matroska counts milliseconds), not lost audio."""
MAX_DEMUX_ERRORS = 100
"""Errors reading the container itself after which the rest of the file is given up (counted lost)."""
SILENTLY_SKIPPING = frozenset({"aac"})
"""Raw formats whose parser drops damaged bytes without failing a packet (ADTS AAC)."""
DURATION_SETTING = "TRANSCRIBE_LIMITS__MAX_DURATION_SECONDS"
DENSITY_SETTING = "TRANSCRIBE_LIMITS__MAX_SAMPLES_PER_SECOND"


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """What one recording may cost to decode (``LimitSettings`` gives both)."""

    max_seconds: float | None = None
    max_samples_per_second: int | None = None

    @classmethod
    def of(cls, limits: LimitSettings) -> DecodeLimits:
        return cls(
            max_seconds=limits.max_duration_seconds, max_samples_per_second=limits.max_samples_per_second
        )

    def check_density(self, sample_rate: int, channels: int) -> None:
        """Refuse a stream whose samples per second (rate × channels) are over the bound."""
        bound = self.max_samples_per_second
        if bound is not None and sample_rate * channels > bound:
            raise AudioTooDense(
                f"the audio has {sample_rate} Hz × {channels} channels = {sample_rate * channels} samples "
                f"per second; the limit is {bound} ({DENSITY_SETTING})"
            )

    def check_length(self, seconds: float) -> None:
        if self.max_seconds is not None and seconds > self.max_seconds:
            raise RecordingTooLong(
                f"the recording is longer than the limit of {_hours(self.max_seconds)} ({DURATION_SETTING}); "
                "decoding stopped there"
            )


def too_long_message(seconds: float, longest: float) -> str:
    return f"the recording is {_hours(seconds)} long; the limit is {_hours(longest)} ({DURATION_SETTING})"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 360 else f"{seconds:.1f} s"


@dataclass(slots=True)
class DecodeReport:
    """What decoding found so far; final once the blocks are exhausted."""

    decoded_seconds: float = 0.0
    """Audio decoded, in seconds at the source's own rate."""
    lost_seconds: float = 0.0
    """Audio that could not be decoded (damaged packets, skipped stretches)."""
    bad_packets: int = 0
    _bytes: int = 0  # of packets decoded, for the bytes-per-second estimate

    def lost_packet(self, size: int, seconds: float) -> None:
        self.bad_packets += 1
        by_size = size * self.decoded_seconds / self._bytes if self._bytes else 0.0
        self.lost_seconds += max(seconds, by_size)


def packet_frames(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    report: DecodeReport,
    limits: DecodeLimits,
    *,
    file_size: int | None = None,
) -> Iterator[av.AudioFrame]:
    """Decoded frames of ``stream``, skipping packets FFmpeg cannot decode (counted in ``report``);
    ``file_size`` lets the bytes a raw parser skipped silently be counted."""
    base = float(stream.time_base) if stream.time_base is not None else 0.0
    expected: int | None = None  # where the next packet should start, in stream ticks
    first_pos: int | None = None
    in_packets = 0
    for packet in _packets(container, stream, report):
        if first_pos is None and packet.pos is not None and packet.pos >= 0:
            first_pos = packet.pos
        in_packets += packet.size
        seconds = float(packet.duration or 0) * base
        if packet.pts is not None and base:
            if expected is not None and (packet.pts - expected) * base > GAP_TOLERANCE_SECONDS:
                report.lost_seconds += (packet.pts - expected) * base
            if packet.duration:
                expected = max(expected or 0, packet.pts + packet.duration)
        try:
            frames = packet.decode()
        except (av.FFmpegError, ValueError):
            report.lost_packet(packet.size, seconds)
            continue
        for frame in frames:
            assert isinstance(frame, av.AudioFrame)
            limits.check_density(frame.sample_rate, frame.layout.nb_channels)
            report.decoded_seconds += frame.samples / float(frame.sample_rate or 1)
            limits.check_length(report.decoded_seconds)
            yield frame
        report._bytes += packet.size
    if file_size and first_pos is not None and str(container.format.name) in SILENTLY_SKIPPING:
        skipped = file_size - first_pos - in_packets
        if skipped > 0:
            report.lost_packet(skipped, 0.0)


def _packets(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream, report: DecodeReport
) -> Iterator[av.Packet[Any]]:
    """The stream's packets; an error reading the container is skipped (reading resumes after it)."""
    for _attempt in range(MAX_DEMUX_ERRORS):
        try:
            yield from container.demux(stream)
            return
        except (av.FFmpegError, ValueError):
            report.bad_packets += 1


def pcm_blocks(
    path: Path,
    *,
    report: DecodeReport | None = None,
    limits: DecodeLimits | None = None,
    stereo: bool = False,
) -> Iterator[np.ndarray]:
    """The audio of ``path`` as 16 kHz mono int16 blocks, decoded lazily, as faster-whisper decodes it
    (same resampler, frame timestamps ignored), but packet by packet: a damaged packet is skipped and
    counted in ``report``, and decoding goes on to the end of the file. ``stereo``: blocks of shape
    (samples, 2), left and right (a mono file's one channel on both)."""
    report = report if report is not None else DecodeReport()
    limits = limits or DecodeLimits()
    layout, shape = ("stereo", (-1, 2)) if stereo else ("mono", (-1,))
    resampler = av.AudioResampler(format="s16", layout=layout, rate=SAMPLE_RATE)
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        limits.check_density(
            int(stream.codec_context.sample_rate or 0), int(stream.codec_context.channels or 0)
        )
        for frame in packet_frames(container, stream, report, limits, file_size=path.stat().st_size):
            frame.pts = None
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(shape)
    for out in resampler.resample(None):
        yield out.to_ndarray().reshape(shape)


def decoded_length(path: Path, *, limits: DecodeLimits) -> float:
    """Decode ``path`` to its end (or to the limit: :class:`RecordingTooLong`) and return its length in
    seconds: for a file whose packets do not say how long they are, so neither its header nor its
    packets can be trusted."""
    report = DecodeReport()
    with av.open(str(path), metadata_errors="ignore") as container:
        for _frame in packet_frames(container, container.streams.audio[0], report, limits):
            pass
    return report.decoded_seconds
