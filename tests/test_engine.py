"""The engine adapter and model catalog with real models and real speech (no network)."""

from __future__ import annotations

import itertools
import re
import wave
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.transcribe import Word as FwWord

from tests.conftest import JFK_TEXT, espeak, repo_audio
from transcriber.decoding import SAMPLE_RATE, pcm_blocks
from transcriber.domain import Phrase, Word
from transcriber.engine import (
    WhisperTranscriber,
    collect_chunks_listing_all_speech,
    cuda_device_count,
    filled_chunks,
    piece_phrase,
    resolve_compute_type,
    unfinished_tail,
    unread_after,
)
from transcriber.errors import ModelUnavailable
from transcriber.model_catalog import BUNDLED, MARKER, BundledModel, ModelCatalog
from transcriber.pieces import AudioPiece
from transcriber.recognition import RecognitionSettings


def words(text: str) -> str:
    return " ".join(re.findall(r"[\w']+", text.lower()))


@pytest.fixture(scope="module")
def catalog(models_dir: Path) -> ModelCatalog:
    return ModelCatalog(models_dir)


@pytest.fixture(scope="module")
def engine(catalog: ModelCatalog) -> WhisperTranscriber:
    return WhisperTranscriber(catalog, cpu_threads=2)


def test_compute_type_defaults_by_device() -> None:
    assert resolve_compute_type("auto", "cpu") == "int8"
    assert resolve_compute_type("auto", "cuda") == "float16"
    assert resolve_compute_type("float16", "cpu") == "int8"
    assert resolve_compute_type("float32", "cpu") == "float32"


@pytest.mark.slow
def test_tiny_en_transcribes_real_speech(engine: WhisperTranscriber, speech_file: Path) -> None:
    settings = RecognitionSettings(model="tiny.en", beam_size=5)
    loaded = engine.load(settings)
    assert (loaded.device, loaded.compute_type, loaded.multilingual) == ("cpu", "int8", False)
    run = engine.transcribe(speech_file, settings)
    phrases = list(run.phrases)
    assert run.language == "en"
    assert JFK_TEXT in words(" ".join(p.text for p in phrases))
    assert all(0 <= p.start <= p.end <= run.duration + 0.5 for p in phrases)
    assert [p.start for p in phrases] == sorted(p.start for p in phrases)
    assert engine.load(settings) is loaded  # same settings: no reload


@pytest.mark.slow
def test_base_recognises_russian_speech(engine: WhisperTranscriber, tmp_path: Path) -> None:
    audio = espeak(
        "Добрый день. Это тестовый звонок в компанию. Пожалуйста, перезвоните мне завтра утром.",
        tmp_path / "ru.wav",
        voice="ru",
        speed=120,
    )
    settings = RecognitionSettings(model="base", language="ru", beam_size=5)
    run = engine.transcribe(audio, settings)
    text = words(" ".join(p.text for p in run.phrases))
    assert engine.loaded is not None
    assert engine.loaded.multilingual
    assert run.language == "ru"
    assert "тестовый звонок" in text


@pytest.mark.slow
def test_base_detects_language(engine: WhisperTranscriber, speech_file: Path) -> None:
    run = engine.transcribe(speech_file, RecognitionSettings(model="base", beam_size=1))
    assert run.language == "en"
    assert "your country" in words(" ".join(p.text for p in run.phrases))


def test_bundled_base_is_assembled_once_and_verified(catalog: ModelCatalog) -> None:
    path = catalog.prepare("base")
    assert (path / "model.bin").stat().st_size == 94371840 + 50845767
    assert (path / MARKER).is_file()
    mtime = (path / "model.bin").stat().st_mtime_ns
    assert catalog.prepare("base") == path
    assert (path / "model.bin").stat().st_mtime_ns == mtime
    names = {row["name"]: row["state"] for row in catalog.available()}
    assert names["base"] == "ready"


def test_damaged_bundled_model_is_refused(tmp_path: Path) -> None:
    base = BUNDLED["base"]
    damaged = BundledModel(name="base", description="", parts=base.parts, files=base.files, sha256="0" * 64)
    catalog = ModelCatalog(tmp_path)
    BUNDLED["base-damaged"] = damaged
    try:
        with pytest.raises(ModelUnavailable, match="damaged"):
            catalog.prepare("base-damaged")
    finally:
        del BUNDLED["base-damaged"]
    assert not (tmp_path / "base-damaged").exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_missing_model_says_how_to_provide_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    engine = WhisperTranscriber(ModelCatalog(tmp_path))
    with pytest.raises(ModelUnavailable) as info:
        engine.load(RecognitionSettings(model="large-v3", device="cpu"))
    message = info.value.detail
    assert "large-v3" in message
    assert "not available offline" in message
    assert str(tmp_path) in message


def test_model_directory_must_hold_a_model(tmp_path: Path) -> None:
    engine = WhisperTranscriber(ModelCatalog(tmp_path / "cache"))
    with pytest.raises(ModelUnavailable, match=r"model\.bin"):
        engine.load(RecognitionSettings(model=str(tmp_path), device="cpu"))


def test_untrusted_paths_only_inside_model_cache(tmp_path: Path) -> None:
    catalog = ModelCatalog(tmp_path / "cache")
    with pytest.raises(ModelUnavailable, match="inside"):
        catalog.check_name("/etc", trusted=False)
    catalog.check_name("/etc", trusted=True)
    catalog.check_name("large-v3", trusted=False)
    catalog.check_name(str(tmp_path / "cache" / "my-model"), trusted=False)


@pytest.mark.slow
def test_local_model_directory_loads(tmp_path: Path, catalog: ModelCatalog, speech_file: Path) -> None:
    directory = catalog.prepare("tiny.en")
    engine = WhisperTranscriber(ModelCatalog(tmp_path), trusted_paths=True)
    settings = RecognitionSettings(model=str(directory), device="cpu")
    run = engine.transcribe(speech_file, settings)
    assert JFK_TEXT in words(" ".join(p.text for p in run.phrases))


@pytest.mark.skipif(cuda_device_count() > 0, reason="this machine has a GPU")
def test_cuda_required_without_gpu_fails_clearly(engine: WhisperTranscriber) -> None:
    with pytest.raises(ModelUnavailable) as info:
        WhisperTranscriber(engine.catalog).load(RecognitionSettings(model="tiny.en", device="cuda"))
    assert "CUDA" in info.value.detail
    assert "WHISPER_DEVICE=cpu" in info.value.detail


def test_auto_device_falls_back_to_cpu(engine: WhisperTranscriber) -> None:
    loaded = WhisperTranscriber(engine.catalog).load(RecognitionSettings(model="tiny.en", device="auto"))
    assert loaded.device == ("cuda" if cuda_device_count() > 0 else "cpu")


class _PretendGpu(WhisperTranscriber):
    """Behaves as if CUDA were present, so CUDA's failure and the fallback really happen here."""

    def _devices(self, requested: str) -> list[str]:
        return ["cuda", "cpu"] if requested == "auto" else [requested]


@pytest.mark.skipif(cuda_device_count() > 0, reason="this machine has a GPU")
def test_auto_device_falls_back_when_cuda_fails(engine: WhisperTranscriber) -> None:
    loaded = _PretendGpu(engine.catalog).load(RecognitionSettings(model="tiny.en", device="auto"))
    assert (loaded.device, loaded.compute_type) == ("cpu", "int8")


@pytest.mark.slow
def test_batched_pipeline_transcribes_with_phrase_timestamps(
    engine: WhisperTranscriber, speech_file: Path
) -> None:
    settings = RecognitionSettings(model="tiny.en", beam_size=1, batch_size=4)
    run = engine.transcribe(speech_file, settings)
    phrases = list(run.phrases)
    assert JFK_TEXT in words(" ".join(p.text for p in phrases))
    assert all(0 <= p.start < p.end <= run.duration + 0.5 for p in phrases)
    assert [p.start for p in phrases] == sorted(p.start for p in phrases)


def test_phrases_are_kept_inside_their_piece() -> None:
    piece = AudioPiece(offset=100 * SAMPLE_RATE, samples=np.zeros(50 * SAMPLE_RATE, np.float32), cut="end")
    assert piece_phrase(48.0, 55.9, " last words ", piece) == Phrase(148.0, 150.0, "last words")
    assert piece_phrase(51.0, 52.0, "x", piece) == Phrase(150.0, 150.0, "x")
    assert piece_phrase(-0.2, 1.0, "y", piece) == Phrase(100.0, 101.0, "y")
    assert piece_phrase(5.0, 4.0, "z", piece) == Phrase(105.0, 105.0, "z")
    said = [FwWord(47.5, 48.2, " last", 0.9), FwWord(48.1, 56.0, " words", 0.8)]
    assert piece_phrase(48.0, 55.9, " last words ", piece, said) == Phrase(
        148.0, 150.0, "last words", (Word(148.0, 148.2, " last", 0.9), Word(148.1, 150.0, " words", 0.8))
    )
    backwards = [FwWord(2.0, 2.5, " a", 0.5), FwWord(1.5, 1.8, " b", 0.5)]  # made to keep the order
    assert [w.start for w in piece_phrase(1.0, 3.0, "a b", piece, backwards).words] == [102.0, 102.0]


def test_unfinished_last_segment_of_a_batched_chunk_is_found() -> None:
    t = 50000  # first timestamp token; positions count 20 ms steps

    def ts(seconds: float) -> int:
        return t + round(seconds / 0.02)

    closed = [ts(0), 1, 2, ts(2), ts(2), 3, 4, ts(4)]
    assert unfinished_tail(closed, t) is None
    assert unfinished_tail([1, 2, 3], t) is None  # no timestamps: faster-whisper keeps it whole
    assert unfinished_tail([ts(0), 1, 2, ts(2)], t) is None  # one segment, closed
    assert unfinished_tail([ts(0), 1, ts(2), ts(2), 5, 6], t) == (100, [5, 6])
    assert unfinished_tail([ts(0), 1, ts(2), ts(2), 5, ts(3), 6], t) == (100, [5, 6])
    assert unfinished_tail([ts(0), 1, ts(2), ts(2)], t) is None


GAP_SECONDS = 3.0


def test_a_chunk_the_model_stopped_reading_early_is_found() -> None:
    t = 50000

    def ts(seconds: float) -> int:
        return t + round(seconds / 0.02)

    # "... substantial<|26.16|><|26.16|>": a segment closed, the next opened, then the end of text
    assert unread_after([ts(0), 1, 2, ts(26.16), ts(26.16)], t) == 1308
    assert unread_after([ts(0), 1, 2, ts(26.16)], t) is None  # a closed last segment: all was read
    assert unread_after([ts(0), 1, ts(2), ts(2), 5, 6], t) is None  # unfinished text: unfinished_tail
    assert unread_after([], t) is None


def test_every_chunk_lists_all_of_its_speech() -> None:
    """faster-whisper 1.2.1 leaves the segment that opens each later chunk out of its list; the wrapper
    lists it, with the audio and offsets unchanged (speech that leaves no room worth filling: no split)."""
    import faster_whisper.transcribe
    from faster_whisper.vad import collect_chunks

    rate = 100
    audio = np.arange(100 * rate, dtype=np.float32)
    spans = [(0, 13), (14, 29), (30, 41), (45, 50), (52, 66), (67, 92), (93, 94)]  # seconds
    vad = [{"start": a * rate, "end": b * rate} for a, b in spans]
    original = collect_chunks(audio, [dict(s) for s in vad], rate, max_duration=30)
    audio_chunks, metadata = collect_chunks_listing_all_speech(audio, [dict(s) for s in vad], rate, 30)
    assert [m["offset"] for m in metadata] == [m["offset"] for m in original[1]]
    assert [m["duration"] for m in metadata] == [m["duration"] for m in original[1]]
    assert all(np.array_equal(a, b) for a, b in zip(audio_chunks, original[0], strict=True))
    listed = [[(s["start"] // rate, s["end"] // rate) for s in m["segments"]] for m in metadata]
    assert listed == [[(0, 13), (14, 29)], [(30, 41), (45, 50), (52, 66)], [(67, 92), (93, 94)]]
    assert [len(m["segments"]) for m in original[1]] == [2, 2, 1], "faster-whisper was fixed"
    assert sum(a.size for a in audio_chunks) == sum(b - a for a, b in spans) * rate
    assert faster_whisper.transcribe.collect_chunks is collect_chunks_listing_all_speech


def test_chunks_are_filled_by_splitting_speech_at_its_quietest_point() -> None:
    """A segment that does not fit in the chunk's room is split at its quietest 20 ms in the last 3 s
    before the chunk's end: chunks come out full, the audio and the time line are unchanged."""
    rate = 16_000
    rng = np.random.default_rng(7)
    audio = (rng.standard_normal(100 * rate) * 0.3).astype(np.float32)
    quiet = int(38.2 * rate)  # a pause inside the second segment, 28.2 s into its chunk
    audio[quiet : quiet + rate // 10] *= 0.001
    spans = [(0, 20), (30, 60), (61, 75), (76, 77.5)]  # seconds; 20 + 30 do not fit in 30
    vad = [{"start": int(a * rate), "end": int(b * rate)} for a, b in spans]
    parts = filled_chunks(audio, [dict(s) for s in vad], rate, 30.0)
    cuts = [(p["start"] / rate, p["end"] / rate) for p in parts]
    assert cuts[0] == (0.0, 20.0)
    assert 38.2 <= cuts[1][1] <= 38.3, cuts  # the quiet stretch, not the room's last sample
    for a, b in spans:  # each segment's parts are contiguous and make up the segment
        mine = [(x, y) for x, y in cuts if a <= x < b]
        assert mine[0][0] == a
        assert mine[-1][1] == b
        assert all(y == x2 for (_, y), (x2, _) in itertools.pairwise(mine))
    audio_chunks, metadata = collect_chunks_listing_all_speech(audio, [dict(s) for s in vad], rate, 30)
    durations = [m["duration"] for m in metadata]
    assert len(durations) == 3, durations  # without the split: 20, 30 (60 - 30), 14 + 1.5
    assert 28.2 <= durations[0] <= 28.3
    assert 27.0 <= durations[1] <= 30.0
    assert np.array_equal(
        np.concatenate(audio_chunks), np.concatenate([audio[s["start"] : s["end"]] for s in vad])
    )
    # no room worth filling (under 3 s), or a rest under 1 s: nothing is split
    tight = [{"start": 0, "end": 28 * rate}, {"start": 29 * rate, "end": 40 * rate}]
    assert filled_chunks(audio, [dict(s) for s in tight], rate, 30.0) == tight
    short_rest = [{"start": 0, "end": 20 * rate}, {"start": 21 * rate, "end": int(31.5 * rate)}]
    assert filled_chunks(audio, [dict(s) for s in short_rest], rate, 30.0) == short_rest
    # sequential decoding packs everything in one chunk: nothing to fill
    assert filled_chunks(audio, [dict(s) for s in vad], rate, float("inf")) == vad


@pytest.mark.slow
@pytest.mark.parametrize("boundaries", ["timestamps", "words"])
def test_batched_decoding_reads_chunks_to_their_end(
    catalog: ModelCatalog, tmp_path: Path, boundaries: str
) -> None:
    """jfk.flac and the English part of multilingual.mp3, twice: with timestamp tokens faster-whisper's
    batched decoder stops before "portions of the software" at the end of the second clip (it opens a
    segment and ends), and the engine decodes that rest once more; without them (phrases cut at the
    words) the same chunks are read to their end."""
    jfk = np.concatenate(list(pcm_blocks(repo_audio("jfk.flac"))))
    mit = np.concatenate(list(pcm_blocks(repo_audio("multilingual.mp3"))))[: int(29.6 * SAMPLE_RATE)]
    gap = np.zeros(SAMPLE_RATE, dtype=np.int16)
    audio = tmp_path / "two.wav"
    with wave.open(str(audio), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(np.concatenate([jfk, gap, mit, gap] * 2).tobytes())
    engine = WhisperTranscriber(catalog, cpu_threads=2)
    settings = RecognitionSettings(model="base", language="en", batch_size=8, phrase_boundaries=boundaries)
    run = engine.transcribe(audio, settings)
    phrases = list(run.phrases)
    text = words(" ".join(p.text for p in phrases))
    assert text.count("portions of the software") == 2, text
    # the text decoded once more, and the tails after a chunk's last timestamp, have their words too
    assert_words_inside_phrases(phrases)
    portions = [w for p in phrases for w in p.words if words(w.word) == "portions"]
    assert len(portions) == 2
    period = (len(jfk) + len(gap) + len(mit) + len(gap)) / SAMPLE_RATE
    assert portions[1].start - portions[0].start == pytest.approx(period, abs=0.3)


def repeated_speech(speech: Path, out: Path, times: int) -> tuple[Path, float]:
    """``speech`` ``times`` over with GAP_SECONDS of silence after each, as a 16 kHz WAV; and the
    length of one repetition with its gap."""
    clip = np.concatenate(list(pcm_blocks(speech)))
    gap = np.zeros(int(GAP_SECONDS * SAMPLE_RATE), dtype=np.int16)
    samples = np.concatenate([part for _ in range(times) for part in (clip, gap)])
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.tobytes())
    return out, (len(clip) + len(gap)) / SAMPLE_RATE


def piece_ending_in_second_gap(period: float) -> float:
    """A piece length whose cut search (its last twentieth) lies in the silence after the 2nd clip."""
    piece = 2 * period - 1.0
    assert piece / 20 < GAP_SECONDS - 1.0
    return piece


@pytest.mark.slow
@pytest.mark.parametrize("batch_size", [0, 4])
def test_long_audio_is_transcribed_in_pieces_with_file_times(
    catalog: ModelCatalog, speech_file: Path, tmp_path: Path, batch_size: int
) -> None:
    audio, period = repeated_speech(speech_file, tmp_path / "three.wav", times=3)
    engine = WhisperTranscriber(
        catalog, cpu_threads=2, piece_seconds=piece_ending_in_second_gap(period), even_pieces=False
    )
    run = engine.transcribe(audio, RecognitionSettings(model="tiny.en", beam_size=1, batch_size=batch_size))
    assert run.duration == pytest.approx(3 * period, abs=0.05)
    phrases = list(run.phrases)
    assert run.duration == 3 * period  # the decoded length, exactly, once all is read
    text = words(" ".join(p.text for p in phrases))
    assert text.count(JFK_TEXT) == 3
    assert [p.start for p in phrases] == sorted(p.start for p in phrases)
    assert all(0 <= p.start <= p.end <= run.duration for p in phrases)
    # the cut lies in the silence after the second clip, in the piece's last twentieth; the third
    # repetition is decoded as the second piece, and its phrases are shifted to the file's time
    piece = piece_ending_in_second_gap(period)
    cut_after = piece - piece / 20
    second = [p for p in phrases if p.start >= cut_after]
    assert JFK_TEXT in words(" ".join(p.text for p in second)), [(p.start, p.text) for p in phrases]
    assert all(p.end <= piece for p in phrases if p.start < cut_after)
    # word timings by default, inside their phrase and in order, in the file's time across pieces:
    # each repetition's two "country" are one period after the previous repetition's
    assert_words_inside_phrases(phrases)
    country = [w.start for p in phrases for w in p.words if words(w.word) == "country"]
    assert len(country) == 6, [(w.word, w.start) for p in phrases for w in p.words]
    for later, earlier in zip(country[2:], country, strict=False):
        assert later - earlier == pytest.approx(period, abs=0.3), country
    assert country[4] > piece  # the third repetition was decoded in the second piece


def assert_words_inside_phrases(phrases: list[Phrase]) -> None:
    """Every phrase with text has words that make up its text, inside its span and in order."""
    for phrase in phrases:
        assert phrase.words, phrase
        assert words("".join(w.word for w in phrase.words)) == words(phrase.text), phrase
        assert all(phrase.start <= w.start <= w.end <= phrase.end for w in phrase.words), phrase
        starts = [w.start for w in phrase.words]
        assert starts == sorted(starts), phrase
        assert all(0.0 <= w.probability <= 1.0 for w in phrase.words)


@pytest.mark.slow
@pytest.mark.parametrize("batch_size", [0, 4])
def test_word_timestamps_can_be_turned_off(
    engine: WhisperTranscriber, speech_file: Path, batch_size: int
) -> None:
    settings = RecognitionSettings(model="tiny.en", beam_size=1, batch_size=batch_size, word_timestamps=False)
    phrases = list(engine.transcribe(speech_file, settings).phrases)
    assert JFK_TEXT in words(" ".join(p.text for p in phrases))
    assert all(p.words == () for p in phrases)


@pytest.mark.slow
def test_phrases_can_end_at_the_words_instead_of_timestamp_tokens(
    engine: WhisperTranscriber, speech_file: Path, tmp_path: Path
) -> None:
    # jfk.flac three times with pauses: one batched chunk of 30 s or so, decoded without timestamp tokens
    audio, _ = repeated_speech(speech_file, tmp_path / "three.wav", times=3)
    settings = RecognitionSettings(model="tiny.en", beam_size=1, phrase_boundaries="words")
    phrases = list(engine.transcribe(audio, settings).phrases)
    assert words(" ".join(p.text for p in phrases)).count(JFK_TEXT) == 3
    assert_words_inside_phrases(phrases)
    assert len(phrases) >= 3, [p.text for p in phrases]
    assert all(p.end - p.start <= 10.0 for p in phrases), [(p.start, p.end) for p in phrases]
    for phrase in phrases:  # no phrase runs over a pause of a second
        pauses = [b.start - a.end for a, b in zip(phrase.words, phrase.words[1:], strict=False)]
        assert max(pauses, default=0.0) < 1.0, phrase
    # without word timings there is nothing to cut at: the timestamp tokens are used
    plain = list(engine.transcribe(audio, settings.model_copy(update={"word_timestamps": False})).phrases)
    assert words(" ".join(p.text for p in plain)).count(JFK_TEXT) == 3
    assert len(plain) >= 3


@pytest.mark.slow
def test_language_is_detected_once_and_kept_for_later_pieces(
    catalog: ModelCatalog, speech_file: Path, tmp_path: Path
) -> None:
    audio, period = repeated_speech(speech_file, tmp_path / "three.wav", times=3)
    engine = WhisperTranscriber(
        catalog, cpu_threads=2, piece_seconds=piece_ending_in_second_gap(period), even_pieces=False
    )
    run = engine.transcribe(audio, RecognitionSettings(model="base", beam_size=1))
    assert run.language == "en"
    assert words(" ".join(p.text for p in run.phrases)).count(JFK_TEXT) == 3


def test_audio_without_decodable_samples_gives_no_phrases(engine: WhisperTranscriber, tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
    run = engine.transcribe(empty, RecognitionSettings(model="tiny.en"))
    assert (run.duration, list(run.phrases)) == (0.0, [])


@pytest.mark.slow
@pytest.mark.parametrize("batch_size", [0, 2])
def test_decode_progress_reports_real_checkpoints_and_the_step_under_way(
    catalog: ModelCatalog, speech_file: Path, tmp_path: Path, batch_size: int
) -> None:
    """Each phrase handed out starts before the engine's real checkpoint (Whisper may end one a little
    past the speech VAD found); the step under way never ends
    before it; both end at the recording's end, across pieces. Batched: the first piece holds at least
    four chunks (two or three clips each), two full batches of 2, so its first batch is one chunk and
    the first checkpoint comes after one chunk, not after ``batch_size`` of them (the piece ends after
    an odd number of chunks, 1 + 2 + 2...: see test_batch_pieces)."""
    audio, period = repeated_speech(speech_file, tmp_path / "many.wav", times=24)
    piece = 20 * period  # 20 clips: 6 to 8 chunks of 30 s of speech, more than two full batches of 2
    engine = WhisperTranscriber(catalog, cpu_threads=2, piece_seconds=piece, even_pieces=False)
    run = engine.transcribe(audio, RecognitionSettings(model="tiny.en", beam_size=1, batch_size=batch_size))
    seen: list[tuple[float, float, float]] = []
    for phrase in run.phrases:
        seen.append((phrase.start, run.progress.decoded, run.progress.decoding))
    assert seen
    assert all(start <= decoded <= decoding for start, decoded, decoding in seen), seen
    checkpoints = [decoded for _, decoded, _ in seen]
    assert checkpoints == sorted(checkpoints)
    assert len(set(checkpoints)) >= 3, checkpoints
    assert run.progress.decoded == run.progress.decoding == run.duration
    if batch_size:  # one chunk is at most 30 s of speech: the first piece holds more than that
        assert checkpoints[0] < piece / 3, "the first batch held more than one chunk"


@pytest.mark.slow
def test_a_recording_shorter_than_two_batches_is_decoded_without_a_small_first_batch(
    catalog: ModelCatalog, speech_file: Path, tmp_path: Path
) -> None:
    """Splitting off a one-chunk batch costs more than 3 % of a recording of fewer than two batches
    (bench/progress.py): five clips (two or three chunks) with a batch of 4 are decoded together, one
    checkpoint when they are done."""
    audio, period = repeated_speech(speech_file, tmp_path / "five.wav", times=5)
    engine = WhisperTranscriber(catalog, cpu_threads=2)
    run = engine.transcribe(audio, RecognitionSettings(model="tiny.en", beam_size=1, batch_size=4))
    checkpoints = [run.progress.decoded for _ in run.phrases]
    assert len(checkpoints) >= 5, "each clip gives phrases"
    assert len(set(checkpoints)) == 1, f"more than one batch: {checkpoints}"
    assert checkpoints[0] > 4 * period, "the first phrases came before the whole batch was decoded"
