# Runs the service on http://localhost:8000 with the bundled offline model and SQLite in .\data.
# The Windows twin of run.sh. Extra arguments go to `transcriber serve`
# (e.g. .\run.ps1 --host 0.0.0.0 --port 8080). Stop it with Ctrl+C.
# No param() block on purpose: every argument stays in $args and is passed on unchanged.

$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot

& (Join-Path $PSScriptRoot 'scripts\bootstrap.ps1') -Kind runtime

# The service logs to stderr. Windows PowerShell 5.1 turns redirected stderr of a native command into
# errors, fatal under 'Stop'; from here on only the exit code counts.
$ErrorActionPreference = 'Continue'
& (Join-Path $PSScriptRoot '.venv\Scripts\transcriber.exe') serve @args
exit $LASTEXITCODE
