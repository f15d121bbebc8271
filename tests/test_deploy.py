"""The deployment files under deploy/: systemd units that systemd itself accepts, whose command lines
our CLI parses, and whose settings files are the ones the docs name."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from transcriber.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
INSTALL = "/opt/transcriber/.venv/bin/transcriber"


def _unit(path: Path) -> configparser.ConfigParser:
    # systemd allows a key more than once (EnvironmentFile); keep the last for reading ExecStart.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def test_there_is_an_api_unit_and_a_worker_template() -> None:
    assert [p.name for p in UNITS] == ["transcriber-api.service", "transcriber-worker@.service"]


@pytest.mark.parametrize("path", UNITS, ids=[p.name for p in UNITS])
def test_the_command_line_is_one_our_cli_accepts(path: Path) -> None:
    command = shlex.split(_unit(path)["Service"]["ExecStart"].replace("%i", "gpu0"))
    assert command[0] == INSTALL
    args = build_parser().parse_args(command[1:])
    assert args.data_dir is not None  # never the working directory of a service
    if args.command == "serve":
        assert args.no_worker  # the API host runs no worker: workers live on their own hosts
    else:
        assert args.command == "worker"


@pytest.mark.parametrize("path", UNITS, ids=[p.name for p in UNITS])
def test_systemd_accepts_the_unit(path: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # Point the unit at this checkout's executable and at empty settings files, as an install would.
    text = path.read_text(encoding="utf-8").replace(INSTALL, str(ROOT / ".venv" / "bin" / "transcriber"))
    for name in ("api.env", "worker.env"):
        (tmp_path / name).write_text("TRANSCRIBE_LOG_LEVEL=info\n", encoding="utf-8")
        text = text.replace(f"/etc/transcriber/{name}", str(tmp_path / name))
    unit = tmp_path / path.name
    unit.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Unknown key" not in done.stderr, done.stderr
