# Build the Windows installer: dist\workbench\ (PyInstaller, packaging\workbench.spec) and
# dist\workbench-<version>-setup.exe (Inno Setup, packaging\windows\workbench.iss).
# Run on Windows from the checkout in PowerShell, with Python >= 3.10 and Inno Setup 6 installed:
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
# The version comes from workbench\__init__.py (workbench.__version__), as on Linux and macOS.
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
$started = Get-Date

if (-not (Test-Path ".venv\Scripts\python.exe")) { python -m venv .venv }
$python = (Resolve-Path ".venv\Scripts\python.exe").Path
& $python -m pip install -q -e ".[package]"; if ($LASTEXITCODE) { exit $LASTEXITCODE }
$version = (& $python -c "import workbench; print(workbench.__version__)").Trim()

Remove-Item -Recurse -Force build\stage, build\pyinstaller, dist\workbench -ErrorAction SilentlyContinue
& $python -m pip install -q --no-deps --target build\stage .; if ($LASTEXITCODE) { exit $LASTEXITCODE }
$env:WORKBENCH_STAGE = (Resolve-Path "build\stage").Path
& $python -m PyInstaller --noconfirm --log-level WARN --workpath build\pyinstaller --distpath dist `
    packaging\workbench.spec
if ($LASTEXITCODE) { exit $LASTEXITCODE }
$torch = & $python -c "import torch; print(('CUDA build, CUDA ' + torch.version.cuda) if torch.version.cuda else 'CPU build', torch.__version__)"

$iscc = @("${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe", "$env:ProgramFiles\Inno Setup 6\ISCC.exe") |
    Where-Object { Test-Path $_ } | Select-Object -First 1
if (-not $iscc) { throw "Inno Setup 6 (ISCC.exe) not found: install it from https://jrsoftware.org/isinfo.php" }
& $iscc /Qp "/DAppVersion=$version" packaging\windows\workbench.iss; if ($LASTEXITCODE) { exit $LASTEXITCODE }

$bundle = (Get-ChildItem -Recurse -File dist\workbench | Measure-Object -Sum Length).Sum / 1MB
Write-Host ("Workbench {0}; torch: {1}; bundle {2:N0} MiB; build time {3:N0}s" -f $version, $torch, $bundle,
    ((Get-Date) - $started).TotalSeconds)
