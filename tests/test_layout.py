"""The package layout's promises: the engine's version guard, and what imports the ML stack."""

from __future__ import annotations

import subprocess
import sys

import pytest

from transcriber.engine.pipeline import VERIFIED, EngineVersionMismatch, check_version


@pytest.mark.parametrize("installed", ["1.2.1", "1.2.9", "1.2.1+cu12"])
def test_verified_versions_pass(installed: str) -> None:
    check_version(installed)


@pytest.mark.parametrize("installed", ["1.1.1", "1.2.0", "1.3.0", "2.0.0"])
def test_other_versions_fail_loudly(installed: str) -> None:
    with pytest.raises(EngineVersionMismatch, match=rf"faster-whisper {installed} .*requirements\.lock"):
        check_version(installed)


def test_the_pin_is_the_verified_range() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [d for d in project["project"]["dependencies"] if d.startswith("faster-whisper")]
    low, high = (".".join(map(str, v)) for v in VERIFIED)
    assert pins == [f"faster-whisper>={low},<{high[: high.rindex('.')]}"]


@pytest.mark.parametrize("module", ["transcriber.transcription", "transcriber.worker", "transcriber.store"])
def test_naming_the_engine_types_needs_no_ml_stack(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in ('faster_whisper', 'ctranslate2', 'onnxruntime') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
