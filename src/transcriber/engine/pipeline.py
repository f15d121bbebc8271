"""faster-whisper's batched pipeline, patched to keep what it drops, behind a version guard.

The patches override ``generate_segment_batched`` and ``forward`` and call private helpers of
faster-whisper; they were verified on the versions in ``VERIFIED``. Another version could change
transcripts silently, so importing this module on one fails loudly instead.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import deque
from collections.abc import Callable, Iterator
from importlib.metadata import version
from typing import Any

import ctranslate2
import faster_whisper.transcribe
import numpy as np
from faster_whisper import BatchedInferencePipeline
from faster_whisper.audio import pad_or_trim
from faster_whisper.transcribe import get_compression_ratio

from transcriber.engine.chunks import (
    collect_chunks_listing_all_speech,
    decoded_in_chunk,
    first_split,
    mean_logprob,
    speech_timestamps,
    unfinished_tail,
    unread_after,
)
from transcriber.engine.languages import language_code, segment_language, tag
from transcriber.engine.loops import repetition
from transcriber.engine.unheard import stopped_early

VERIFIED = ((1, 2, 1), (1, 3, 0))
"""faster-whisper versions the patches were checked on: from the first, up to (not including) the
second. Keep pyproject.toml's pin the same."""

MIN_UNREAD_SECONDS = 0.5  # audio left undecoded at a batched chunk's end that is decoded once more
FIRST_BATCH = 1  # chunks in a recording's first batch (see TailKeepingPipeline)
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
# Sampling above temperature 0 starts from this seed for every chunk: the same audio gives the same text
SAMPLING_SEED = 20_231_117
"""The sequential decoder's temperature fallback, used again on a batched chunk that loops."""


class EngineVersionMismatch(ImportError):
    """The installed faster-whisper is not one the pipeline patches were verified on."""


def check_version(installed: str) -> None:
    """Raise :class:`EngineVersionMismatch` unless ``installed`` is inside ``VERIFIED``."""
    parts = tuple(int(p) for p in installed.split("+")[0].split(".")[:3] if p.isdigit())
    low, high = VERIFIED
    if not low <= parts < high:
        raise EngineVersionMismatch(
            f"faster-whisper {installed} is installed, but the batched pipeline patches in "
            f"{__name__} were verified on >={'.'.join(map(str, low))},<{'.'.join(map(str, high))}; "
            "install the version from requirements.lock (pip install -r requirements.lock), or check "
            "the patches against the new version and widen VERIFIED"
        )


check_version(version("faster-whisper"))


# used by the batched pipeline
faster_whisper.transcribe.collect_chunks = collect_chunks_listing_all_speech
faster_whisper.transcribe.get_speech_timestamps = speech_timestamps


StepHook = Callable[[float, float, bool], None]
"""Told ``(start, end, done)`` in the piece's seconds when a batch starts decoding and when it is done."""


class TailKeepingPipeline(BatchedInferencePipeline):  # type: ignore[misc]
    """faster-whisper's batched pipeline, keeping the words after a chunk's last timestamp pair.

    In faster-whisper 1.2.1 each VAD chunk is decoded once, and the text after its last complete
    ``<|t1|>...<|t2|>`` segment (an unfinished segment with no closing timestamp) is dropped: the
    sequential decoder seeks back and decodes it again, the batched one never does. We append that
    text as a last phrase that runs to the chunk's end.

    A chunk whose text repeats itself (``loops.repetition``: Whisper's loop, which the batched pipeline
    cannot escape, having no temperature fallback) is decoded again on its own the way the sequential
    decoder does (without any previous text, each temperature of ``FALLBACK_TEMPERATURES`` in turn until
    the text no longer loops), and the better text is kept; ``redecoded`` counts those chunks.

    Word timings are aligned once a chunk's text is complete (the appended tail included), each
    chunk's text against its own encoder output; faster-whisper would align only the text it kept.

    With ``multilingual`` options each chunk is decoded in the language detected for it (as
    faster-whisper does) and its segments are tagged with that language (``languages.segment_language``).

    Two more changes are for progress: the first batch of a piece of at least ``FIRST_BATCH_FROM``
    full batches holds ``first_batch`` chunks (fewer than the others, so the first phrases and the
    first real checkpoint come within seconds; 0 turns it off), and ``on_step`` is told where each batch
    starts and ends, before and after decoding it.
    """

    _outputs: list[dict[str, Any]]
    _encoder_output: Any = None
    _languages: list[str | None]  # of the chunks in the last generate_segment_batched call
    _batch_languages: deque[str | None]  # of the segments of the batch being yielded, in order
    last_speech_timestamp: float
    redecoded: int = 0
    reread: int = 0  # chunks decoded again with timestamp tokens: the model had stopped reading early
    guard_loops: bool = True
    first_batch: int = FIRST_BATCH
    on_step: StepHook | None = None

    def _batched_segments_generator(
        self,
        features: Any,
        tokenizer: Any,
        chunks_metadata: list[dict[str, Any]],
        batch_size: int,
        options: Any,
        log_progress: bool,
    ) -> Iterator[Any]:
        # faster-whisper yields a Segment for each of forward()'s segments, in order, right after it
        self._batch_languages = deque()
        for segment in self._batches(features, tokenizer, chunks_metadata, batch_size, options, log_progress):
            yield tag(segment, self._batch_languages.popleft() if self._batch_languages else None)

    def _batches(
        self,
        features: Any,
        tokenizer: Any,
        chunks_metadata: list[dict[str, Any]],
        batch_size: int,
        options: Any,
        log_progress: bool,
    ) -> Iterator[Any]:
        first = first_split(len(chunks_metadata), batch_size, self.first_batch)
        if not first:
            yield from super()._batched_segments_generator(
                features, tokenizer, chunks_metadata, batch_size, options, log_progress
            )
            return
        for part, size in ((slice(None, first), first), (slice(first, None), batch_size)):
            yield from super()._batched_segments_generator(
                features[part], tokenizer, chunks_metadata[part], size, options, log_progress
            )

    def generate_segment_batched(self, features: Any, tokenizer: Any, options: Any) -> Any:
        encoder_output, outputs = super().generate_segment_batched(features, tokenizer, options)
        self._outputs = outputs
        self._encoder_output = encoder_output
        self._languages = [None] * len(outputs)
        if options.multilingual:  # the detection faster-whisper just decoded with (one decoder step)
            detected = self.model.model.detect_language(encoder_output)
            self._languages = [language_code(found[0][0]) for found in detected]
        return encoder_output, outputs

    def forward(self, features: Any, tokenizer: Any, chunks_metadata: Any, options: Any) -> Any:
        # A chunk's offset is in the time with VAD's silences removed; its speech segments keep the
        # recording's sample positions.
        # A chunk can hold no speech at all: faster-whisper makes one empty chunk of a piece in which the
        # VAD found none (and one before a speech segment longer than a chunk). Each chunk lists all of
        # its speech (collect_chunks_listing_all_speech), so the step is exact.
        rate = self.model.feature_extractor.sampling_rate
        speech = [segment for chunk in chunks_metadata for segment in chunk["segments"]]
        step = (speech[0]["start"] / rate, speech[-1]["end"] / rate) if speech else None
        if self.on_step is not None and step is not None:
            self.on_step(*step, False)
        segmented = self._forward(features, tokenizer, chunks_metadata, options)
        self._batch_languages = deque(s.get("language") for segments in segmented for s in segments)
        if self.on_step is not None and step is not None:
            self.on_step(*step, True)
        return segmented

    def _forward(self, features: Any, tokenizer: Any, chunks_metadata: Any, options: Any) -> Any:
        without_words = dataclasses.replace(options, word_timestamps=False)
        segmented = super().forward(features, tokenizer, chunks_metadata, without_words)
        outputs, encoder_output, languages = self._outputs, self._encoder_output, self._languages
        for segments, language in zip(segmented, languages, strict=True):
            for segment in segments:
                segment["language"] = language
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
                self._append(
                    segmented[index], tokenizer, tail[1], output, start, end, chunk, languages[index]
                )
        if unread:
            self._decode_rest(features, tokenizer, chunks_metadata, options, unread, segmented)
        for index, chunk in enumerate(chunks_metadata):
            if self.guard_loops and repetition(" ".join(s["text"] for s in segmented[index])).looping:
                self._redecode(features[index], tokenizer, chunk, options, segmented[index])
        if options.word_timestamps:
            self._add_words(segmented, tokenizer, encoder_output, chunks_metadata, options)
            if options.without_timestamps and (early := stopped_early(segmented, chunks_metadata)):
                # read again with timestamp tokens, which let the decoder go on where the model stopped
                with_timestamps = dataclasses.replace(options, without_timestamps=False)
                chunks = [chunks_metadata[i] for i in early]
                again = self._forward(features[early], tokenizer, chunks, with_timestamps)
                for index, segments in zip(early, again, strict=True):
                    segmented[index] = segments
                self.reread += len(early)
        return segmented

    def _redecode(
        self,
        features: Any,
        tokenizer: Any,
        chunk: dict[str, Any],
        options: Any,
        segments: list[dict[str, Any]],
    ) -> None:
        """Decode a looping chunk again as the sequential decoder would (``segments`` in place): without
        any previous text, at each temperature of ``FALLBACK_TEMPERATURES`` in turn until a decoding
        neither loops nor falls under the options' mean log-probability threshold. If none passes both,
        the likeliest decoding that does not loop is kept (Whisper's own choice when every temperature
        fails); if every one loops, the one that repeats itself least, or the first decoding.

        Unlike Whisper, a chunk whose fresh decoding at the first temperature repeats itself too is left
        there: speech that really repeats (a phone queue's message, a clip played in a loop) would
        otherwise cost every temperature on every chunk, and at high temperatures come out worse
        ("so my fellow Americans" became "saw my fellow Americans")."""
        rate = self.model.frames_per_second
        audio = features[:, : max(1, round(chunk["duration"] * rate))]
        best = repetition(" ".join(s["text"] for s in segments))
        found = None
        unlooped: list[tuple[float, list[Any]]] = []
        tokenizer = copy.copy(tokenizer)  # per-window detection sets its language: keep the batch's
        ctranslate2.set_random_seed(SAMPLING_SEED)
        for temperature in FALLBACK_TEMPERATURES:
            retry = dataclasses.replace(
                options,
                temperatures=[temperature],
                condition_on_previous_text=False,
                prefix=None,
                clip_timestamps=[],
                word_timestamps=False,
                without_timestamps=False,
                max_initial_timestamp=1.0,
                hallucination_silence_threshold=None,
            )
            decoded = decoded_in_chunk(
                list(self.model.generate_segments(audio, tokenizer, retry, log_progress=False)),
                chunk["duration"],
            )
            score = repetition(" ".join(s.text for s in decoded))
            if score.looping:
                if score.better_than(best):
                    best, found = score, decoded
                if temperature == FALLBACK_TEMPERATURES[0]:
                    break  # decoded afresh it repeats itself again: so does the audio
                continue
            likelihood = mean_logprob(decoded)
            threshold = options.log_prob_threshold
            if threshold is None or likelihood >= threshold:
                found = decoded
                break
            unlooped.append((likelihood, decoded))
        else:
            if unlooped:
                found = max(unlooped, key=lambda pair: pair[0])[1]
        self.redecoded += 1
        if found is None:
            return
        offset = chunk["offset"]
        segments[:] = [
            {
                "language": (segment_language(s) or tokenizer.language_code)
                if options.multilingual
                else None,
                "text": s.text,
                "avg_logprob": s.avg_logprob,
                "no_speech_prob": s.no_speech_prob,
                "tokens": s.tokens,
                "start": offset + s.start,
                "end": offset + min(s.end, chunk["duration"]),
                "compression_ratio": s.compression_ratio,
                "seek": int(offset * rate),
            }
            for s in found
        ]

    def _add_words(
        self,
        segmented: list[list[dict[str, Any]]],
        tokenizer: Any,
        encoder_output: Any,
        chunks_metadata: Any,
        options: Any,
    ) -> None:
        """Give every segment its ``words``, aligned against its chunk's audio (chunk-offset time, as
        faster-whisper's own alignment; ``restore_speech_timestamps`` then maps them to the piece).

        A chunk with no segment gets a placeholder for the alignment (faster-whisper's reads each
        chunk's first segment), removed again afterwards."""
        rate = self.model.frames_per_second
        placeholders = []
        for index, (chunk, segments) in enumerate(zip(chunks_metadata, segmented, strict=True)):
            if not segments:
                offset = chunk["offset"]
                segments.append({"tokens": [], "start": offset, "end": offset, "seek": int(offset * rate)})
                placeholders.append(index)
        self.last_speech_timestamp = self.model.add_word_timestamps(
            segmented,
            tokenizer,
            encoder_output,
            [int(np.ceil(chunk["duration"]) * rate) for chunk in chunks_metadata],
            options.prepend_punctuations,
            options.append_punctuations,
            self.last_speech_timestamp,
        )
        for index in placeholders:
            segmented[index].clear()

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
        for (index, seconds), output, language in zip(unread, outputs, self._languages, strict=True):
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
                    segmented[index],
                    tokenizer,
                    text_tokens,
                    output,
                    sub["start"],
                    end,
                    chunk,
                    language,
                    sub["end"],
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
        language: str | None,
        end: float | None = None,
    ) -> None:
        text = tokenizer.decode(tokens)
        if not text.strip():
            return
        end = limit if end is None else min(end, limit)
        segments.append(
            {
                "language": language,
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
