"""Pieces of a long recording that end after full batches: the batched decoder's last batch of a piece
is not a small one, and the speech found to place the cut is not looked for again."""

from __future__ import annotations

import re
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faster_whisper.transcribe
import numpy as np
import pytest

import transcriber.engine.chunks as chunks_module
import transcriber.engine.whisper as whisper_module
from tests.conversations import conversation, write_wav
from transcriber.decoding import SAMPLE_RATE, pcm_blocks
from transcriber.engine import WhisperTranscriber
from transcriber.engine.chunks import aligned_cut, batch_plan, filled_chunks, known_speech, packed
from transcriber.model_catalog import ModelCatalog
from transcriber.pieces import Cut, split_pieces
from transcriber.recognition import RecognitionSettings

RATE = SAMPLE_RATE


def test_a_piece_is_decoded_in_full_batches_and_one_first_small_batch() -> None:
    assert batch_plan(16, 8, 1) == [1, 8, 7]
    assert batch_plan(17, 8, 1) == [1, 8, 8]
    assert batch_plan(15, 8, 1) == [8, 7]  # under two full batches: no small first batch
    assert batch_plan(16, 8, 0) == [8, 8]
    assert batch_plan(3, 8, 1) == [3]
    assert batch_plan(0, 8, 1) == []
    assert batch_plan(5, 1, 0) == [1] * 5


def speech_every(seconds: float, pause: float, total: float) -> list[dict[str, int]]:
    """VAD segments of ``seconds`` with ``pause`` between them, for ``total`` seconds."""
    out, at = [], 0.0
    while at + seconds <= total:
        out.append({"start": int(at * RATE), "end": int((at + seconds) * RATE)})
        at += seconds + pause
    return out


@pytest.mark.parametrize("first", [0, 1])
def test_the_cut_keeps_the_most_chunks_that_fill_their_batches(first: int) -> None:
    rng = np.random.default_rng(3)
    audio = (rng.standard_normal(600 * RATE) * 0.1).astype(np.float32)
    segments = speech_every(9.5, 0.5, 600)  # three segments a chunk: 20 chunks in 10 minutes
    found = aligned_cut(audio, [dict(s) for s in segments], RATE, 30.0, 4, first)
    assert found is not None
    cut, speech = found
    groups = packed(filled_chunks(audio, [dict(s) for s in segments], RATE, 30.0), RATE, 30.0)
    kept = packed(speech, RATE, 30.0)
    plan = batch_plan(len(kept), 4, first)
    assert plan[-1] == 4, plan
    assert len(kept) < len(groups)
    assert len(kept) == (17 if first else 16)  # never the last chunk (its speech may go on)
    assert kept == groups[: len(kept)]
    # the piece ends in the silence after its speech, before the next chunk's
    assert speech[-1]["end"] <= cut <= groups[len(kept)][0]["start"]
    # the piece's speech packs into the same chunks again (the decoder packs it once more)
    assert packed(filled_chunks(audio, [dict(s) for s in speech], RATE, 30.0), RATE, 30.0) == kept


def test_split_speech_is_not_split_again() -> None:
    rng = np.random.default_rng(5)
    audio = (rng.standard_normal(300 * RATE) * 0.1).astype(np.float32)
    for length in (7.0, 13.0, 26.0, 29.0):
        segments = speech_every(length, 0.4, 300)
        once = filled_chunks(audio, [dict(s) for s in segments], RATE, 30.0)
        assert filled_chunks(audio, [dict(s) for s in once], RATE, 30.0) == once, length


def test_no_cut_when_the_audio_holds_one_batch_or_less() -> None:
    audio = np.zeros(240 * RATE, dtype=np.float32)
    segments = speech_every(9.5, 0.5, 240)  # 228 s of speech: 8 chunks, the last one never kept
    assert aligned_cut(audio, [dict(s) for s in segments], RATE, 30.0, 8, 0) is None
    assert aligned_cut(audio, [dict(s) for s in segments], RATE, 30.0, 4, 0) is not None
    assert aligned_cut(audio, [dict(s) for s in segments], RATE, 30.0, 16, 0) is None
    assert aligned_cut(audio, [], RATE, 30.0, 8, 0) is None


def blocks(samples: np.ndarray, size: int = 4000) -> Iterator[np.ndarray]:
    for i in range(0, len(samples), size):
        yield samples[i : i + size]


def test_a_cutter_ends_pieces_where_it_says_and_the_rest_starts_the_next() -> None:
    audio = (np.random.default_rng(1).uniform(-0.3, 0.3, 25 * RATE) * 32767).astype(np.int16)
    calls: list[tuple[int, bool]] = []

    def cutter(samples: np.ndarray, first: bool) -> Cut | None:
        calls.append((len(samples), first))
        if len(calls) == 2:
            return None  # the default cut then
        return Cut(len(samples) - 3 * RATE, ((0, RATE),))

    pieces = list(
        split_pieces(blocks(audio), lambda s: [], piece_seconds=10, search_seconds=1, cutter=cutter)
    )
    assert np.array_equal(np.concatenate([p.samples for p in pieces]), audio.astype(np.float32) / 32768.0)
    assert [p.offset for p in pieces] == [0, *np.cumsum([len(p.samples) for p in pieces])[:-1]]
    assert calls[:2] == [(10 * RATE, True), (10 * RATE, False)]
    assert pieces[0].cut == "cutter"
    assert len(pieces[0].samples) == 7 * RATE
    assert pieces[0].speech == ((0, RATE),)
    assert pieces[1].cut == "silence"  # no speech at all
    assert pieces[1].speech is None
    assert pieces[-1].cut == "end"


def test_known_speech_replaces_the_vad_only_inside_its_block() -> None:
    audio = np.zeros(5 * RATE, dtype=np.float32)
    vad = faster_whisper.transcribe.get_speech_timestamps
    with known_speech(((RATE, 2 * RATE),)):
        assert vad(audio) == [{"start": RATE, "end": 2 * RATE}]
    assert vad(audio) == []  # digital silence: the real VAD finds no speech
    with known_speech(None):
        assert vad(audio) == []


def words(text: str) -> str:
    return " ".join(re.findall(r"[\w']+", text.lower()))


@pytest.mark.slow
def test_batched_pieces_end_after_full_batches_on_real_speech(
    models_dir: Path, speech_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """jfk.flac 24 times with 3 s pauses (5.6 minutes), pieces of at most 20 repetitions (6-8 chunks),
    batches of 2: the first piece ends after an odd number of chunks (a first batch of one, then full
    batches), the
    VAD runs once on the audio of each cut piece, and the text and the file times are whole."""
    clip = np.concatenate(list(pcm_blocks(speech_file)))
    gap = np.zeros(3 * RATE, dtype=np.int16)
    audio = tmp_path / "many.wav"
    with wave.open(str(audio), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(np.concatenate([clip, gap] * 24).tobytes())
    period = (len(clip) + len(gap)) / RATE
    chunk_counts: list[int] = []
    vad_runs: list[int] = []
    real_collect, real_vad = chunks_module.collect_chunks, chunks_module.get_speech_timestamps

    def counting_collect(*args: Any, **kwargs: Any) -> Any:
        found = real_collect(*args, **kwargs)
        chunk_counts.append(len(found[1]))
        return found

    def counting_vad(samples: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        vad_runs.append(len(samples))
        return real_vad(samples, *args, **kwargs)

    pieces: list[tuple[int, str]] = []

    def recording_split(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for piece in split_pieces(*args, **kwargs):
            pieces.append((len(piece.samples), piece.cut))
            yield piece

    monkeypatch.setattr(whisper_module, "split_pieces", recording_split)
    monkeypatch.setattr(chunks_module, "collect_chunks", counting_collect)
    monkeypatch.setattr(chunks_module, "get_speech_timestamps", counting_vad)
    engine = WhisperTranscriber(ModelCatalog(models_dir), cpu_threads=2, piece_seconds=20 * period)
    run = engine.transcribe(audio, RecognitionSettings(model="tiny.en", beam_size=1, batch_size=2))
    phrases = list(run.phrases)
    text = words(" ".join(p.text for p in phrases))
    # tiny.en with beam 1 drops an "ask" here and there, in one piece or in many
    assert (text.count("fellow americans"), text.count("country can do for you")) == (24, 24), text
    assert run.duration == pytest.approx(24 * period, abs=0.05)
    assert len(chunk_counts) >= 2, chunk_counts
    assert batch_plan(chunk_counts[0], 2, 1)[-1] == 2, chunk_counts
    # 1 + 2 + 2 (+ 2): a first batch of one chunk, then full batches; never the buffer's last chunk
    assert chunk_counts[0] >= 5, chunk_counts
    assert chunk_counts[0] % 2 == 1, chunk_counts
    # faster-whisper's own VAD ran only on the last piece (the recording ended: no cut to place); the
    # first piece's speech is the one its cutter found
    assert [cut for _, cut in pieces] == ["cutter", "end"], pieces
    assert vad_runs == [pieces[1][0]], (vad_runs, pieces)
    country = [w.start for p in phrases for w in p.words if words(w.word) == "country"]
    assert len(country) == 48
    for later, earlier in zip(country[2:], country, strict=False):
        assert later - earlier == pytest.approx(period, abs=0.3), country


@pytest.mark.slow
@pytest.mark.parametrize("boundaries", ["words", "timestamps"])
def test_a_chunk_the_model_stops_reading_early_is_read_to_its_end(
    models_dir: Path, tmp_path: Path, boundaries: str
) -> None:
    """Real recordings joined without pauses (51 s, two chunks): decoded without timestamp tokens, the
    model read the second chunk's first sentence and stopped, 18 s of speech lost without a word
    (faster-whisper's own pipeline too). The end of every recording joined must be in the text."""
    samples, truth = conversation()
    audio = write_wav(samples, tmp_path / "joined.wav")
    engine = WhisperTranscriber(ModelCatalog(models_dir))
    settings = RecognitionSettings(model="base", beam_size=1, language="en", phrase_boundaries=boundaries)
    engine.load(settings)
    run = engine.transcribe(audio, settings)
    phrases = list(run.phrases)
    text = words(" ".join(p.text for p in phrases))
    assert "he began a confused complaint" in text, text  # the stereo file's left speaker, at 41-46 s
    assert "so my fellow americans" in text.split("he began a confused complaint")[1], text  # at 46-51 s
    assert phrases[-1].end > truth[-1][0] + 2, phrases[-1]
