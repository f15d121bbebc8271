"""The benchmarks' library: what the scripts under ``bench/`` share (not benchmarks themselves)."""
