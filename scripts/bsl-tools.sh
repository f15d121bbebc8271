#!/usr/bin/env bash
# Creates .venv-bsl with the BSL linter (onec-hbk-bsl-core) and formatter (bslfmt) that check the 1C kit
# (once; again only when requirements-bsl.lock changes). They need Python 3.12, the project runs on 3.11,
# hence a venv of their own. Called by test.sh; tests/integrations/test_bsl_lint.py uses it.
set -euo pipefail
cd "$(dirname "$0")/.."
lock="requirements-bsl.lock"
venv=".venv-bsl"

is_312() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; }

find_python312() {
    local candidate
    # pyenv's shim for python3.12 exists but fails unless 3.12 is selected: each candidate is run, not
    # just looked up; then uv's and pyenv's own installations.
    for candidate in python3.12 python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 && is_312 "$candidate"; then
            command -v "$candidate"
            return
        fi
    done
    if command -v uv >/dev/null 2>&1 && candidate="$(uv python find 3.12 2>/dev/null)" && is_312 "$candidate"; then
        echo "$candidate"
        return
    fi
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
        if [ -x "$candidate" ] && is_312 "$candidate"; then
            echo "$candidate"
            return
        fi
    done
    return 1
}

if [ ! -x "$venv/bin/python" ] || ! is_312 "$venv/bin/python"; then
    if ! python_bin="$(find_python312)"; then
        echo "Python 3.12 is required for the BSL linter (onec-hbk-bsl-core): https://www.python.org/downloads/" >&2
        exit 1
    fi
    echo "creating $venv with $("$python_bin" --version)"
    rm -rf "$venv"
    "$python_bin" -m venv "$venv"
fi

stamp="$venv/.install-stamp"
digest="$("$venv/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$lock")"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$digest" ]; then
    echo "installing the BSL linter from $lock"
    # Same filter as bootstrap.sh: some machines' pip configuration names index folders that do not exist.
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$lock" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    "$venv/bin/python" -m pip check >/dev/null
    echo "$digest" > "$stamp"
fi
