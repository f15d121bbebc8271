"""The engine adapter: the only module that imports faster_whisper.

It loads models (device ``auto``: CUDA first, CPU if CUDA is missing or its first inference fails),
decodes recordings a piece at a time (``pieces``: memory stays flat however long the audio), converts
faster-whisper's segments into our ``Phrase`` objects and hands them out lazily, so the caller can
report progress as ``phrase.end / duration``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import ctranslate2
import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel
from faster_whisper.audio import pad_or_trim
from faster_whisper.transcribe import get_compression_ratio
from faster_whisper.utils import _MODELS as _HUB_MODELS
from faster_whisper.vad import VadOptions, get_speech_timestamps

from transcriber.decoding import DecodeLimits, DecodeReport, pcm_blocks
from transcriber.domain import Phrase
from transcriber.errors import ModelUnavailable
from transcriber.media import playing_time
from transcriber.model_catalog import BUNDLED, ModelCatalog
from transcriber.pieces import PIECE_SECONDS, AudioPiece, SpeechSpans, split_pieces
from transcriber.recognition import RecognitionSettings
from transcriber.usability import cuda_device_count, resolve_compute_type

log = logging.getLogger(__name__)

CPU_ENCODE_SLICE = 1  # chunks the CPU encoder takes at once (see SlicedEncoderModel)
_CUT_VAD_MS = 300  # the silence that counts when cutting pieces if VAD is off for decoding
MIN_UNREAD_SECONDS = 0.5  # audio left undecoded at a batched chunk's end that is decoded once more


@dataclass(frozen=True, slots=True)
class LoadedModel:
    name: str
    path: str
    device: str
    compute_type: str
    multilingual: bool


@dataclass
class TranscriptionRun:
    """A transcription under way: what is known up front, and the phrases as they are decoded."""

    language: str | None
    language_probability: float | None
    duration: float  # from the container up front; the decoded length once ``phrases`` is exhausted
    phrases: Iterator[Phrase]
    undecoded_seconds: float = 0.0  # audio that could not be decoded; final once ``phrases`` is exhausted


class Transcriber(Protocol):
    """What the worker needs from an engine."""

    @property
    def loaded(self) -> LoadedModel | None: ...

    def load(self, settings: RecognitionSettings) -> LoadedModel: ...

    def unload(self) -> None: ...

    def transcribe(
        self, audio: Path, settings: RecognitionSettings, *, duration: float | None = None
    ) -> TranscriptionRun:
        """Start transcribing; ``duration``, when the caller already knows it (the upload was probed),
        saves reading the file once more."""
        ...


def decode_options(settings: RecognitionSettings, *, multilingual: bool) -> dict[str, Any]:
    """faster-whisper's transcribe() options for ``settings`` (an English-only model is told so)."""
    options: dict[str, Any] = {
        "language": (settings.language or None) if multilingual else "en",
        "task": settings.task if multilingual else "transcribe",
        "beam_size": settings.beam_size,
        "patience": settings.patience,
        "length_penalty": settings.length_penalty,
        "condition_on_previous_text": settings.condition_on_previous_text,
        "initial_prompt": settings.initial_prompt or None,
        "vad_filter": settings.vad_min_silence_ms > 0,
    }
    if settings.vad_min_silence_ms > 0:
        options["vad_parameters"] = {"min_silence_duration_ms": settings.vad_min_silence_ms}
    return options


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def hub_repo_id(name: str) -> str | None:
    """The Hugging Face repository faster-whisper downloads for a model name (``large-v3`` ->
    ``Systran/faster-whisper-large-v3``); None for a name it does not know."""
    repo: str | None = _HUB_MODELS.get(name)
    return repo


class WhisperTranscriber:
    """faster-whisper behind the :class:`Transcriber` protocol; keeps one model loaded."""

    def __init__(
        self,
        catalog: ModelCatalog,
        *,
        cpu_threads: int = 0,
        trusted_paths: bool = True,
        piece_seconds: float = PIECE_SECONDS,
        limits: DecodeLimits | None = None,
    ) -> None:
        self.catalog = catalog
        self.limits = limits or DecodeLimits()
        self.cpu_threads = cpu_threads or usable_cpus()
        self.trusted_paths = trusted_paths
        self.piece_seconds = piece_seconds
        self._model: WhisperModel | None = None
        self._batched: BatchedInferencePipeline | None = None
        self._loaded: LoadedModel | None = None
        self._key: tuple[str, str, str] | None = None

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def unload(self) -> None:
        self._model = None
        self._batched = None
        self._loaded = None
        self._key = None

    def load(self, settings: RecognitionSettings) -> LoadedModel:
        """Load the model ``settings`` ask for, unless it is already loaded."""
        if self._key == settings.engine_key() and self._loaded is not None:
            return self._loaded
        self.unload()
        source = self.catalog.resolve(settings.model, trusted=self.trusted_paths)
        model_ref = str(source.path) if source.path is not None else settings.model
        devices = self._devices(settings.device)
        errors: list[str] = []
        for device in devices:
            compute_type = resolve_compute_type(settings.compute_type, device)
            try:
                model = self._create(model_ref, source.path is None, device, compute_type)
                if device == "cuda" and settings.device == "auto":
                    self._smoke_test(model)
            except ModelUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001 - CTranslate2 raises plain RuntimeError/ValueError
                errors.append(f"{device}: {exc}")
                log.warning("cannot use %s for model %s: %s", device, settings.model, exc)
                continue
            self._model = model
            self._loaded = LoadedModel(
                name=settings.model,
                path=model_ref,
                device=device,
                compute_type=compute_type,
                multilingual=bool(model.model.is_multilingual),
            )
            self._key = settings.engine_key()
            log.info("loaded model %s on %s (%s)", settings.model, device, compute_type)
            return self._loaded
        hint = ""
        if settings.device == "cuda":
            hint = (
                " CUDA needs an NVIDIA driver, CUDA 12 and cuDNN 9 libraries on the PATH; set "
                "WHISPER_DEVICE=cpu (or auto) to run on the processor."
            )
        raise ModelUnavailable(f"cannot load model {settings.model!r}: {'; '.join(errors)}.{hint}")

    def _devices(self, requested: str) -> list[str]:
        if requested == "auto":
            return ["cuda", "cpu"] if cuda_device_count() > 0 else ["cpu"]
        return [requested]

    def _create(self, model_ref: str, download: bool, device: str, compute_type: str) -> WhisperModel:
        if not download:
            return SlicedEncoderModel(
                model_ref, device=device, compute_type=compute_type, cpu_threads=self.cpu_threads
            )
        try:
            return SlicedEncoderModel(
                model_ref,
                device=device,
                compute_type=compute_type,
                cpu_threads=self.cpu_threads,
                download_root=str(self.catalog.hub_dir),
            )
        except Exception as exc:
            if isinstance(exc, ValueError) and "compute" in str(exc):
                raise
            offline = ", ".join(BUNDLED)
            raise ModelUnavailable(
                f"model {model_ref!r} is not available offline and could not be downloaded "
                f"({type(exc).__name__}: {str(exc)[:300]}). Offline models here: {offline}. To use "
                f"{model_ref!r}: run `transcriber models prepare {model_ref}` on a machine with internet "
                f"access, or copy a CTranslate2 model folder into {self.catalog.models_dir} and set "
                "WHISPER_MODEL to the folder's name."
            ) from None

    @staticmethod
    def _smoke_test(model: WhisperModel) -> None:
        """Run one tiny inference: missing CUDA libraries (cuBLAS, cuDNN) only fail at first use."""
        segments, _info = model.transcribe(np.zeros(16000, dtype=np.float32), language="en", beam_size=1)
        for _ in segments:
            pass

    def transcribe(
        self, audio: Path, settings: RecognitionSettings, *, duration: float | None = None
    ) -> TranscriptionRun:
        """Start transcribing ``audio``: the language is detected on the first piece and kept for the
        others; each piece is decoded only when the caller has taken the previous one's phrases.
        ``duration`` (known from the upload's probe) spares measuring the file again."""
        loaded = self.load(settings)
        options = decode_options(settings, multilingual=loaded.multilingual)
        spans = _speech_spans(settings.vad_min_silence_ms or _CUT_VAD_MS)
        report = DecodeReport()
        blocks = pcm_blocks(audio, report=report, limits=self.limits)
        pieces = split_pieces(
            blocks, spans, piece_seconds=self.piece_seconds, search_seconds=self.piece_seconds / 20
        )
        first = next(pieces, None)
        if first is None:  # nothing decodable: no phrases
            return TranscriptionRun(options["language"], None, 0.0, iter(()), report.lost_seconds)
        segments, info = self._decode(first.samples, options, settings)
        options["language"] = info.language
        run = TranscriptionRun(
            language=info.language,
            language_probability=info.language_probability,
            duration=max(duration or playing_time(audio) or 0.0, first.end_seconds),
            phrases=iter(()),
            undecoded_seconds=report.lost_seconds,
        )

        def phrases() -> Iterator[Phrase]:
            piece: AudioPiece | None = first
            current: Iterable[Any] = segments
            while piece is not None:
                for segment in current:
                    yield _phrase(segment.start, segment.end, segment.text, piece)
                run.duration = piece.end_seconds
                piece = next(pieces, None)
                run.undecoded_seconds = report.lost_seconds
                if piece is not None:
                    current = self._decode(piece.samples, options, settings)[0]

        run.phrases = phrases()
        return run

    def _decode(
        self, samples: np.ndarray, options: dict[str, Any], settings: RecognitionSettings
    ) -> tuple[Iterable[Any], Any]:
        """faster-whisper's (segments, info) for one piece."""
        assert self._model is not None
        if settings.batch_size > 0 and settings.vad_min_silence_ms > 0:
            # The batched pipeline cuts the audio at VAD boundaries and decodes the chunks together.
            # Timestamps inside each chunk keep phrases short, as in sequential decoding.
            if self._batched is None:
                self._batched = TailKeepingPipeline(model=self._model)
            batched = {k: v for k, v in options.items() if k != "condition_on_previous_text"}
            return self._batched.transcribe(  # type: ignore[no-any-return]
                samples, batch_size=settings.batch_size, without_timestamps=False, **batched
            )
        return self._model.transcribe(samples, **options)  # type: ignore[no-any-return]


class SlicedEncoderModel(WhisperModel):  # type: ignore[misc]
    """``WhisperModel`` whose CPU encoder takes a batch ``CPU_ENCODE_SLICE`` chunks at a time.

    The batched pipeline encodes all the chunks of a batch in one call. On CPU that is no faster (8
    chunks of ``base``: 6.4 s at once, 5.8 s one by one) and the encoder's attention for the whole
    batch is held at once: peak RSS 1,005 MiB against 394 MiB. The outputs are joined, so the
    decoder still works on the whole batch, which is where batching pays off. A GPU gets the batch
    whole."""

    def encode(self, features: np.ndarray) -> ctranslate2.StorageView:
        if self.model.device != "cpu" or features.ndim != 3 or len(features) <= CPU_ENCODE_SLICE:
            return super().encode(features)
        parts = [
            np.asarray(super(SlicedEncoderModel, self).encode(features[i : i + CPU_ENCODE_SLICE]))
            for i in range(0, len(features), CPU_ENCODE_SLICE)
        ]
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.concatenate(parts)))


class TailKeepingPipeline(BatchedInferencePipeline):  # type: ignore[misc]
    """faster-whisper's batched pipeline, keeping the words after a chunk's last timestamp pair.

    In faster-whisper 1.2.1 each VAD chunk is decoded once, and the text after its last complete
    ``<|t1|>...<|t2|>`` segment (an unfinished segment with no closing timestamp) is dropped: the
    sequential decoder seeks back and decodes it again, the batched one never does. We append that
    text as a last phrase that runs to the chunk's end.
    """

    _outputs: list[dict[str, Any]]

    def generate_segment_batched(self, features: Any, tokenizer: Any, options: Any) -> Any:
        encoder_output, outputs = super().generate_segment_batched(features, tokenizer, options)
        self._outputs = outputs
        return encoder_output, outputs

    def forward(self, features: Any, tokenizer: Any, chunks_metadata: Any, options: Any) -> Any:
        segmented = super().forward(features, tokenizer, chunks_metadata, options)
        outputs = self._outputs
        unread: list[tuple[int, float]] = []  # (chunk in the batch, seconds into it not decoded)
        for index, (chunk, output) in enumerate(zip(chunks_metadata, outputs, strict=True)):
            position = unread_after(output["tokens"], tokenizer.timestamp_begin)
            seconds = position * self.model.time_precision if position is not None else chunk["duration"]
            if chunk["duration"] - seconds >= MIN_UNREAD_SECONDS:
                unread.append((index, seconds))
            tail = unfinished_tail(output["tokens"], tokenizer.timestamp_begin)
            if tail is not None:
                start = chunk["offset"] + tail[0] * self.model.time_precision
                end = chunk["offset"] + chunk["duration"]
                self._append(segmented[index], tokenizer, tail[1], output, start, end, chunk)
        if unread:
            self._decode_rest(features, tokenizer, chunks_metadata, options, unread, segmented)
        return segmented

    def _decode_rest(
        self,
        features: Any,
        tokenizer: Any,
        chunks_metadata: Any,
        options: Any,
        unread: list[tuple[int, float]],
        segmented: list[list[dict[str, Any]]],
    ) -> None:
        """Decode once more, together, the ends of the chunks the model stopped early on (it closed a
        segment and opened the next one, then ended: the sequential decoder would seek there)."""
        rate = self.model.frames_per_second
        rest = np.stack([pad_or_trim(features[i][:, round(sec * rate) :]) for i, sec in unread])
        _, outputs = self.generate_segment_batched(rest, tokenizer, options)
        for (index, seconds), output in zip(unread, outputs, strict=True):
            chunk = chunks_metadata[index]
            duration = chunk["duration"] - seconds
            subsegments, _, _ = self.model._split_segments_by_timestamps(
                tokenizer=tokenizer,
                tokens=output["tokens"],
                time_offset=chunk["offset"] + seconds,
                segment_size=int(np.ceil(duration) * rate),
                segment_duration=duration,
                seek=0,
            )
            end = chunk["offset"] + chunk["duration"]
            for sub in subsegments:
                text_tokens = [t for t in sub["tokens"] if t < tokenizer.timestamp_begin]
                self._append(
                    segmented[index], tokenizer, text_tokens, output, sub["start"], end, chunk, sub["end"]
                )

    def _append(
        self,
        segments: list[dict[str, Any]],
        tokenizer: Any,
        tokens: list[int],
        output: dict[str, Any],
        start: float,
        limit: float,
        chunk: dict[str, Any],
        end: float | None = None,
    ) -> None:
        text = tokenizer.decode(tokens)
        if not text.strip():
            return
        end = limit if end is None else min(end, limit)
        segments.append(
            {
                "text": text,
                "avg_logprob": output["avg_logprob"],
                "no_speech_prob": output["no_speech_prob"],
                "tokens": tokens,
                "start": min(start, limit),
                "end": max(min(start, limit), end),
                "compression_ratio": get_compression_ratio(text),
                "seek": int(chunk["offset"] * self.model.frames_per_second),
            }
        )


def unread_after(tokens: list[int], timestamp_begin: int) -> int | None:
    """Where the model stopped reading a chunk, as a timestamp position, when its output ends by
    closing a segment and opening another (``...<|t1|><|t2|>``); None otherwise."""
    if len(tokens) >= 2 and tokens[-1] >= timestamp_begin and tokens[-2] >= timestamp_begin:
        return tokens[-1] - timestamp_begin
    return None


def unfinished_tail(tokens: list[int], timestamp_begin: int) -> tuple[int, list[int]] | None:
    """The text tokens faster-whisper's segment splitter drops, with the timestamp position they start
    at: those after the last pair of consecutive timestamps, when the output does not end in one."""
    pairs = [
        i for i in range(1, len(tokens)) if tokens[i] >= timestamp_begin and tokens[i - 1] >= timestamp_begin
    ]
    if not pairs or tokens[-1] >= timestamp_begin:
        return None  # no pair: kept as one segment; a timestamp at the end: the last segment is closed
    last = pairs[-1]
    text = [t for t in tokens[last:] if t < timestamp_begin]
    return (tokens[last] - timestamp_begin, text) if text else None


def _speech_spans(min_silence_ms: int) -> SpeechSpans:
    options = VadOptions(min_silence_duration_ms=max(min_silence_ms, 100), speech_pad_ms=0)

    def spans(samples: np.ndarray) -> list[tuple[int, int]]:
        return [(s["start"], s["end"]) for s in get_speech_timestamps(samples, options)]

    return spans


def _phrase(start: float, end: float, text: str, piece: AudioPiece) -> Phrase:
    """Our phrase from a piece's segment, in the recording's time and inside the piece: Whisper's last
    window can end past the audio."""
    low, high = piece.start_seconds, piece.end_seconds
    start = min(max(low, low + float(start)), high)
    return Phrase(start=start, end=min(max(start, low + float(end)), high), text=text.strip())


def download_model(name: str, models_dir: Path) -> Path:
    """Download a model by name into ``<models_dir>/<name>`` (needs internet access to the model hub)."""
    from faster_whisper import download_model as fw_download

    target = models_dir / name
    try:
        return Path(fw_download(name, output_dir=str(target)))
    except Exception as exc:  # noqa: BLE001 - huggingface_hub raises many kinds
        raise ModelUnavailable(
            f"cannot download model {name!r} ({type(exc).__name__}: {str(exc)[:300]}); this needs "
            "internet access to huggingface.co. Offline, copy a CTranslate2 model folder into "
            f"{models_dir} instead."
        ) from None
