"""The settings both sides of a comparison run on: the engine in this process and the service under test
get the same device and compute type (pinned, so both surely run on the same one) and CTranslate2's own
thread count."""

from __future__ import annotations

DEVICE, COMPUTE_TYPE, CPU_THREADS = "cpu", "int8", 0
