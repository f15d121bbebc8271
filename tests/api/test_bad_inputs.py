"""A corpus of bad and unusual inputs, each with the answer it must get. None may give a 500, leave a task
stuck, or lose an earlier upload or task. Transcription cases run the real tiny.en model in-process."""

from __future__ import annotations

import json
import math
import os
import struct
import wave
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Harness, espeak, real_harness
from transcriber.api import create_app
from transcriber.config import Settings


def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


def tone(seconds: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (6000 * np.sin(2 * math.pi * 440 * t)).astype(np.int16)


def encode(path: Path, container: str, codec: str, *, video: bool, audio: bool) -> Path:
    with av.open(str(path), "w", format=container) as out:
        if video:
            vstream = out.add_stream("mpeg4", rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 64, "yuv420p"
        if audio:
            astream = out.add_stream(codec, rate=16000)
            astream.layout = "mono"
        for i in range(10):
            if video:
                frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 20, np.uint8), format="rgb24")
                out.mux(vstream.encode(frame.reformat(format="yuv420p")))
        if audio:
            samples = tone(1.0).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
            frame.sample_rate = 16000
            out.mux(astream.encode(frame))
            out.mux(astream.encode(None))
        if video:
            out.mux(vstream.encode(None))
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    files = {
        "empty.mp3": b"",
        "random.mp3": os.urandom(20_000),
        "notes.wav": "Это текстовый файл, а не звук.\n".encode() * 40,
        "image.png": b"\x89PNG\r\n\x1a\n" + os.urandom(500),
    }
    paths = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths[name] = folder / name
    mp3 = encode(folder / "full.mp3", "mp3", "mp3", video=False, audio=True)
    paths["truncated.mp3"] = folder / "truncated.mp3"
    paths["truncated.mp3"].write_bytes(mp3.read_bytes()[: mp3.stat().st_size // 2])
    paths["video.mp4"] = encode(folder / "video.mp4", "mp4", "aac", video=True, audio=True)
    paths["silent-video.mp4"] = encode(folder / "silent-video.mp4", "mp4", "aac", video=True, audio=False)
    short = write_wav(folder / "short.wav", tone(2.0), 16000)
    lying = bytearray(short.read_bytes())
    claimed = 16000 * 2 * 3 * 3600
    lying[4:8], lying[40:44] = struct.pack("<I", claimed + 36), struct.pack("<I", claimed)
    paths["lying-header.wav"] = folder / "lying-header.wav"
    paths["lying-header.wav"].write_bytes(bytes(lying))
    paths["silence.wav"] = write_wav(folder / "silence.wav", np.zeros(16000 * 5, np.int16), 16000)
    paths["tenth.wav"] = write_wav(folder / "tenth.wav", tone(0.1), 16000)
    return paths


REJECTED = {
    "empty.mp3": (400, "empty_file"),
    "random.mp3": (415, "unsupported_media"),
    "notes.wav": (415, "unsupported_media"),
    "image.png": (415, "unsupported_media"),
    "silent-video.mp4": (415, "unsupported_media"),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_at_upload_with_a_clear_message(
    harness: Harness, corpus: dict[str, Path], name: str
) -> None:
    kept = harness.upload(corpus["silence.wav"])
    response = harness.client.post("/api/v1/upload", files={"file": (name, corpus[name].read_bytes())})
    status, code = REJECTED[name]
    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert [f["id"] for f in harness.client.get("/api/v1/uploads").json()["files"]] == [kept["id"]]
    assert list(harness.services.storage.incoming_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "duration"),
    [("truncated.mp3", None), ("video.mp4", 1.0), ("lying-header.wav", 2.0), ("tenth.wav", 0.1)],
)
def test_accepted_with_a_true_duration(
    harness: Harness, corpus: dict[str, Path], name: str, duration: float | None
) -> None:
    body = harness.upload(corpus[name], name=name)
    if duration is not None:
        assert abs(float(body["duration"]) - duration) < 0.15  # type: ignore[arg-type]
    else:
        assert 0 < float(body["duration"]) < 1.0  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    [
        "Совещание отдела продаж 2026-11-24.mp3",
        "запись 🎙️ звонка 😀.wav",
        "x" * 400 + ".wav",
        "\"quoted\" 'name' \\ back`tick`.wav",
        "CON.wav",
        "line\r\nbreak\x00nul.wav",
    ],
)
def test_awkward_file_names_survive_as_display_data(
    harness: Harness, corpus: dict[str, Path], name: str
) -> None:
    body = harness.upload(corpus["silence.wav"], name=name)
    assert "\n" not in str(body["name"])
    assert "\x00" not in str(body["name"])
    stored = Path(str(body["stored_path"]))
    assert stored.parent == harness.services.storage.root
    assert stored.name == f"{body['id']}.wav", "stored under the extension of its content (WAV)"
    task = harness.client.post("/api/v1/create_task", json={"upload_id": body["id"]}).json()["task_id"]
    harness.drain()
    exported = harness.client.get(f"/export/{task}.srt")
    assert exported.status_code == 200
    disposition = exported.headers["content-disposition"]
    assert "\r" not in disposition
    assert "\n" not in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]).endswith(".srt")


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/v1/create_task", b"{not json", 422),
        ("POST", "/api/v1/create_task", b"[]", 422),
        ("POST", "/api/v1/create_task", b'{"file_path": 12}', 422),
        ("POST", "/api/v1/settings", '{"WHISPER_BEAM": "много"}'.encode(), 422),
        ("POST", "/api/v1/settings", b"null", 422),
        ("GET", "/api/v1/status/not-a-task", None, 404),
        ("GET", "/api/v1/tasks/00000000-0000-0000-0000-000000000000", None, 404),
        ("POST", "/api/v1/cancel/../../etc/passwd", None, 404),
        ("GET", "/export/nope.srt", None, 404),
        ("GET", "/api/v1/tasks?limit=0", None, 422),
        ("GET", "/api/v1/tasks?limit=abc", None, 422),
        ("DELETE", "/api/v1/uploads/nope", None, 404),
    ],
)
def test_malformed_requests(
    harness: Harness, method: str, path: str, body: bytes | None, status: int
) -> None:
    headers = {"Content-Type": "application/json"}
    response = harness.client.request(method, path, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert set(json.loads(response.content)) >= {"code", "detail"}


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Harness]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("real") / "data",
        model_cache_dir=models_dir,
        allowed_hosts=["testserver"],  # the Host header Starlette's TestClient sends
    )
    with real_harness(settings, models_dir) as harness:
        yield harness


@pytest.mark.slow
@pytest.mark.parametrize("name", ["silence.wav", "tenth.wav"])
def test_silence_and_tiny_clips_complete_without_phrases(
    real: Harness, corpus: dict[str, Path], name: str
) -> None:
    status = real.transcribe(corpus[name])
    assert status["status"] == "COMPLETED", status
    assert status["results"] == {"phrases": []}


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["telephone-8k", "stereo"])
def test_telephone_and_stereo_audio_work(real: Harness, tmp_path: Path, variant: str) -> None:
    speech = espeak("Please call me back tomorrow morning about the invoice.", tmp_path / "s.wav", speed=140)
    with av.open(str(speech)) as container:
        rate = 8000 if variant == "telephone-8k" else 16000
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        frames = [
            f.to_ndarray().reshape(-1) for fr in container.decode(audio=0) for f in resampler.resample(fr)
        ]
    samples = np.concatenate(frames)
    if variant == "stereo":
        stereo = np.stack([samples, (samples * 0.5).astype(np.int16)], axis=1).reshape(-1)
        path = write_wav(tmp_path / "stereo.wav", stereo, rate, channels=2)
    else:
        path = write_wav(tmp_path / "phone.wav", samples, rate)
    status = real.transcribe(path)
    assert status["status"] == "COMPLETED", status
    text = " ".join(p["text"] for p in status["results"]["phrases"]).lower()  # type: ignore[index]
    assert "tomorrow" in text or "invoice" in text, text


@pytest.mark.parametrize(
    "update",
    [
        {"WHISPER_MODEL": "./\u0000"},
        {"WHISPER_MODEL": "base\u0000"},
        {"WHISPER_MODEL": "models/\nbase"},
        {"WHISPER_PROMPT": "Имена: Иванов\u0000"},
        {"WHISPER_LANGUAGE": "r\u0000u"},
    ],
)
def test_control_characters_in_settings_are_a_json_422(harness: Harness, update: dict[str, str]) -> None:
    response = harness.client.post("/api/v1/settings", json=update)
    assert response.status_code == 422, response.text
    assert response.json()["key"] == next(iter(update))
    assert harness.client.get("/api/v1/settings").json()["WHISPER_MODEL"] == "base"  # nothing saved


def test_a_prompt_may_hold_line_breaks(harness: Harness) -> None:
    response = harness.client.post("/api/v1/settings", json={"WHISPER_PROMPT": "Иванов,\nПетров\tи Ко"})
    assert response.status_code == 200, response.text


def test_control_characters_in_task_options_are_refused(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    body = {"upload_id": upload["id"], "model": "./\u0000"}
    response = harness.client.post("/api/v1/create_task", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_setting"


def test_an_unexpected_server_error_is_json(settings: Settings) -> None:
    app = create_app(settings, environ={})

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
