"""Probing uploaded media with PyAV (FFmpeg's libraries): is it audio we can decode, and how long is it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from transcriber.decoding import DecodeLimits, decoded_length
from transcriber.errors import EmptyUpload, UnsupportedMedia

ACCEPTED = (
    "audio: mp3, wav, m4a/aac, flac, ogg/opus, webm, wma, amr; "
    "video with an audio track: mp4, mkv, mov, webm, avi"
)
_FRAMES_TO_CHECK = 8


@dataclass(frozen=True, slots=True)
class MediaInfo:
    format: str
    codec: str
    duration: float
    sample_rate: int
    channels: int


def _unsupported(reason: str) -> UnsupportedMedia:
    return UnsupportedMedia(f"{reason}. Accepted: {ACCEPTED}.")


def probe(path: Path, *, limits: DecodeLimits | None = None) -> MediaInfo:
    """Open ``path``, find its first audio stream, decode a few frames, and measure the duration.

    Raises :class:`EmptyUpload` for a zero-length file and :class:`UnsupportedMedia` for anything that
    is not decodable audio (the message lists what is accepted); with ``limits``,
    :class:`AudioTooDense` for a stream over the samples-per-second bound and
    :class:`RecordingTooLong` when a file whose length must be measured by decoding it is over the
    longest duration (the caller compares the other durations itself).
    """
    limits = limits or DecodeLimits()
    if path.stat().st_size == 0:
        raise EmptyUpload("the file is empty (0 bytes)")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise _unsupported("the file has no audio track")
            stream = container.streams.audio[0]
            context = stream.codec_context
            limits.check_density(int(context.sample_rate or 0), int(context.channels or 0))
            decoded = 0
            decoded_seconds = 0.0
            for frame in container.decode(stream):
                decoded += 1
                decoded_seconds += frame.samples / float(frame.sample_rate or 1)
                if decoded >= _FRAMES_TO_CHECK:
                    break
            if decoded == 0:
                raise _unsupported("no audio could be decoded from the file")
            duration = _measured_duration(path, limits) or _duration(container, stream) or decoded_seconds
            return MediaInfo(
                format=str(container.format.name),
                codec=str(stream.codec_context.name),
                duration=round(duration, 3),
                sample_rate=int(stream.codec_context.sample_rate or 0),
                channels=int(stream.codec_context.channels or 0),
            )
    except UnsupportedMedia:
        raise
    except (av.FFmpegError, UnicodeDecodeError, ValueError, IndexError) as exc:
        raise _unsupported(f"the file is not audio that can be decoded ({type(exc).__name__})") from None


def playing_time(path: Path) -> float | None:
    """The length of ``path``'s first audio track in seconds, without decoding it (None if unknown)."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                return None
            declared = _duration(container, container.streams.audio[0])
        return _measured_duration(path, DecodeLimits()) or declared
    except (av.FFmpegError, UnicodeDecodeError, ValueError, IndexError):
        return None


def _measured_duration(path: Path, limits: DecodeLimits) -> float | None:
    """The audio's real length from its packets (no decoding): headers can claim more than a truncated
    file holds, less than it holds, or nothing at all. The sum of the packets' durations counts too, as
    the timestamps can repeat (FLAC frames copied after the end: the decoder plays them all). If any
    packet does not say how long it is, the file is decoded (up to ``limits``) and measured.
    Uncompressed PCM is measured from the file size."""
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        context = stream.codec_context
        if context.name.startswith("pcm_") and context.sample_rate and context.channels:
            bytes_per_second = context.sample_rate * context.channels * (context.format.bytes or 2)
            from_size = path.stat().st_size / bytes_per_second  # the header is a few dozen bytes
            header = _duration(container, stream)
            return min(from_size, header) if header else from_size
        base = stream.time_base
        if base is None:
            return None
        start = stream.start_time or 0
        end = 0
        total = 0
        for packet in container.demux(stream):
            if not packet.size:
                continue  # the empty packet at the end, which flushes the decoder
            if not packet.duration:
                return decoded_length(path, limits=limits)
            total += packet.duration
            if packet.pts is not None:
                end = max(end, packet.pts - start + packet.duration)
        ticks = max(end, total)
        return float(ticks * base) if ticks else None


def _duration(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / av.time_base
    return None


_EXTENSION_OF_FORMAT = {"mov": "mp4", "matroska": "mkv", "asf": "wma", "mpegts": "ts", "s16le": "pcm"}


def file_extension(format_name: str, preferred: str) -> str:
    """The extension to store a probed file under: the client's own (``preferred``) when it names the
    detected container (``m4a`` for ``mov,mp4,m4a,...``), else one that matches the content."""
    names = format_name.split(",")
    if preferred and preferred in names:
        return preferred
    return _EXTENSION_OF_FORMAT.get(names[0], names[0])
