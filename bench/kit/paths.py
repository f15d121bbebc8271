"""Where the benchmarks find the repository's recordings."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AUDIO_DIR = REPO / "tests" / "data"  # the repository's own recordings (tests/data/SOURCES.md)
