#!/usr/bin/env bash
# System packages the tests use: espeak-ng (speech with a known text), a PostgreSQL server, and
# chromium (the browser the UI tests drive through Playwright).
# Installed with apt-get when missing and we are root; otherwise the tests that need them skip.
set -euo pipefail
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "note: ${missing[*]} not installed (needs root); tests that use it will be skipped" >&2
fi
