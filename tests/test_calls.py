"""A stereo call transcribed by channel (real speech): each party's sentence comes out once, with its
speaker, even when each channel carries some of the other; one signal stored as stereo stays mono."""

from __future__ import annotations

import json
import re
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import real_harness, repo_audio
from transcriber.config import Settings
from transcriber.decoding import SAMPLE_RATE, DecodeLimits, pcm_blocks
from transcriber.domain import Phrase, Word
from transcriber.engine import WhisperTranscriber
from transcriber.engine.calls import (
    Interleaved,
    Span,
    split_call,
    split_decision,
    stereo_channels,
    stream_format,
)
from transcriber.engine.options import NARROWBAND_VAD_THRESHOLD, decode_options
from transcriber.engine.segments import speech_spans
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings
from transcriber.transcription import TranscriptionRun

LEFT = "complaint against the wizard"  # the left channel's sentence (tests/data/SOURCES.md)
RIGHT = "horizon seems extremely distant"  # the right channel's


def words(text: str) -> str:
    return " ".join(re.findall(r"[\w']+", text.lower()))


def write_stereo(path: Path, left: np.ndarray, right: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(np.stack([left, right], axis=1).astype(np.int16).tobytes())
    return path


def call(tmp_path: Path, bleed: float = 0.0) -> Path:
    """The repository's stereo recording, 3 s of silence added on each end, each channel carrying
    ``bleed`` of the other."""
    pcm = np.concatenate(list(pcm_blocks(repo_audio("stereo_diarization.wav"), stereo=True))).astype(
        np.float64
    )
    pad = np.zeros((3 * SAMPLE_RATE, 2))
    pcm = np.concatenate([pad, pcm, pad])
    left, right = pcm[:, 0] + bleed * pcm[:, 1], pcm[:, 1] + bleed * pcm[:, 0]
    return write_stereo(
        tmp_path / f"call-{bleed}.wav", np.clip(left, -32768, 32767), np.clip(right, -32768, 32767)
    )


@pytest.fixture(scope="module")
def engine(models_dir: Path) -> WhisperTranscriber:
    return WhisperTranscriber(ModelCatalog(models_dir), cpu_threads=2)


def test_only_a_two_party_stereo_file_is_split(tmp_path: Path) -> None:
    limits = DecodeLimits()
    assert stereo_channels(repo_audio("stereo_diarization.wav")) == 2
    assert stereo_channels(repo_audio("multilingual.mp3")) == 1
    assert split_decision(repo_audio("stereo_diarization.wav"), "auto", limits)[0] is True
    assert split_decision(repo_audio("jfk.flac"), "auto", limits) == (
        False,
        "the channels carry the same signal (correlation 1.00)",
    )
    assert split_decision(repo_audio("jfk.flac"), "split", limits)[0] is True
    assert split_decision(repo_audio("stereo_diarization.wav"), "mix", limits)[0] is False
    assert split_decision(repo_audio("multilingual.mp3"), "split", limits)[0] is False
    broken = tmp_path / "not-audio.wav"
    broken.write_bytes(b"RIFF")
    assert stereo_channels(broken) == 0


@pytest.mark.slow
@pytest.mark.parametrize("bleed", [0.0, 0.2])
def test_each_party_of_a_call_is_transcribed_once_with_its_speaker(
    engine: WhisperTranscriber, tmp_path: Path, bleed: float
) -> None:
    audio = call(tmp_path, bleed)
    settings = RecognitionSettings(model="base", beam_size=5, language="en")
    mixed = list(engine.transcribe(audio, settings.model_copy(update={"channels": "mix"})).phrases)
    assert {p.speaker for p in mixed} == {None}
    run = engine.transcribe(audio, settings.model_copy(update={"channels": "auto"}))
    phrases = list(run.phrases)
    assert [p.start for p in phrases] == sorted(p.start for p in phrases)
    by_speaker = {s: words(" ".join(p.text for p in phrases if p.speaker == s)) for s in ("S1", "S2")}
    assert LEFT in by_speaker["S1"], by_speaker
    assert RIGHT in by_speaker["S2"], by_speaker
    assert "wizard" not in by_speaker["S2"], by_speaker  # the bleed is not written twice
    assert "horizon" not in by_speaker["S1"], by_speaker
    assert {p.speaker for p in phrases} == {"S1", "S2"}
    assert all(2.5 <= p.start <= p.end <= 8.5 for p in phrases), [(p.start, p.end) for p in phrases]
    assert run.progress.decoded == run.progress.decoding == pytest.approx(run.duration)
    assert run.duration == pytest.approx(11.0, abs=0.01)
    assert all(p.words for p in phrases)


@pytest.mark.slow
def test_one_signal_stored_as_stereo_is_transcribed_once(engine: WhisperTranscriber) -> None:
    settings = RecognitionSettings(model="tiny.en", beam_size=1, channels="auto")
    phrases = list(engine.transcribe(repo_audio("jfk.flac"), settings).phrases)
    assert {p.speaker for p in phrases} == {None}
    assert "ask not what your country" in words(" ".join(p.text for p in phrases))


@pytest.mark.slow
def test_a_call_task_shows_each_phrases_speaker(settings: Settings, models_dir: Path, tmp_path: Path) -> None:
    audio = call(tmp_path, 0.2)
    with real_harness(settings, models_dir) as harness:
        # auto, the default; the operator on the left channel, the client unnamed
        split = harness.transcribe(audio, model="base", language="en", speaker_names="Оператор")
        task = split["task_id"]
        exported = {fmt: harness.client.get(f"/export/{task}.{fmt}").text for fmt in ("json", "txt", "vtt")}
        renamed = harness.client.patch(
            f"/api/v1/tasks/{task}", json={"speakers": [{"id": "S2", "name": "Иван"}]}
        )
        srt = harness.client.get(f"/export/{task}.srt").text
        unknown = harness.client.patch(
            f"/api/v1/tasks/{task}", json={"speakers": [{"id": "S7", "name": "Кто"}]}
        )
        broken = harness.client.patch(
            f"/api/v1/tasks/{task}", json={"speakers": [{"id": "S1", "name": "a\nb"}]}
        )
        mixed = harness.transcribe(audio, model="base", language="en", channels="mix")
        no_speakers = harness.client.patch(
            f"/api/v1/tasks/{mixed['task_id']}", json={"speakers": [{"id": "S1", "name": "Оператор"}]}
        )
        upload = harness.upload(audio)
        refused = harness.client.post(
            "/api/v1/create_task", json={"upload_id": upload["id"], "channels": "both"}
        )
    assert split["status"] == "COMPLETED", split
    phrases = split["results"]["phrases"]
    spoken = {s: words(" ".join(p["text"] for p in phrases if p["speaker"] == s)) for s in ("S1", "S2")}
    assert LEFT in spoken["S1"], spoken
    assert RIGHT in spoken["S2"], spoken
    assert split["speakers"] == [
        {"id": "S1", "name": "Оператор", "channel": 0},
        {"id": "S2", "name": "Спикер 2", "channel": 1},
    ]
    assert {(p["speaker"], p["speaker_name"]) for p in phrases} == {("S1", "Оператор"), ("S2", "Спикер 2")}
    document = json.loads(exported["json"])
    assert [p["speaker"] for p in document["phrases"]] == [p["speaker"] for p in phrases]
    assert [s["name"] for s in document["speakers"]] == ["Оператор", "Спикер 2"]
    txt = exported["txt"].splitlines()
    assert len(txt) == len(phrases)
    assert all(re.fullmatch(r"\[\d\d:\d\d:\d\d\] (Оператор|Спикер 2): .+", line) for line in txt), txt
    assert "<v Оператор>" in exported["vtt"]
    assert "<v Спикер 2>" in exported["vtt"]
    # renamed: the task and every export show the new name at once
    assert renamed.status_code == 200, renamed.text
    assert [s["name"] for s in renamed.json()["speakers"]] == ["Оператор", "Иван"]
    assert {p["speaker_name"] for p in renamed.json()["results"]["phrases"]} == {"Оператор", "Иван"}
    assert "\nИван: " in srt
    assert "Спикер 2" not in srt
    assert (unknown.status_code, unknown.json()["code"]) == (422, "invalid_speaker"), unknown.text
    assert "S1, S2" in unknown.json()["detail"]
    assert broken.status_code == 422, broken.text
    # mixed to mono: the seed's phrase shape, no speaker, nothing to rename
    assert mixed["status"] == "COMPLETED", mixed
    assert all("speaker" not in p for p in mixed["results"]["phrases"])
    assert mixed["speakers"] == []
    assert no_speakers.status_code == 409, no_speakers.text
    assert refused.status_code == 422, refused.text
    assert "channels" in refused.text


def telephone(samples: np.ndarray, path: Path) -> Path:
    """``samples`` (16 kHz float) as an 8 kHz G.711 μ-law WAV, the way a PBX records a call."""
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_mulaw", rate=8000, layout="mono")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            (samples * 32767).astype(np.int16)[None, :], format="s16", layout="mono"
        )
        frame.sample_rate = 16000
        for part in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(part):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_telephone_audio_gets_a_vad_threshold_that_hears_all_of_its_speech(tmp_path: Path) -> None:
    pcm = np.concatenate(list(pcm_blocks(repo_audio("stereo_diarization.wav"), stereo=True)))
    left = pcm[:, 0].astype(np.float32) / 32768.0
    phone = telephone(left, tmp_path / "left-8k.wav")
    assert stream_format(phone) == (1, 8000)
    assert stream_format(repo_audio("stereo_diarization.wav")) == (2, 16000)
    heard = np.concatenate(list(pcm_blocks(phone))).astype(np.float32) / 32768.0

    def speech(samples: np.ndarray, threshold: float) -> np.ndarray:
        mask = np.zeros(len(left), dtype=bool)
        for a, b in speech_spans(300, threshold)(samples[: len(left)]):
            mask[a:b] = True
        return mask

    wideband = speech(left, 0.5)  # what the VAD hears in the 16 kHz original

    def recall(threshold: float) -> float:
        return float((speech(heard, threshold) & wideband).sum() / wideband.sum())

    assert recall(0.5) < 0.95  # the default misses some of the party's speech on the telephone
    assert recall(NARROWBAND_VAD_THRESHOLD) >= 0.99
    vad = decode_options(RecognitionSettings(), multilingual=True, narrowband=True)["vad_parameters"]
    assert vad["threshold"] == NARROWBAND_VAD_THRESHOLD
    assert "threshold" not in decode_options(RecognitionSettings(), multilingual=True)["vad_parameters"]


def test_a_calls_two_parties_go_through_one_stream_and_come_back_in_file_time() -> None:
    """12 minutes of a call, three parts (about 5, 5 and 2 minutes): each party's speech alone in the stream,
    31 s of silence between the parties; words placed back in the file's time, each part's in order."""
    rate = SAMPLE_RATE
    clip = np.concatenate(list(pcm_blocks(repo_audio("hotwords.mp3"))))  # 4 s of speech
    stereo = np.zeros((12 * 60 * rate, 2), dtype=np.int16)
    said = {(0, 10), (1, 100), (0, 400), (1, 650)}  # (channel, second) where each party speaks
    for channel, second in said:
        stereo[second * rate : second * rate + len(clip), channel] = clip
    blocks = (stereo[i : i + 6 * rate] for i in range(0, len(stereo), 6 * rate))
    stream = Interleaved()
    out = np.concatenate(list(stream.blocks(blocks, speech_spans(300))))
    assert sum(s.length for s in stream.spans) < 20 * rate  # 16 s of speech, not 24 minutes
    assert len(out) < (20 + 6 * 31.5) * rate  # and a gap after each party's part
    heard = {(s.channel, round(s.file_start / rate)) for s in stream.spans}
    assert {(c, t) for c, t in heard} == said, heard  # hotwords.mp3 speaks from its start
    # a part ends in the middle of the longest silence of its last 20 s (here all of them are silent)
    assert [s.pair[0] // rate for s in stream.spans] == [0, 0, 290, 580]
    for span in stream.spans:  # the stream holds the file's samples of that party
        original = stereo[span.file_start : span.file_start + span.length, span.channel]
        assert np.array_equal(out[span.start : span.start + span.length], original)

    def at(span_index: int, offset: float, text: str) -> Phrase:
        start = stream.spans[span_index].start / rate + offset
        return Phrase(start - 0.1, start + 1.0, text, (Word(start, start + 0.5, f" {text}", 0.9),))

    # decoded in the stream's order: the left party's speech of a part, then the right party's
    decoded = [at(0, 1.0, "l1"), at(1, 0.5, "r1"), at(2, 2.0, "l2"), at(3, 0.2, "r2")]
    run = TranscriptionRun("en", 1.0, Interleaved.seconds(720), iter(decoded))
    call = split_call(run, stream, 720.0, "Оператор")
    phrases = list(call.phrases)
    first = {
        t: min(s.file_start for s in stream.spans if round(s.file_start / rate) == t) / rate for _, t in said
    }
    assert [(p.text, p.speaker) for p in phrases] == [("l1", "S1"), ("r1", "S2"), ("l2", "S1"), ("r2", "S2")]
    assert phrases[0].start == pytest.approx(first[10] + 1.0)
    assert phrases[3].words[0].start == pytest.approx(first[650] + 0.2)
    assert [s.name for s in call.speakers] == ["Оператор", "Спикер 2"]
    assert call.progress.decoded == 720.0


def test_a_phrase_over_two_turns_of_one_party_is_cut_between_them() -> None:
    rate = SAMPLE_RATE
    clip = np.concatenate(list(pcm_blocks(repo_audio("hotwords.mp3"))))
    stereo = np.zeros((60 * rate, 2), dtype=np.int16)
    for second in (5, 20):  # the left party speaks twice; the right one (silent here) would between
        stereo[second * rate : second * rate + len(clip), 0] = clip
    stream = Interleaved()
    list(stream.blocks(iter([stereo]), speech_spans(300)))
    first, second = (s for s in stream.spans if s.channel == 0)
    assert second.start - (first.start + first.length) < rate  # side by side in the stream

    def word(span: Span, offset: float, text: str) -> Word:
        at = span.start / rate + offset
        return Word(at, at + 0.4, f" {text}", 0.9)

    words = (word(first, 1.0, "one"), word(first, 2.0, "two"), word(second, 0.5, "three"))
    phrase = Phrase(words[0].start, words[-1].end, "one two three", words)
    run = TranscriptionRun("en", 1.0, 60.0, iter([phrase]))
    parts = list(split_call(run, stream, 60.0).phrases)
    assert [(p.text, p.speaker) for p in parts] == [("one two", "S1"), ("three", "S1")]
    assert parts[0].start == pytest.approx(first.file_start / rate + 1.0)
    assert parts[1].start == pytest.approx(second.file_start / rate + 0.5)
    assert parts[1].start > 19
