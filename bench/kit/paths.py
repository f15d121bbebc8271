"""Where the benchmarks find the repository's recordings and put their results."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AUDIO_DIR = REPO / "tests" / "data"  # the repository's own recordings (tests/data/SOURCES.md)
RESULTS_DIR = REPO / "bench" / "results"  # one JSON file per run (bench/results/README.md)
