"""The faster-whisper recogniser behind the :class:`~transcriber.transcription.Transcriber` protocol.

It keeps one model loaded (``loading``: device ``auto`` is CUDA first, the processor if CUDA is missing
or its first inference fails), decodes recordings a piece at a time (``pieces``: memory stays flat
however long the audio), converts faster-whisper's segments into our ``Phrase`` objects and hands them
out lazily, so the caller can report progress as ``phrase.end / duration``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel
from faster_whisper.vad import get_speech_timestamps

from transcriber.channels import level_dbfs
from transcriber.decoding import SAMPLE_RATE, DecodeLimits, DecodeReport, pcm_blocks
from transcriber.domain import Phrase
from transcriber.engine.calls import Interleaved, split_call, split_decision, stream_format
from transcriber.engine.chunks import aligned_cut, first_chunk_audio, known_speech
from transcriber.engine.diarized import diarized
from transcriber.engine.inventions import (
    LOW_PROBABILITY,
    SILENT_DBFS,
    Evidence,
    invented,
    known_hallucination,
    speech_share,
)
from transcriber.engine.languages import first_chunk_language, segment_language
from transcriber.engine.loading import create_model, device_label, devices_to_try, smoke_test, usable_cpus
from transcriber.engine.options import (
    NARROWBAND_RATE,
    NARROWBAND_VAD_THRESHOLD,
    WINDOW,
    batched_vad,
    decode_options,
)
from transcriber.engine.pipeline import FIRST_BATCH, SAMPLING_SEED, TailKeepingPipeline
from transcriber.engine.segments import piece_phrase, speech_spans
from transcriber.errors import ModelUnavailable
from transcriber.media import playing_time
from transcriber.model_catalog import ModelCatalog
from transcriber.phrasing import PhraseJoiner
from transcriber.pieces import (
    PIECE_SECONDS,
    AudioPiece,
    Cut,
    Cutter,
    SpeechSpans,
    even_piece_seconds,
    split_pieces,
)
from transcriber.recognition import RecognitionSettings
from transcriber.transcription import DecodeProgress, LoadedModel, TranscriptionRun
from transcriber.usability import resolve_compute_type
from transcriber.voices.model import SpeakerModel

log = logging.getLogger(__name__)

_CUT_VAD_MS = 300  # the silence that counts when cutting pieces if VAD is off for decoding


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
        first_batch: int = FIRST_BATCH,
        even_pieces: bool = True,
        device_index: int = 0,
    ) -> None:
        self.catalog = catalog
        self.device_index = device_index  # the GPU this engine uses when the device is cuda
        self.first_batch = first_batch  # chunks in the recording's first batch; 0: as many as the others
        self.limits = limits or DecodeLimits()
        self.cpu_threads = cpu_threads or usable_cpus()
        self.trusted_paths = trusted_paths
        self.piece_seconds = piece_seconds  # the longest piece
        self.even_pieces = even_pieces  # pieces of equal length when the recording's duration is known
        self._model: WhisperModel | None = None
        self._batched: BatchedInferencePipeline | None = None
        self._loaded: LoadedModel | None = None
        self._key: tuple[str, str, str] | None = None
        self._speakers: SpeakerModel | None = None  # the voices' model, loaded when a task asks for it

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
        devices = devices_to_try(settings.device)
        errors: list[str] = []
        for device in devices:
            compute_type = resolve_compute_type(settings.compute_type, device)
            try:
                model = create_model(
                    model_ref,
                    download=source.path is None,
                    device=device,
                    compute_type=compute_type,
                    cpu_threads=self.cpu_threads,
                    catalog=self.catalog,
                    device_index=self.device_index,
                )
                if device == "cuda" and settings.device == "auto":
                    smoke_test(model)
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
                device=device_label(device, self.device_index),
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

    def transcribe(
        self,
        audio: Path,
        settings: RecognitionSettings,
        *,
        duration: float | None = None,
        guard_loops: bool = True,
        call: Interleaved | None = None,
    ) -> TranscriptionRun:
        """Start transcribing ``audio``: the language is detected on the first piece and kept for the
        others; each piece is decoded only when the caller has taken the previous one's phrases.
        ``duration`` (known from the upload's probe) spares measuring the file again. A stereo call
        is split by channel as ``settings.channels`` says (``engine.calls``); ``call``: decode both
        parties of the stereo ``audio`` as that stream."""
        if call is None and split_decision(audio, settings.channels, self.limits)[0]:
            return self._transcribe_call(audio, settings, duration=duration, guard_loops=guard_loops)
        loaded = self.load(settings)
        narrow = 0 < stream_format(audio)[1] <= NARROWBAND_RATE  # telephone audio: a lower VAD threshold
        threshold = NARROWBAND_VAD_THRESHOLD if narrow else 0.5
        options = decode_options(settings, multilingual=loaded.multilingual, narrowband=narrow)
        spans = speech_spans(settings.vad_min_silence_ms or _CUT_VAD_MS, threshold)
        report = DecodeReport()
        blocks = pcm_blocks(audio, report=report, limits=self.limits, stereo=call is not None)
        duration = duration or playing_time(audio)
        if call is not None:
            blocks, duration = (
                call.blocks(blocks, speech_spans(_CUT_VAD_MS, threshold)),
                call.seconds(duration or 0.0),
            )
        cutter = self._batch_cutter(settings, options)
        piece = self.piece_seconds
        if self.even_pieces and cutter is None:  # the batched decoder's pieces end after full batches
            piece = even_piece_seconds(duration, self.piece_seconds)
        pieces = split_pieces(blocks, spans, piece_seconds=piece, search_seconds=piece / 20, cutter=cutter)
        first = next(pieces, None)
        if first is None:  # nothing decodable: no phrases
            return TranscriptionRun(options["language"], None, 0.0, iter(()), report.lost_seconds)
        probability = None
        if cutter is not None and options["language"] is None and not options["multilingual"]:
            first, probability = self._first_chunk_language(first, options)
        segments, info = self._decode(first, options, settings)
        options["language"] = info.language
        run = TranscriptionRun(
            language=info.language,
            language_probability=info.language_probability if probability is None else probability,
            duration=max(duration or 0.0, first.end_seconds),
            phrases=iter(()),
            undecoded_seconds=report.lost_seconds,
        )

        progress = run.progress
        pipeline = self._batched_for(settings)
        batched = pipeline is not None
        at_words = batched and cut_at_words(settings)
        if pipeline is not None:
            pipeline.redecoded = 0
            pipeline.guard_loops = guard_loops
        spans = speech_spans(_CUT_VAD_MS, threshold)

        def phrases() -> Iterator[Phrase]:
            piece: AudioPiece | None = first
            current: Iterable[Any] = segments
            while piece is not None:
                self._follow_steps(progress, piece, batched=batched, first=piece is first)
                speech = PieceSpeech(piece, spans)
                joiner = PhraseJoiner()
                no_speech = 0.0
                for segment in current:
                    whole = piece_phrase(
                        segment.start,
                        segment.end,
                        segment.text,
                        piece,
                        segment.words,
                        language=segment_language(segment),
                    )
                    if not batched:  # a window's phrases come together; the next window ends 30 s on
                        progress.done(whole.end)
                        progress.step(start=whole.end, end=min(piece.end_seconds, whole.end + WINDOW))
                    no_speech = segment.no_speech_prob
                    yield from self._kept(run, speech, joiner.add(whole) if at_words else [whole], no_speech)
                yield from self._kept(run, speech, joiner.flush(), no_speech)
                progress.done(piece.end_seconds)
                run.duration = piece.end_seconds
                run.redecoded = pipeline.redecoded if pipeline is not None else 0
                piece = next(pieces, None)
                run.undecoded_seconds = report.lost_seconds
                if piece is not None:
                    current = self._decode(piece, options, settings)[0]

        run.phrases = phrases()
        if call is None and settings.diarize:  # a mono recording's voices
            self._speakers = self._speakers or SpeakerModel(threads=self.cpu_threads)
            spans = speech_spans(_CUT_VAD_MS, threshold)
            return diarized(run, audio, settings, embed=self._speakers.embed, spans=spans, limits=self.limits)
        return run

    def _transcribe_call(
        self, audio: Path, settings: RecognitionSettings, *, duration: float | None, guard_loops: bool
    ) -> TranscriptionRun:
        """Each party of a stereo call on its own speech, both in one stream (``calls.Interleaved``)."""
        stream = Interleaved()
        run = self.transcribe(audio, settings, duration=duration, guard_loops=guard_loops, call=stream)
        return split_call(run, stream, duration or playing_time(audio) or 0.0, settings.speaker_names)

    @staticmethod
    def _kept(
        run: TranscriptionRun, speech: PieceSpeech, phrases: list[Phrase], no_speech_prob: float
    ) -> Iterator[Phrase]:
        """``phrases`` but those that look invented (counted on ``run``)."""
        for phrase in phrases:
            if speech.invented(phrase, no_speech_prob):
                run.dropped += 1
                log.info("dropped invented text at %.1f s: %r", phrase.start, phrase.text[:80])
                continue
            yield phrase

    def _follow_steps(
        self, progress: DecodeProgress, piece: AudioPiece, *, batched: bool, first: bool
    ) -> None:
        """Report ``piece``'s decoding steps into ``progress``, in the recording's time. Only the
        recording's first piece starts with a small batch: later pieces follow checkpoints already."""
        if not batched:
            progress.step(start=piece.start_seconds, end=min(piece.end_seconds, piece.start_seconds + WINDOW))
            return
        assert self._batched is not None
        offset = piece.start_seconds
        self._batched.first_batch = self.first_batch if first else 0

        def on_step(start: float, end: float, done: bool) -> None:
            if done:
                progress.done(min(offset + end, piece.end_seconds))
            else:
                progress.step(start=offset + start, end=min(offset + end, piece.end_seconds))

        self._batched.on_step = on_step

    def _batched_for(self, settings: RecognitionSettings) -> TailKeepingPipeline | None:
        """The batched pipeline, when ``settings`` decode in batches (it cuts the audio at VAD
        boundaries and decodes the chunks together); None for sequential decoding."""
        if settings.batch_size <= 0 or settings.vad_min_silence_ms <= 0:
            return None
        if self._batched is None:
            self._batched = TailKeepingPipeline(model=self._model)
        return self._batched

    def _first_chunk_language(
        self, piece: AudioPiece, options: dict[str, Any]
    ) -> tuple[AudioPiece, float | None]:
        """Detect the file's language on the batched decoder's first chunk (``options`` are told it):
        ``piece`` with its speech found (not looked for again) and the language's probability."""
        assert self._model is not None
        speech = piece.speech
        if speech is None:
            found = get_speech_timestamps(piece.samples, batched_vad(options))
            speech = tuple((int(s["start"]), int(s["end"])) for s in found)
            piece = dataclasses.replace(piece, speech=speech)
        segments = [{"start": start, "end": end} for start, end in speech]
        detected = first_chunk_language(
            self._model, first_chunk_audio(piece.samples, segments, SAMPLE_RATE, WINDOW)
        )
        if detected is None:
            return piece, None
        options["language"] = detected[0]
        return piece, detected[1]

    def _batch_cutter(self, settings: RecognitionSettings, options: dict[str, Any]) -> Cutter | None:
        """For batched decoding: pieces that end after their last full batch of chunks
        (``chunks.aligned_cut``), their speech found once."""
        if self._batched_for(settings) is None:
            return None
        vad = batched_vad(options)

        def cut(samples: np.ndarray, first: bool) -> Cut | None:
            speech = get_speech_timestamps(samples, vad)
            found = aligned_cut(
                samples, speech, SAMPLE_RATE, WINDOW, settings.batch_size, self.first_batch if first else 0
            )
            if found is None:
                return None
            index, kept = found
            return Cut(index, tuple((int(s["start"]), int(s["end"])) for s in kept))

        return cut

    def _decode(
        self, piece: AudioPiece, options: dict[str, Any], settings: RecognitionSettings
    ) -> tuple[Iterable[Any], Any]:
        """faster-whisper's (segments, info) for one piece."""
        assert self._model is not None
        ctranslate2.set_random_seed(SAMPLING_SEED)  # the temperature fallback samples: repeatable text
        pipeline = self._batched_for(settings)
        if pipeline is not None:
            # Timestamps inside each chunk keep phrases short, as in sequential decoding.
            batched = {k: v for k, v in options.items() if k != "condition_on_previous_text"}
            with known_speech(piece.speech):
                return pipeline.transcribe(  # type: ignore[no-any-return]
                    piece.samples,
                    batch_size=settings.batch_size,
                    without_timestamps=cut_at_words(settings),
                    **batched,
                )
        return self._model.transcribe(piece.samples, **options)  # type: ignore[no-any-return]


def cut_at_words(settings: RecognitionSettings) -> bool:
    """Whether batched decoding goes without timestamp tokens, its phrases cut at the words instead."""
    return settings.phrase_boundaries == "words" and settings.word_timestamps


class PieceSpeech:
    """Where a piece's speech is, as the voice activity detector hears it, measured only when a phrase
    looks invented (a known hallucination, only unsure words, or a silent span): most never need it."""

    def __init__(self, piece: AudioPiece, spans: SpeechSpans) -> None:
        self._piece = piece
        self._spans = spans
        self._found: list[tuple[float, float]] | None = None

    def invented(self, phrase: Phrase, no_speech_prob: float) -> bool:
        unsure = bool(phrase.words) and max(w.probability for w in phrase.words) < LOW_PROBABILITY
        level = self.level(phrase)
        if not (unsure or level < SILENT_DBFS or known_hallucination(phrase.text)):
            return False
        if self._found is None:
            offset = self._piece.start_seconds
            self._found = [
                (offset + a / SAMPLE_RATE, offset + b / SAMPLE_RATE)
                for a, b in self._spans(self._piece.samples)
            ]
        share = speech_share(phrase.start, phrase.end, self._found)
        evidence = Evidence(speech_share=share, no_speech_prob=float(no_speech_prob), level_dbfs=level)
        return invented(phrase, evidence)

    def level(self, phrase: Phrase) -> float:
        """The loudness of the phrase's span of this piece (dBFS)."""
        offset = self._piece.start_seconds
        first = max(0, round((phrase.start - offset) * SAMPLE_RATE))
        past = max(first + 1, round((phrase.end - offset) * SAMPLE_RATE))
        return level_dbfs(self._piece.samples[first:past])
