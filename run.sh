#!/usr/bin/env bash
# Runs the service on http://localhost:8000 with the bundled offline model and SQLite in ./data.
# Extra arguments go to `transcriber serve` (e.g. --host 0.0.0.0 --port 8080).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh runtime
exec .venv/bin/transcriber serve "$@"
