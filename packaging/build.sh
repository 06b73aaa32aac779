#!/usr/bin/env bash
# Build the one-folder app (dist/workbench/) and the Linux installer (dist/workbench_<version>_<arch>.deb)
# from a checkout. Prints the bundle size before and after trimming, the .deb size, the build
# time and which torch build (CUDA or CPU) went in.
#
# WORKBENCH_BUILD_VENV  venv to build with (default: .venv, created with the README's command if
#                       missing); `pyinstaller` is installed into it from the `package` extra.
# WORKBENCH_NO_DEB=1    stop after the bundle.   WORKBENCH_NO_TRIM=1  keep every collected file.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
started=$(date +%s)
venv=${WORKBENCH_BUILD_VENV:-$root/.venv}

# PyInstaller reads binaries' dependencies with ldd/objdump; the .deb needs dpkg-deb.
missing=()
command -v objdump >/dev/null || missing+=(binutils)
command -v dpkg-deb >/dev/null || missing+=(dpkg)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq "${missing[@]}"
    else
        echo "error: install ${missing[*]} first (sudo apt-get install ${missing[*]})" >&2
        exit 2
    fi
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -e ".[package]"
python="$venv/bin/python"
version=$("$python" -c "import workbench; print(workbench.__version__)")

# Stage a regular (non-editable) install: workbench.resources laid out as in a wheel.
rm -rf build/stage build/pyinstaller dist/workbench
"$python" -m pip install -q --no-deps --target build/stage .
WORKBENCH_STAGE="$root/build/stage" "$python" -m PyInstaller --noconfirm --log-level WARN \
    --workpath build/pyinstaller --distpath dist packaging/workbench.spec
bundle_seconds=$(( $(date +%s) - started ))

torch_build=$("$python" - <<'EOF'
import torch
cuda = torch.version.cuda
print(f"CUDA build (torch {torch.__version__}, CUDA {cuda})" if cuda else f"CPU build (torch {torch.__version__})")
EOF
)
bundle_bytes=$(du -sb dist/workbench | cut -f1)
trimmed_bytes=$("$python" -c "import json; print(json.load(open('build/pyinstaller/workbench/trim_report.json'))['bytes'])")
rm -rf build/pyinstaller build/stage build/lib build/bdist.*  # intermediate files; dist/ keeps the results

deb=""
if [ -z "${WORKBENCH_NO_DEB:-}" ]; then
    deb=$(packaging/linux/make_deb.sh dist/workbench "$version" dist | tail -1)
fi
total_seconds=$(( $(date +%s) - started ))

mib() { awk -v b="$1" 'BEGIN { printf "%.0f MiB", b / 1048576 }'; }
echo
echo "Workbench $version"
echo "torch:           $torch_build"
echo "bundle:          $root/dist/workbench  $(mib "$bundle_bytes") ($(mib $((bundle_bytes + trimmed_bytes))) before trimming)"
if [ -n "$deb" ]; then
    echo "installer:       $deb  $(mib "$(stat -c %s "$deb")")"
fi
echo "build time:      ${total_seconds}s (bundle ${bundle_seconds}s, .deb $((total_seconds - bundle_seconds))s)"
