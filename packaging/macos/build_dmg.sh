#!/usr/bin/env bash
# Build the macOS app and disk image on a Mac: dist/Workbench.app from packaging/workbench.spec
# (the spec's BUNDLE step, same resources and icon as Linux and Windows) and
# dist/Workbench-<version>.dmg with the app and an Applications link to drag it onto.
# Needs Python >= 3.10 and the Xcode command line tools (hdiutil ships with macOS).
# The command line is inside the app:  /Applications/Workbench.app/Contents/MacOS/workbench train …
# torch on macOS is the CPU/MPS build (no CUDA); the app trains on Apple GPUs with --device mps.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(uname)" = Darwin ] || { echo "error: build the .dmg on macOS (hdiutil)" >&2; exit 2; }
started=$(date +%s)
venv=${WORKBENCH_BUILD_VENV:-.venv}

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -e ".[package]"
python="$venv/bin/python"
version=$("$python" -c "import workbench; print(workbench.__version__)")

rm -rf build/stage build/pyinstaller dist/workbench dist/Workbench.app
"$python" -m pip install -q --no-deps --target build/stage .
WORKBENCH_STAGE="$PWD/build/stage" "$python" -m PyInstaller --noconfirm --log-level WARN \
    --workpath build/pyinstaller --distpath dist packaging/workbench.spec

# Ad-hoc signature so Gatekeeper lets a locally built app start; sign with a Developer ID and
# notarize (xcrun notarytool) before distributing.
codesign --force --deep --sign - dist/Workbench.app

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
cp -R dist/Workbench.app "$staging/"
ln -s /Applications "$staging/Applications"
dmg="dist/Workbench-$version.dmg"
rm -f "$dmg"
hdiutil create -volname "Workbench $version" -srcfolder "$staging" -fs HFS+ -format UDZO -ov "$dmg"

echo "Workbench $version"
echo "torch: $("$python" -c "import torch; print('CPU/MPS build', torch.__version__)")"
echo "app:   dist/Workbench.app  $(du -sh dist/Workbench.app | cut -f1)"
echo "dmg:   $dmg  $(du -sh "$dmg" | cut -f1)"
echo "build time: $(( $(date +%s) - started ))s"
