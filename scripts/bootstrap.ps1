# Creates .venv and installs the locked dependencies (once; again only when a lock file changes).
# The Windows twin of scripts/bootstrap.sh.
# Usage: scripts\bootstrap.ps1 [-Kind runtime|dev]
param(
    [ValidateSet('runtime', 'dev')]
    [string]$Kind = 'runtime'
)

$ErrorActionPreference = 'Stop'
$root = Split-Path -Parent $PSScriptRoot
Set-Location $root

$lock = if ($Kind -eq 'dev') { 'requirements-dev.lock' } else { 'requirements.lock' }

function Find-Python {
    # Returns the command (exe and arguments) of the first Python 3.11-3.13 found, or nothing.
    # Native commands write to stderr when a version is missing ("py -3.13" without 3.13);
    # in Windows PowerShell 5.1 that must not stop the script, so errors are not fatal here.
    $ErrorActionPreference = 'Continue'
    $check = 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else 1)'
    foreach ($candidate in @('py -3.11', 'py -3.12', 'py -3.13', 'python')) {
        $parts = @($candidate -split ' ')
        $exe = $parts[0]
        $rest = @($parts | Select-Object -Skip 1)
        if (-not (Get-Command $exe -CommandType Application -ErrorAction SilentlyContinue)) {
            continue
        }
        try {
            & $exe @rest -c $check *> $null
        } catch {
            continue
        }
        if ($LASTEXITCODE -eq 0) {
            return $parts
        }
    }
}

function Invoke-Native {
    # Runs a native command and stops the script if it fails. Failure is judged by the exit code:
    # Windows PowerShell 5.1 would turn pip's stderr warnings into fatal errors under 'Stop' when
    # output is redirected (a service wrapper, the ISE), so the preference is relaxed in here.
    param([string]$Exe, [string[]]$Arguments)
    $ErrorActionPreference = 'Continue'
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "failed (exit code $LASTEXITCODE): $Exe $($Arguments -join ' ')"
    }
}

$venvPython = Join-Path $root '.venv\Scripts\python.exe'

if (-not (Test-Path $venvPython)) {
    $python = @(Find-Python)
    if ($python.Count -eq 0) {
        throw ('Python 3.11-3.13 is required (3.11 recommended): https://www.python.org/downloads/ ' +
            '(tick "Add python.exe to PATH" and keep the "py" launcher)')
    }
    $pyExe = $python[0]
    $pyArgs = @($python | Select-Object -Skip 1)
    Write-Host "creating .venv with $($python -join ' ')"
    Invoke-Native $pyExe ($pyArgs + @('-m', 'venv', '.venv'))
}

# SHA-256 of the lock file followed by pyproject.toml, as scripts/bootstrap.sh computes it.
# .NET resolves relative paths against its own current directory, not Set-Location's: use full paths.
$bytes = [byte[]]([System.IO.File]::ReadAllBytes((Join-Path $root $lock)) +
    [System.IO.File]::ReadAllBytes((Join-Path $root 'pyproject.toml')))
$sha = [System.Security.Cryptography.SHA256]::Create()
$digest = -join ($sha.ComputeHash($bytes) | ForEach-Object { $_.ToString('x2') })
$sha.Dispose()

$stamp = Join-Path $root ".venv\.install-stamp-$Kind"
$installed = ''
if (Test-Path $stamp) {
    $installed = ([string](Get-Content -Path $stamp -Raw)).Trim()
}

if ($installed -ne $digest) {
    Write-Host "installing dependencies from $lock (first run downloads about 400 MB)"
    $pip = @('-m', 'pip', 'install', '--quiet', '--disable-pip-version-check')
    Invoke-Native $venvPython ($pip + @('--upgrade', 'pip'))
    Invoke-Native $venvPython ($pip + @('-r', $lock))
    Invoke-Native $venvPython ($pip + @('--no-deps', '-e', '.'))
    Set-Content -Path $stamp -Value $digest -Encoding ascii
}
