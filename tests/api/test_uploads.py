"""Uploads through the app: streamed multipart, content probing, names, listing and deletion."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.conftest import Harness, repo_audio
from tests.test_decoding import damaged, repeated_frames_flac, write_flac


def test_upload_returns_stored_path_and_metadata(harness: Harness, tone_wav: Path) -> None:
    body = harness.upload(tone_wav, name="Звонок клиента 01.wav")
    assert body["name"] == "Звонок клиента 01.wav"
    assert body["size"] == tone_wav.stat().st_size
    assert abs(float(body["duration"]) - 2.0) < 0.05  # type: ignore[arg-type]
    stored = Path(str(body["stored_path"]))
    assert stored.parent == harness.services.storage.root
    assert stored.read_bytes() == tone_wav.read_bytes()
    assert stored.name == f"{body['id']}.wav"


def test_same_name_twice_keeps_both_files(harness: Harness, tone_wav: Path) -> None:
    first = harness.upload(tone_wav, name="a.wav")
    second = harness.upload(tone_wav, name="a.wav")
    assert first["stored_path"] != second["stored_path"]
    assert Path(str(first["stored_path"])).is_file()
    assert Path(str(second["stored_path"])).is_file()


def test_uploads_listed_newest_first(harness: Harness, tone_wav: Path) -> None:
    ids = [harness.upload(tone_wav, name=f"f{i}.wav")["id"] for i in range(3)]
    files = harness.client.get("/api/v1/uploads").json()["files"]
    assert [f["id"] for f in files] == list(reversed(ids))
    assert {"name", "path", "size", "duration", "uploaded_at"} <= set(files[0])


def test_non_audio_is_415_with_accepted_formats(harness: Harness) -> None:
    response = harness.client.post(
        "/api/v1/upload", files={"file": ("notes.mp3", b"hello, this is text" * 50)}
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media"
    assert "mp3" in response.json()["detail"]
    assert list(harness.services.storage.root.glob("*.mp3")) == []
    assert list(harness.services.storage.incoming_dir.iterdir()) == []


def test_empty_file_is_400(harness: Harness) -> None:
    response = harness.client.post("/api/v1/upload", files={"file": ("empty.wav", b"")})
    assert response.status_code == 400
    assert response.json()["code"] == "empty_file"


def test_not_multipart_and_missing_field(harness: Harness, tone_wav: Path) -> None:
    response = harness.client.post("/api/v1/upload", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["detail"]
    with open(tone_wav, "rb") as fh:
        response = harness.client.post("/api/v1/upload", files={"audio": ("a.wav", fh)})
    assert response.status_code == 400
    assert "'file'" in response.json()["detail"]


def test_upload_over_limit_is_413_and_leaves_nothing(harness: Harness, tone_wav: Path) -> None:
    harness.services.settings.limits.max_upload_bytes = 1000
    with open(tone_wav, "rb") as fh:
        response = harness.client.post("/api/v1/upload", files={"file": ("big.wav", fh)})
    assert response.status_code == 413
    assert list(harness.services.storage.incoming_dir.iterdir()) == []
    assert harness.client.get("/api/v1/uploads").json()["files"] == []


def test_filename_star_and_path_in_name(harness: Harness, tone_wav: Path) -> None:
    data = tone_wav.read_bytes()
    boundary = "XyZ123"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="fallback.wav"; '
            "filename*=UTF-8''%D0%97%D0%B0%D0%BF%D0%B8%D1%81%D1%8C.wav\r\n"
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = harness.client.post(
        "/api/v1/upload", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Запись.wav"
    stored = Path(response.json()["stored_path"])
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()

    with open(tone_wav, "rb") as fh:
        response = harness.client.post("/api/v1/upload", files={"file": ("../../etc/evil.wav", fh)})
    assert response.status_code == 200
    assert response.json()["name"] == "evil.wav"
    assert Path(response.json()["stored_path"]).parent == harness.services.storage.root


def test_delete_upload_unused_and_used(harness: Harness, tone_wav: Path) -> None:
    unused = harness.upload(tone_wav)
    used = harness.upload(tone_wav)
    harness.client.post("/api/v1/create_task", json={"upload_id": used["id"]})
    assert harness.client.delete(f"/api/v1/uploads/{unused['id']}").status_code == 200
    assert not Path(str(unused["stored_path"])).exists()
    response = harness.client.delete(f"/api/v1/uploads/{used['id']}")
    assert response.status_code == 409
    assert Path(str(used["stored_path"])).exists()
    assert harness.client.delete("/api/v1/uploads/nope").status_code == 404


def test_a_recording_longer_than_the_limit_is_413_whatever_its_header_says(
    harness: Harness, tmp_path: Path
) -> None:
    # Before: STREAMINFO said 1 s, so an 8 s file passed a 5 s limit (and 13 h passed a 12 h one).
    harness.services.settings.limits.max_duration_seconds = 5.0
    path = repeated_frames_flac(tmp_path / "long.flac", seconds=1.0, times=8)
    with open(path, "rb") as fh:
        response = harness.client.post("/api/v1/upload", files={"file": ("long.flac", fh)})
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["code"] == "too_large"
    assert "8.0 s" in body["detail"]
    assert "TRANSCRIBE_LIMITS__MAX_DURATION_SECONDS" in body["detail"]
    assert harness.client.get("/api/v1/uploads").json()["files"] == []


def test_a_file_measured_by_decoding_is_413_once_past_the_limit(harness: Harness, tmp_path: Path) -> None:
    harness.services.settings.limits.max_duration_seconds = 5.0
    path = damaged(repo_audio("jfk.flac"), tmp_path / "bad.flac", size=8192)  # a packet with no length
    with open(path, "rb") as fh:
        response = harness.client.post("/api/v1/upload", files={"file": ("bad.flac", fh)})
    assert response.status_code == 413, response.text
    assert "longer than the limit of 5.0 s" in response.json()["detail"]


def test_audio_too_dense_to_decode_is_415_naming_the_setting(harness: Harness, tmp_path: Path) -> None:
    path = write_flac(tmp_path / "dense.flac", 0.05, rate=655_350, layout="7.1")
    with open(path, "rb") as fh:
        response = harness.client.post("/api/v1/upload", files={"file": ("dense.flac", fh)})
    assert response.status_code == 415, response.text
    body = response.json()
    assert body["code"] == "audio_too_dense"
    assert "TRANSCRIBE_LIMITS__MAX_SAMPLES_PER_SECOND" in body["detail"]
