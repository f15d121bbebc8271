"""The repository carries the recordings its tests need, unchanged and with their origin stated."""

from __future__ import annotations

import hashlib

from tests.conftest import TEST_DATA


def test_recordings_match_their_checksums() -> None:
    listed = {}
    for line in (TEST_DATA / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        listed[name.lstrip("*")] = digest
    assert set(listed) == {"jfk.flac", "multilingual.mp3", "hotwords.mp3", "stereo_diarization.wav"}
    for name, digest in listed.items():
        assert hashlib.sha256((TEST_DATA / name).read_bytes()).hexdigest() == digest, name


def test_every_recording_has_its_source_and_licence() -> None:
    sources = (TEST_DATA / "SOURCES.md").read_text()
    assert "MIT License" in sources
    for path in TEST_DATA.iterdir():
        if path.suffix in {".flac", ".mp3", ".wav"}:
            assert f"`{path.name}`" in sources, path.name
