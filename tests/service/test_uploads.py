"""Tests for transcriber.service.uploads: a received file probed, stored and recorded, or refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.conftest import Parts
from transcriber.errors import NotFound, RecordingTooLong, TooLarge
from transcriber.service import uploads


def test_a_received_recording_is_stored_and_recorded(parts: Parts, jfk: Path) -> None:
    record = parts.receive(jfk, filename="речь.flac")
    assert record.original_name == "речь.flac"
    assert record.duration == pytest.approx(11.0, abs=0.1)
    assert uploads.get_upload(store=parts.store, upload_id=record.id) == record
    found, path = uploads.upload_file(store=parts.store, storage=parts.storage, upload_id=record.id)
    assert found == record
    assert path.read_bytes() == jfk.read_bytes()
    assert list(parts.storage.incoming_dir.iterdir()) == []


def test_a_recording_over_the_duration_limit_is_not_stored(parts: Parts, jfk: Path) -> None:
    parts.limits.max_duration_seconds = 5.0
    with pytest.raises(RecordingTooLong):
        parts.receive(jfk)
    assert list(parts.storage.root.glob("*.flac")) == []
    assert parts.store.list_uploads() == []


def test_writing_past_the_size_limit_is_refused(parts: Parts) -> None:
    incoming = parts.storage.incoming()
    guard = uploads.open_guard(storage=parts.storage, limits=parts.limits)
    uploads.write_limited(incoming, b"x" * 600, 1000, guard)
    with pytest.raises(TooLarge):
        uploads.write_limited(incoming, b"x" * 600, 1000, guard)
    assert incoming.size == 600
    incoming.discard()


def test_deleting_an_upload_removes_its_file(parts: Parts, jfk: Path) -> None:
    record = parts.receive(jfk)
    _, path = uploads.upload_file(store=parts.store, storage=parts.storage, upload_id=record.id)
    uploads.delete_upload(store=parts.store, storage=parts.storage, upload_id=record.id)
    assert not path.exists()
    with pytest.raises(NotFound):
        uploads.get_upload(store=parts.store, upload_id=record.id)
