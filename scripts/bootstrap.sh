#!/usr/bin/env bash
# Creates .venv and installs the locked dependencies (once; again only when a lock file changes).
# Usage: scripts/bootstrap.sh [runtime|dev]
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-runtime}"
lock="requirements.lock"
[ "$kind" = "dev" ] && lock="requirements-dev.lock"

python_bin=""
for candidate in python3.11 python3.12 python3.13 python3.10 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] < (3, 14)))' 2>/dev/null; then
        python_bin="$candidate"
        break
    fi
done
if [ -z "$python_bin" ]; then
    echo "Python 3.10–3.13 is required (3.11 recommended): https://www.python.org/downloads/" >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    echo "creating .venv with $($python_bin --version)"
    "$python_bin" -m venv .venv
fi

stamp=".venv/.install-stamp-$kind"
digest="$(cat "$lock" pyproject.toml | .venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$digest" ]; then
    echo "installing dependencies from $lock (first run downloads about 400 MB)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$lock"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
    echo "$digest" > "$stamp"
fi
