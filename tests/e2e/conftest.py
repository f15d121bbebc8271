"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import ServerProcess


@pytest.fixture
def server(tmp_path: Path, models_dir: Path) -> Iterator[ServerProcess]:
    """The real service with its own data folder and the real tiny.en model."""
    process = ServerProcess(tmp_path / "data", models_dir).start()
    try:
        yield process
    finally:
        process.stop()
