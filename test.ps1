# Runs the whole test suite: installs what it needs, lints, type-checks, then pytest.
# The Windows twin of test.sh. Extra arguments go to pytest (e.g. .\test.ps1 -k exporters).
# No param() block on purpose: every argument stays in $args and is passed on unchanged.

$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot

& (Join-Path $PSScriptRoot 'scripts\bootstrap.ps1') -Kind dev

# scripts/system-deps.sh has no Windows twin: espeak-ng (speech with a known text) and a PostgreSQL
# server are not installed here. Tests that need speech skip unless espeak-ng.exe is on PATH or
# ..\shared\audio holds the recordings; the PostgreSQL variants skip without the server binaries.

# scripts/bsl-tools.sh (the BSL linter's .venv-bsl, Python 3.12) has no Windows twin either: without that
# venv tests/integrations/test_bsl_lint.py is skipped, with the reason in pytest's summary; CI runs it.
if (-not (Test-Path (Join-Path $PSScriptRoot '.venv-bsl'))) {
    $env:BSL_LINT = 'skip'
}

# From here on only exit codes count: Windows PowerShell 5.1 turns redirected stderr of a native
# command into errors, fatal under 'Stop'.
$ErrorActionPreference = 'Continue'
$bin = Join-Path $PSScriptRoot '.venv\Scripts'

function Invoke-Step {
    # Runs one check; the first failure ends the script with that check's exit code.
    param([string]$Exe, [string[]]$Arguments)
    & (Join-Path $bin $Exe) @Arguments
    if ($LASTEXITCODE -ne 0) {
        exit $LASTEXITCODE
    }
}

Invoke-Step 'ruff.exe' @('check', '.')
Invoke-Step 'ruff.exe' @('format', '--check', '.')
Invoke-Step 'mypy.exe' @()

& (Join-Path $bin 'python.exe') -m pytest @args
exit $LASTEXITCODE
