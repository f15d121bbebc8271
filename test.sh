#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs, lints, type-checks, then pytest.
# Extra arguments go to pytest (e.g. ./test.sh -k exporters).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh dev
scripts/system-deps.sh
scripts/bsl-tools.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
