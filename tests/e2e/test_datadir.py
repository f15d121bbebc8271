"""Start-up guards on the data folder, with real processes: one ``serve`` per folder, and no silent
fresh start on a damaged, empty or missing database beside existing uploads."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServerProcess, wait_for
from tests.test_cli import run_cli

pytestmark = pytest.mark.slow


def serve(data_dir: Path, models_dir: Path, port: int = 1) -> subprocess.CompletedProcess[str]:
    """``transcriber serve`` expected to refuse to start (the timeout fails the test if it serves)."""
    args = ("serve", "--no-worker", "--port", str(port), "--data-dir", str(data_dir))
    return run_cli(*args, models_dir=models_dir)


def test_a_second_serve_on_the_same_folder_stops_and_the_first_upload_survives(
    server: ServerProcess, models_dir: Path, tone_wav: Path
) -> None:
    incoming = server.data_dir / "uploads" / ".incoming"
    data = tone_wav.read_bytes()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        head = "POST /api/v1/upload_raw?name=tone.wav HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        sock.sendall(f"{head}Content-Length: {len(data)}\r\n\r\n".encode() + data[:1000])  # in flight
        wait_for(lambda: any(incoming.glob("*.part")), timeout=10, what="the upload to start")

        second = serve(server.data_dir, models_dir, port=server.port)  # the port is taken, too
        assert second.returncode == 2
        assert "in use by another 'transcriber serve'" in second.stderr
        assert "PID" in second.stderr
        assert "Traceback" not in second.stderr

        sock.sendall(data[1000:])
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert len(httpx.get(f"{server.url}/api/v1/uploads").json()["files"]) == 1


def test_the_lock_is_released_when_the_server_stops(tmp_path: Path, models_dir: Path) -> None:
    first = ServerProcess(tmp_path / "data", models_dir).start()
    first.stop()
    again = ServerProcess(tmp_path / "data", models_dir).start()  # would exit early if still locked
    again.stop()


def with_uploads(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "uploads").mkdir(parents=True)
    (data / "uploads" / "0123.mp3").write_bytes(b"an uploaded file")
    return data


def test_a_corrupt_database_is_one_clear_message(tmp_path: Path, models_dir: Path) -> None:
    data = with_uploads(tmp_path)
    (data / "transcriber.db").write_bytes(b"\x8f garbage " * 400)
    result = serve(data, models_dir)
    assert result.returncode == 2
    assert "is not an SQLite database" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3


@pytest.mark.parametrize("state", ["empty", "missing"])
def test_no_fresh_start_beside_orphaned_uploads(tmp_path: Path, models_dir: Path, state: str) -> None:
    data = with_uploads(tmp_path)
    if state == "empty":
        (data / "transcriber.db").write_bytes(b"")
    result = serve(data, models_dir)
    assert result.returncode == 2
    assert f"is {state}" in result.stderr
    assert "1 uploaded file" in result.stderr
    assert "Traceback" not in result.stderr
    assert (data / "transcriber.db").exists() == (state == "empty")  # nothing created or rewritten


def test_an_unreachable_database_is_one_clear_message(tmp_path: Path, models_dir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://user:secret-password@127.0.0.1:{port}/db"
    result = run_cli(
        "serve",
        "--no-worker",
        "--data-dir",
        str(tmp_path / "data"),
        "--database-url",
        url,
        models_dir=models_dir,
    )
    assert result.returncode == 2
    assert "cannot open the database" in result.stderr
    assert "secret-password" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_first_start_still_creates_the_database(tmp_path: Path) -> None:
    from transcriber.config import Settings
    from transcriber.datadir import check_database

    check_database(Settings(data_dir=tmp_path / "data"))  # no database, no uploads: a first start
