"""The command line, run as a real subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import JFK_TEXT


def run_cli(*args: str, models_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHISPER_", "TRANSCRIBE_"))}
    env |= {"TRANSCRIBE_MODEL_CACHE_DIR": str(models_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "transcriber", *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_transcribe_writes_srt(tmp_path: Path, models_dir: Path, speech_file: Path) -> None:
    out = tmp_path / "out.srt"
    result = run_cli(
        "transcribe", str(speech_file), "-m", "tiny.en", "-f", "srt", "-o", str(out), models_dir=models_dir
    )
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("1\n00:00:")
    assert JFK_TEXT in " ".join(re.findall(r"[a-z']+", text.lower()))
    assert "100%" in result.stderr  # the progress bar reached the end


def test_transcribe_errors_are_clear(tmp_path: Path, models_dir: Path) -> None:
    missing = run_cli("transcribe", str(tmp_path / "none.mp3"), models_dir=models_dir)
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    text = tmp_path / "notes.wav"
    text.write_text("not audio", encoding="utf-8")
    bad = run_cli("transcribe", str(text), models_dir=models_dir)
    assert bad.returncode == 2
    assert "Accepted" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_worker_takes_its_audio_from_a_server_or_a_folder_not_both(
    tmp_path: Path, models_dir: Path
) -> None:
    data = ("--data-dir", str(tmp_path / "data"))
    both = run_cli(
        "worker", *data, "--server", "http://127.0.0.1:1", "--storage", str(tmp_path), models_dir=models_dir
    )
    assert both.returncode == 2
    assert "either --server or --storage, not both" in both.stderr
    not_http = run_cli("worker", *data, "--server", "stt-host:8000", models_dir=models_dir)
    assert not_http.returncode == 2
    assert "starts with http:// or https://" in not_http.stderr
    assert "Traceback" not in both.stderr + not_http.stderr


def test_models_list_and_prepare(models_dir: Path) -> None:
    prepared = run_cli("models", "prepare", "tiny.en", models_dir=models_dir)
    assert prepared.returncode == 0, prepared.stderr
    assert Path(prepared.stdout.strip()) == models_dir / "tiny.en"
    listing = run_cli("models", "list", models_dir=models_dir)
    assert re.search(r"^tiny\.en\s+ready", listing.stdout, re.MULTILINE)
    assert re.search(r"^base\s+", listing.stdout, re.MULTILINE)


@pytest.mark.parametrize(
    ("host", "keys", "level", "words"),
    [
        ("127.0.0.1", None, "INFO", "this machine only"),
        ("0.0.0.0", None, "WARNING", "WITHOUT API keys"),
        ("0.0.0.0", "ci:0123456789abcdef0123", "INFO", "API keys are required"),
    ],
)
def test_serve_says_how_exposed_it_is(
    caplog: pytest.LogCaptureFixture, host: str, keys: str | None, level: str, words: str
) -> None:
    from pydantic import SecretStr

    from transcriber.cli import _warn_about_exposure
    from transcriber.config import Settings

    settings = Settings(host=host, api_keys=SecretStr(keys) if keys else None)
    with caplog.at_level("INFO", logger="transcriber"):
        _warn_about_exposure(settings)
    assert [(r.levelname, words in r.getMessage()) for r in caplog.records] == [(level, True)]
    if keys:
        assert keys not in caplog.text


@pytest.mark.parametrize(
    ("bind", "warned"), [("127.0.0.1:9464", False), ("[::1]:9464", False), ("0.0.0.0:9464", True)]
)
def test_serve_warns_of_metrics_open_to_other_machines(
    caplog: pytest.LogCaptureFixture, bind: str, warned: bool
) -> None:
    from pydantic import SecretStr

    from transcriber.cli import _warn_about_exposure
    from transcriber.config import MetricsSettings, Settings

    settings = Settings(api_keys=SecretStr("ci:0123456789abcdef0123"), metrics=MetricsSettings(bind=bind))
    with caplog.at_level("INFO", logger="transcriber"):
        _warn_about_exposure(settings)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert bool(warnings) == warned
    assert all("TRANSCRIBE_METRICS__BIND" in w for w in warnings)
