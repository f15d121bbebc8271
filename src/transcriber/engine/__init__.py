"""The engine: faster-whisper behind :class:`~transcriber.transcription.Transcriber`.

The only package that imports faster_whisper and ctranslate2 (``usability`` asks ctranslate2 about
devices). ``whisper`` is the recogniser, ``loading`` creates models and picks devices, ``pipeline``
patches the batched pipeline behind a version guard (``chunks`` reads its chunks' decodings),
``encoder`` is the CPU encoder, ``languages`` tags segments with the language detected per window,
``options`` maps our settings to faster-whisper's.
"""

from transcriber.engine.chunks import (
    collect_chunks_listing_all_speech,
    filled_chunks,
    unfinished_tail,
    unread_after,
)
from transcriber.engine.encoder import CPU_ENCODE_SLICE, SlicedEncoderModel
from transcriber.engine.languages import EngineModel, segment_language
from transcriber.engine.loading import download_model, hub_repo_id, usable_cpus
from transcriber.engine.options import decode_options
from transcriber.engine.pipeline import TailKeepingPipeline
from transcriber.engine.segments import piece_phrase
from transcriber.engine.whisper import WhisperTranscriber
from transcriber.usability import cuda_device_count, resolve_compute_type

__all__ = [
    "CPU_ENCODE_SLICE",
    "EngineModel",
    "SlicedEncoderModel",
    "TailKeepingPipeline",
    "WhisperTranscriber",
    "collect_chunks_listing_all_speech",
    "cuda_device_count",
    "decode_options",
    "download_model",
    "filled_chunks",
    "hub_repo_id",
    "piece_phrase",
    "resolve_compute_type",
    "segment_language",
    "unfinished_tail",
    "unread_after",
    "usable_cpus",
]
