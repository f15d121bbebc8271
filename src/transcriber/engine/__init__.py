"""The engine: faster-whisper behind :class:`~transcriber.transcription.Transcriber`.

The only package that imports faster_whisper and ctranslate2 (``usability`` asks ctranslate2 about
devices). ``whisper`` is the recogniser, ``loading`` creates models and picks devices, ``pipeline``
patches the batched pipeline behind a version guard, ``encoder`` is the CPU encoder, ``options`` maps
our settings to faster-whisper's.
"""

from transcriber.engine.encoder import CPU_ENCODE_SLICE, SlicedEncoderModel
from transcriber.engine.loading import download_model, hub_repo_id, usable_cpus
from transcriber.engine.options import decode_options
from transcriber.engine.pipeline import (
    TailKeepingPipeline,
    collect_chunks_listing_all_speech,
    unfinished_tail,
    unread_after,
)
from transcriber.engine.whisper import WhisperTranscriber, piece_phrase
from transcriber.usability import cuda_device_count, resolve_compute_type

__all__ = [
    "CPU_ENCODE_SLICE",
    "SlicedEncoderModel",
    "TailKeepingPipeline",
    "WhisperTranscriber",
    "collect_chunks_listing_all_speech",
    "cuda_device_count",
    "decode_options",
    "download_model",
    "hub_repo_id",
    "piece_phrase",
    "resolve_compute_type",
    "unfinished_tail",
    "unread_after",
    "usable_cpus",
]
