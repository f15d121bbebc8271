"""Tests for transcriber.storage: incoming files, commits, and the client-path safety check."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from transcriber.errors import PathOutsideStorage
from transcriber.storage import INCOMING, UploadStorage, display_name, new_upload_id, safe_extension


@pytest.fixture
def storage(tmp_path: Path) -> UploadStorage:
    return UploadStorage(tmp_path / "uploads")


def store_file(storage: UploadStorage, data: bytes, ext: str = "wav") -> str:
    """Receive ``data`` as an upload and commit it under a fresh stored name; returns the name."""
    incoming = storage.incoming()
    incoming.write(data)
    incoming.close()
    name = f"{new_upload_id()}.{ext}"
    storage.commit(incoming, name)
    return name


def symlink_or_skip(target: Path, link: Path) -> None:
    try:
        os.symlink(target, link)
    except (OSError, NotImplementedError) as exc:
        pytest.skip(f"symlinks are not supported here: {exc}")


# -- the storage folder ------------------------------------------------------------------------------


def test_storage_creates_its_folders(tmp_path: Path) -> None:
    storage = UploadStorage(tmp_path / "a" / "b")
    assert storage.root == (tmp_path / "a" / "b").resolve()
    assert storage.incoming_dir == storage.root / INCOMING
    assert storage.incoming_dir.is_dir()
    UploadStorage(tmp_path / "a" / "b")  # opening an existing folder again is fine


def test_upload_ids_are_unique_hex() -> None:
    ids = {new_upload_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


# -- incoming files ------------------------------------------------------------------------------------


def test_incoming_file_is_written_in_chunks_with_size_and_hash(storage: UploadStorage) -> None:
    chunks = [b"RIFF", os.urandom(70_000), b"", b"\x00" * 5, "Привет".encode()]
    incoming = storage.incoming()
    assert incoming.path.parent == storage.incoming_dir
    assert incoming.path.suffix == ".part"
    for chunk in chunks:
        incoming.write(chunk)
    incoming.close()
    data = b"".join(chunks)
    assert incoming.size == len(data)
    assert incoming.sha256 == hashlib.sha256(data).hexdigest()
    assert incoming.path.read_bytes() == data
    incoming.close()  # closing twice is harmless
    incoming.discard()


def test_incoming_files_get_distinct_paths(storage: UploadStorage) -> None:
    paths = {storage.incoming().path for _ in range(100)}
    assert len(paths) == 100


def test_empty_incoming_file(storage: UploadStorage) -> None:
    incoming = storage.incoming()
    incoming.close()
    assert incoming.size == 0
    assert incoming.sha256 == hashlib.sha256(b"").hexdigest()
    assert incoming.path.read_bytes() == b""
    incoming.discard()
    assert not incoming.path.exists()


def test_discard_removes_an_open_incoming_file(storage: UploadStorage) -> None:
    incoming = storage.incoming()
    incoming.write(b"partial")
    assert incoming.path.exists()
    incoming.discard()
    assert not incoming.path.exists()
    incoming.discard()  # discarding twice is harmless


def test_discard_of_a_never_written_file(storage: UploadStorage) -> None:
    incoming = storage.incoming()
    incoming.discard()
    assert not incoming.path.exists()


def test_commit_moves_the_file_under_its_stored_name(storage: UploadStorage) -> None:
    incoming = storage.incoming()
    incoming.write(b"audio bytes")
    incoming.close()
    target = storage.commit(incoming, "abc123.mp3")
    assert target == storage.root / "abc123.mp3"
    assert target.read_bytes() == b"audio bytes"
    assert not incoming.path.exists()
    assert storage.path_of("abc123.mp3") == target


def test_commit_never_overwrites(storage: UploadStorage) -> None:
    name = store_file(storage, b"first upload")
    second = storage.incoming()
    second.write(b"second upload")
    second.close()
    with pytest.raises(FileExistsError):
        storage.commit(second, name)
    assert storage.path_of(name).read_bytes() == b"first upload"
    assert second.path.read_bytes() == b"second upload"  # still there for the caller to discard
    second.discard()


def test_clean_incoming_removes_leftovers_only(storage: UploadStorage) -> None:
    kept = store_file(storage, b"committed")
    for payload in (b"one", b"two", b""):
        leftover = storage.incoming()
        leftover.write(payload)
        leftover.close()  # closed but never committed, as after a crash
    assert len(list(storage.incoming_dir.iterdir())) == 3
    assert storage.clean_incoming() == 0  # fresh: possibly still arriving in another process
    old = time.time() - 2 * 3600
    for part in storage.incoming_dir.iterdir():
        os.utime(part, (old, old))
    live = storage.incoming()
    live.write(b"arriving now")
    assert storage.clean_incoming() == 3
    assert list(storage.incoming_dir.iterdir()) == [live.path]
    assert storage.path_of(kept).read_bytes() == b"committed"
    assert storage.clean_incoming() == 0
    live.discard()


def test_remove_deletes_a_stored_file(storage: UploadStorage) -> None:
    name = store_file(storage, b"x")
    storage.remove(name)
    assert not storage.path_of(name).exists()
    storage.remove(name)  # removing a missing file is harmless


@pytest.mark.parametrize("bad", ["", "a/b.wav", "..", "../x.wav", ".incoming", ".hidden", "a\\b.wav"])
def test_path_of_refuses_anything_but_a_plain_name(storage: UploadStorage, bad: str) -> None:
    with pytest.raises(PathOutsideStorage):
        storage.path_of(bad)


# -- resolving a path a client sent -------------------------------------------------------------------


def test_resolve_accepts_the_absolute_stored_path(storage: UploadStorage) -> None:
    name = store_file(storage, b"data")
    assert storage.resolve_client_path(str(storage.path_of(name))) == name


def test_resolve_accepts_a_bare_stored_name(storage: UploadStorage) -> None:
    name = store_file(storage, b"data")
    assert storage.resolve_client_path(name) == name


def test_resolve_accepts_a_path_through_a_symlinked_root(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    symlink_or_skip(real, link)
    storage = UploadStorage(link)
    name = store_file(storage, b"data")
    assert storage.resolve_client_path(str(link / name)) == name
    assert storage.resolve_client_path(str(real / name)) == name


@pytest.mark.parametrize(
    "client_path",
    [
        "/etc/passwd",
        "../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "x\\..\\..\\windows\\win.ini",
        "..",
        ".",
        "/",
        "",
        "abc\x00.wav",
        "a" * 5000,
        "/" + "a/" * 1990 + "x.wav",
    ],
)
def test_resolve_rejects_paths_outside_storage(storage: UploadStorage, client_path: str) -> None:
    with pytest.raises(PathOutsideStorage):
        storage.resolve_client_path(client_path)


def test_resolve_rejects_a_sibling_folder_with_a_common_prefix(tmp_path: Path) -> None:
    storage = UploadStorage(tmp_path / "uploads")
    evil = tmp_path / "uploads-evil"
    evil.mkdir()
    (evil / "x.wav").write_bytes(b"x")
    with pytest.raises(PathOutsideStorage):
        storage.resolve_client_path(str(evil / "x.wav"))
    with pytest.raises(PathOutsideStorage):
        storage.resolve_client_path("../uploads-evil/x.wav")


def test_resolve_rejects_the_root_itself(storage: UploadStorage) -> None:
    with pytest.raises(PathOutsideStorage):
        storage.resolve_client_path(str(storage.root))


def test_resolve_rejects_paths_into_the_incoming_folder(storage: UploadStorage) -> None:
    incoming = storage.incoming()
    incoming.write(b"partial")
    incoming.close()
    for client_path in (
        str(incoming.path),
        f"{INCOMING}/{incoming.path.name}",
        str(storage.incoming_dir),
        INCOMING,
    ):
        with pytest.raises(PathOutsideStorage):
            storage.resolve_client_path(client_path)
    incoming.discard()


def test_resolve_rejects_a_file_in_a_subfolder(storage: UploadStorage) -> None:
    sub = storage.root / "sub"
    sub.mkdir()
    (sub / "inner.wav").write_bytes(b"x")
    with pytest.raises(PathOutsideStorage):
        storage.resolve_client_path(str(sub / "inner.wav"))
    with pytest.raises(PathOutsideStorage):
        storage.resolve_client_path("sub/inner.wav")


def test_resolve_rejects_a_traversal_that_passes_through_the_root(storage: UploadStorage) -> None:
    name = store_file(storage, b"x")
    outside = f"{storage.root}/../{storage.root.name}/../{name}"
    with pytest.raises(PathOutsideStorage):
        storage.resolve_client_path(outside)
    # ...while a detour that ends inside the folder is the same file
    inside = f"{storage.root}/sub/../{name}"
    assert storage.resolve_client_path(inside) == name


def test_resolve_rejects_a_symlink_pointing_outside(storage: UploadStorage, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    link = storage.root / "innocent.wav"
    symlink_or_skip(secret, link)
    with pytest.raises(PathOutsideStorage):
        storage.resolve_client_path(str(link))
    with pytest.raises(PathOutsideStorage):
        storage.resolve_client_path("innocent.wav")


def test_resolve_rejects_a_path_through_a_symlinked_folder(storage: UploadStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.wav").write_bytes(b"x")
    symlink_or_skip(outside, storage.root / "dir")
    with pytest.raises(PathOutsideStorage):
        storage.resolve_client_path("dir/x.wav")


def test_resolve_follows_a_symlink_to_a_stored_file(storage: UploadStorage) -> None:
    name = store_file(storage, b"x")
    symlink_or_skip(storage.root / name, storage.root / "alias.wav")
    # the answer is the real stored name, never the link's
    assert storage.resolve_client_path("alias.wav") == name


def test_resolve_does_not_need_the_file_to_exist(storage: UploadStorage) -> None:
    # Existence is checked against the database by the caller; the name is only mapped here.
    assert storage.resolve_client_path("0123abcd.wav") == "0123abcd.wav"


# -- client file names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("song.mp3", "mp3"),
        ("SONG.MP3", "mp3"),
        ("Запись разговора.M4A", "m4a"),
        ("archive.tar.gz", "gz"),
        ("C:\\Users\\Иван\\Desktop\\call.wav", "wav"),
        ("/home/user/dir.with.dots/call.ogg", "ogg"),
        ("dir.with.dots/noextension", ""),
        ("dir.with.dots\\noextension", ""),
        ("noextension", ""),
        ("trailingdot.", ""),
        ("", ""),
        ("файл.мп3", ""),
        ("x.verylongext", ""),
        ("x.12345678", "12345678"),
        ("x.mp3 ", ""),
        ("x.mp-3", ""),
        ("x.mp3\x00.exe", "exe"),
        ("x.m\x00p3", ""),
        ("x.\x1b[31m", ""),
    ],
)
def test_safe_extension(original: str, expected: str) -> None:
    assert safe_extension(original) == expected


def test_safe_extension_refuses_a_trailing_newline() -> None:
    assert safe_extension("x.mp3\n") == ""


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Запись разговора 2024-05-01.mp3", "Запись разговора 2024-05-01.mp3"),
        ("C:\\Users\\Иван\\Desktop\\Звонок.wav", "Звонок.wav"),
        ("/etc/passwd", "passwd"),
        ("../../secret.mp3", "secret.mp3"),
        ("a/b\\c.mp3", "c.mp3"),
        ("bad\x00name\n.mp3", "badname.mp3"),
        ("\x1b[31mred\x1b[0m.wav", "[31mred[0m.wav"),
        ("tab\there.wav", "tabhere.wav"),
        ("evil\u202egnp.mp3", "evilgnp.mp3"),
        ("  spaced.mp3  ", "spaced.mp3"),
        ("", "audio"),
        (None, "audio"),
        ("dir/", "audio"),
        ("\x00\x01\x02", "audio"),
        ("   ", "audio"),
        ("日本語の録音.flac", "日本語の録音.flac"),
    ],
)
def test_display_name(original: str | None, expected: str) -> None:
    assert display_name(original) == expected


def test_display_name_is_bounded() -> None:
    long_name = "Ж" * 1000 + ".mp3"
    shown = display_name(long_name)
    assert len(shown) == 255
    assert shown == "Ж" * 255
    assert display_name("/very/long/" + "d" * 5000 + "/short.wav") == "short.wav"


def test_display_name_output_is_printable_and_has_no_separators() -> None:
    weird = "".join(chr(c) for c in range(0, 0x250)) + "/\\name.mp3"
    shown = display_name("dir\\" + weird)
    assert shown == "name.mp3"
    every_char = "".join(chr(c) for c in range(0x20, 0x3000) if chr(c) not in "/\\")
    shown = display_name(every_char)
    assert shown.isprintable()
    assert "/" not in shown
    assert "\\" not in shown
    assert len(shown) <= 255
