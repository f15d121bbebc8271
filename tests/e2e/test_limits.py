"""Slow and hostile connections against the real server: headers and bodies that stall are cut off, an
oversized Content-Length is refused before the body, and a client that hangs up leaves one log line."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import ServerProcess, wait_for

pytestmark = pytest.mark.slow

TIMEOUT = 1.5


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[ServerProcess]:
    env = {
        "TRANSCRIBE_LIMITS__HEADER_TIMEOUT_SECONDS": str(TIMEOUT),
        "TRANSCRIBE_LIMITS__BODY_IDLE_TIMEOUT_SECONDS": str(TIMEOUT),
    }
    process = ServerProcess(tmp_path_factory.mktemp("limits") / "data", models_dir, env=env).start()
    try:
        yield process
    finally:
        process.stop()


def connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    return sock


def read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data, time.monotonic() - started


def test_headers_that_stall_are_cut_off(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        data, waited = read_until_closed(sock)
    assert data == b""
    assert waited < TIMEOUT + 5


def test_a_second_request_on_a_kept_connection_is_timed_too(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /health HTTP/1.1\r\n")  # the next request's headers stall
        _, waited = read_until_closed(sock)
    assert waited < TIMEOUT + 5


def test_a_body_that_stalls_gets_408(server: ServerProcess) -> None:
    with connect(server) as sock:
        head = b"POST /api/v1/settings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        sock.sendall(head + b"Content-Length: 100\r\n\r\n" + b'{"WHISPER_')
        data, waited = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408"), data[:200]
    assert b"request_timeout" in data
    assert waited < TIMEOUT + 5


def test_a_huge_content_length_is_refused_before_the_body(server: ServerProcess) -> None:
    with connect(server) as sock:
        head = b"POST /api/v1/upload_raw?name=a.mp3 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        sock.sendall(head + b"Content-Length: 3221225472\r\n\r\n" + b"\0" * 1024)
        data, waited = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 413"), data[:200]
    assert b"MAX_UPLOAD_BYTES" in data
    assert waited < TIMEOUT  # answered at once, not after waiting for the body


def test_a_client_that_hangs_up_mid_upload_leaves_one_log_line(server: ServerProcess) -> None:
    incoming = server.data_dir / "uploads" / ".incoming"
    with connect(server) as sock:
        head = b"POST /api/v1/upload_raw?name=call.wav HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        sock.sendall(head + b"Content-Length: 10000000\r\n\r\n" + b"\0" * 1_000_000)
        wait_for(lambda: any(incoming.glob("*.part")), timeout=10, what="the upload to start")
    wait_for(lambda: "disconnected after" in server.log(), timeout=10, what="the disconnect to be logged")
    assert "Traceback" not in server.log()
    wait_for(lambda: not any(incoming.glob("*.part")), timeout=10, what="the partial file to be removed")


def test_dns_rebinding_and_cross_site_changes_are_refused(server: ServerProcess) -> None:
    """A page on another site that reached 127.0.0.1 under its own name (DNS rebinding) is not answered,
    and a page that posts cross-site is refused; programs that send neither header work as before."""
    with server.client() as client:
        rebound = client.get("/api/v1/tasks", headers={"Host": f"rebind.attacker.example:{server.port}"})
        assert rebound.status_code == 400
        assert rebound.json()["code"] == "host_not_allowed"
        assert client.get("/api/v1/tasks", headers={"Host": f"localhost:{server.port}"}).status_code == 200
        cross = client.post("/api/v1/reset", headers={"Origin": "https://attacker.example"})
        assert cross.status_code == 403
        assert cross.json()["code"] == "cross_site_request"
        fetch_mode = client.post("/api/v1/reset", headers={"Sec-Fetch-Site": "cross-site"})
        assert fetch_mode.status_code == 403
        assert client.post("/api/v1/reset").status_code == 200
        assert client.post("/api/v1/reset", headers={"Origin": server.url}).status_code == 200
