"""Multipart parsing: standard bodies, and the LF-only bodies of 1C code copied from the seed."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import pytest

from tests.conftest import Harness
from tests.onec import CRLF, kit_multipart, seed_draft_multipart
from transcriber.api.multipart import FormParser
from transcriber.errors import BadRequest

BOUNDARY = "----1C" + "0123456789abcdef0123456789abcdef"


class Collect:
    def __init__(self) -> None:
        self.parts: list[tuple[dict[str, bytes], bytes]] = []

    def start_part(self, headers: dict[str, bytes]) -> None:
        self.parts.append((headers, b""))

    def part_data(self, data: bytes) -> None:
        headers, body = self.parts[-1]
        self.parts[-1] = (headers, body + data)

    def end_part(self) -> None:
        pass


def parse(body: bytes, *, chunk: int) -> Collect:
    sink = Collect()
    parser = FormParser(BOUNDARY.encode(), sink)
    for i in range(0, len(body), chunk):
        parser.write(body[i : i + chunk])
    parser.finalize()
    return sink


NASTY = b"\n--" + BOUNDARY.encode()[:-1] + b"\n\n\r\n--\n" + bytes(range(256)) + b"\n"


@pytest.mark.parametrize("chunk", [1, 7, 64, 65536])
@pytest.mark.parametrize(
    "build",
    [
        lambda d: seed_draft_multipart(d, "Звонок.mp3", BOUNDARY, "audio/mpeg", separator=""),
        lambda d: seed_draft_multipart(d, "Звонок.mp3", BOUNDARY, "audio/mpeg"),
        lambda d: seed_draft_multipart(d, "Звонок.mp3", BOUNDARY, "audio/mpeg", separator=CRLF),
        lambda d: seed_draft_multipart(d, "Звонок.mp3", BOUNDARY, "audio/mpeg", bom=True),
        lambda d: kit_multipart(d, "Звонок.mp3", BOUNDARY),
    ],
    ids=["seed-no-separator", "seed-lf-separator", "seed-crlf-separator", "seed-bom", "kit-crlf"],
)
def test_payload_arrives_byte_for_byte(build: object, chunk: int) -> None:
    payload = b"ID3" + NASTY + os.urandom(3000) + NASTY
    sink = parse(build(payload), chunk=chunk)  # type: ignore[operator]
    assert len(sink.parts) == 1
    headers, data = sink.parts[0]
    assert data == payload
    assert 'filename="Звонок.mp3"'.encode() in headers["content-disposition"]


def test_random_binary_with_many_line_breaks() -> None:
    rng = random.Random(7)
    for _ in range(50):
        payload = b"RIFF" + bytes(rng.choice(b"\n\r-ab") for _ in range(rng.randint(0, 400)))
        for body in (
            seed_draft_multipart(payload, "a.wav", BOUNDARY, "audio/wav"),
            kit_multipart(payload, "a.wav", BOUNDARY),
        ):
            assert parse(body, chunk=rng.randint(1, 50)).parts[0][1] == payload


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"--" + BOUNDARY.encode() + b"\n",
        seed_draft_multipart(b"RIFFdata", "a.wav", BOUNDARY, "audio/wav")[:-12],
        b"--"
        + BOUNDARY.encode()
        + b"\nContent-Disposition form-data\n\nxx\n--"
        + BOUNDARY.encode()
        + b"--\n",
        b"--" + BOUNDARY.encode() + b"\n" + b"X" * 20000,
    ],
    ids=["empty", "only-boundary", "truncated", "header-without-colon", "endless-header"],
)
def test_malformed_lf_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(BadRequest):
        parse(body, chunk=1000)


def test_crlf_body_is_not_loosened() -> None:
    """A standard body keeps python-multipart's strictness: a bare LF inside its headers stays an error
    or data, never a silent reinterpretation."""
    good = kit_multipart(b"RIFFxx\n", "a.wav", BOUNDARY)
    assert parse(good, chunk=3).parts[0][1] == b"RIFFxx\n"
    truncated = good[: good.rindex(b"--" + BOUNDARY.encode())]
    with pytest.raises((BadRequest, ValueError)):
        parse(truncated, chunk=3)


@pytest.mark.parametrize("separator", ["", "\n"])
def test_seed_body_through_the_api(harness: Harness, tone_wav: Path, separator: str) -> None:
    data = tone_wav.read_bytes()
    body = seed_draft_multipart(data, "Запись звонка.wav", BOUNDARY, "audio/wav", separator=separator)
    response = harness.client.post(
        "/api/v1/upload", content=body, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Запись звонка.wav"
    stored = Path(response.json()["stored_path"]).read_bytes()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()


def test_raw_upload_and_one_call_transcribe(harness: Harness, tone_wav: Path) -> None:
    data = tone_wav.read_bytes()
    response = harness.client.post(
        "/api/v1/upload_raw",
        params={"name": "Звонок клиента.wav"},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Звонок клиента.wav"
    assert Path(response.json()["stored_path"]).read_bytes() == data

    by_header = harness.client.post(
        "/api/v1/upload_raw",
        content=data,
        headers={"Content-Type": "audio/wav", "X-File-Name": "%D0%97%D0%B2%D0%BE%D0%BD%D0%BE%D0%BA.wav"},
    )
    assert by_header.json()["name"] == "Звонок.wav"

    created = harness.client.post(
        "/api/v1/transcribe",
        params={"name": "Звонок.wav", "language": "ru", "beam_size": 2},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert created.status_code == 200, created.text
    assert created.json()["status"] == "PENDING"
    harness.drain()
    assert harness.engine.seen_settings[-1].beam_size == 2
    status = harness.client.get(f"/api/v1/status/{created.json()['task_id']}").json()
    assert status["status"] == "COMPLETED"
    assert status["file_name"] == "Звонок.wav"


def test_one_call_checks_options_before_the_file(harness: Harness, tone_wav: Path) -> None:
    response = harness.client.post(
        "/api/v1/transcribe", params={"name": "a.wav", "beam_size": 0}, content=tone_wav.read_bytes()
    )
    assert response.status_code == 422
    assert harness.client.get("/api/v1/uploads").json()["files"] == []
    text = harness.client.post("/api/v1/upload_raw", params={"name": "a.mp3"}, content=b"not audio at all")
    assert text.status_code == 415
    empty = harness.client.post("/api/v1/upload_raw", params={"name": "a.mp3"}, content=b"")
    assert empty.status_code == 400


def flood(line_end: bytes, lines: int) -> bytes:
    head = b"--" + BOUNDARY.encode() + line_end
    return head + b'Content-Disposition: form-data; name="file"' + line_end + (b"X: y" + line_end) * lines


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"])
def test_a_header_flood_is_refused_after_a_few_headers(line_end: bytes) -> None:
    """16 MiB of ``X: y`` lines: LF-only used to cost 23 s of CPU (a copy of the buffer per line)."""
    body = flood(line_end, 16 * 1024**2 // (4 + len(line_end)))
    parser = FormParser(BOUNDARY.encode(), Collect())
    with pytest.raises((BadRequest, ValueError), match=r"(?i)header count|more than 8 headers"):
        parser.write(body[:65536])  # the first 64 KiB hold far more than 8 header lines: never read on


def test_a_long_header_line_is_refused_on_both_parsers() -> None:
    for line_end in (b"\n", b"\r\n"):
        body = b"--" + BOUNDARY.encode() + line_end + b"X-Long: " + b"a" * 40_000 + line_end
        with pytest.raises((BadRequest, ValueError), match=r"(?i)too long|header size"):
            parse(body, chunk=4096)


def test_too_many_parts_are_refused() -> None:
    part = b"--" + BOUNDARY.encode() + b'\nContent-Disposition: form-data; name="x"\n\nvalue\n'
    with pytest.raises(BadRequest, match="more than 64 parts"):
        parse(part * 100 + b"--" + BOUNDARY.encode() + b"--\n", chunk=65536)


def test_lf_parsing_of_many_small_writes_is_linear() -> None:
    """The LF-only parser keeps at most a header line and a delimiter's length between writes."""
    data = os.urandom(2 * 1024**2)
    body = b"--" + BOUNDARY.encode() + b'\nContent-Disposition: form-data; name="file"; filename="a.mp3"\n\n'
    body += data + b"\n--" + BOUNDARY.encode() + b"--\n"
    sink = Collect()
    parser = FormParser(BOUNDARY.encode(), sink)
    largest = 0
    for i in range(0, len(body), 1000):
        parser.write(body[i : i + 1000])
        if parser._lf is not None:
            largest = max(largest, len(parser._lf.buffer))
    parser.finalize()
    assert sink.parts[0][1] == data
    assert largest < 2000
