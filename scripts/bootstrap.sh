#!/usr/bin/env bash
# Creates .venv and installs the locked dependencies (once; again only when a lock file changes).
# Usage: scripts/bootstrap.sh [runtime|dev]
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-runtime}"
lock="requirements.lock"
[ "$kind" = "dev" ] && lock="requirements-dev.lock"

python_bin=""
for candidate in python3.11 python3.12 python3.13 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 14)))' 2>/dev/null; then
        python_bin="$candidate"
        break
    fi
done
if [ -z "$python_bin" ]; then
    echo "Python 3.11–3.13 is required (3.11 recommended): https://www.python.org/downloads/" >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    echo "creating .venv with $($python_bin --version)"
    "$python_bin" -m venv .venv
fi

pip_install() {
    # Some machines' pip configuration names local index folders that may not exist; pip warns about
    # each of them on every run. Those lines are noise here, so they are filtered out.
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

stamp=".venv/.install-stamp-$kind"
digest="$(cat "$lock" pyproject.toml | .venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$digest" ]; then
    echo "installing dependencies from $lock (first run downloads about 400 MB)"
    pip_install --upgrade pip
    pip_install -r "$lock"
    pip_install --no-deps -e .
    echo "$digest" > "$stamp"
fi
