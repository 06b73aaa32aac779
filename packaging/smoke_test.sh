#!/usr/bin/env bash
# Smoke test of the Linux installer: build it (or take DEB), unpack it into a scratch root, and
# from there run `workbench --version`, one epoch of `workbench train` on the bundled sample data
# and the window offscreen (open, ready, close), all with a bare environment (no venv, no
# PYTHONPATH). As root, and unless WORKBENCH_SMOKE_INSTALL=0, it also installs the .deb for real
# (dpkg -i), runs the installed launcher and removes the package (dpkg -r, --purge), checking
# nothing is left.
# Exits non-zero on the first failure.
#
# Usage: packaging/smoke_test.sh [DEB]
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' workbench/__init__.py)

if [ $# -ge 1 ]; then
    deb=$(realpath "$1")
else
    packaging/build.sh
    deb=$(realpath "dist/workbench_${version}_$(dpkg --print-architecture).deb")
fi
built=$(date +%s)

fail() { echo "SMOKE FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/workbench-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
# What a user's session would have, minus anything of this checkout or its venv.
bare() { env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$work/home" LANG=C.UTF-8 \
             XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" "$@"; }
mkdir -p "$work/home"

# --- the package's metadata and file list
info=$(dpkg-deb --info "$deb")
grep -q "^ Package: workbench$" <<<"$info" || fail "control file has no 'Package: workbench'"
grep -q "^ Version: $version$" <<<"$info" || fail "package version is not $version"
contents=$(dpkg-deb --contents "$deb")
for path in ./opt/workbench/workbench ./usr/bin/workbench ./usr/share/applications/workbench.desktop \
            ./usr/share/icons/hicolor/48x48/apps/workbench.png ./usr/share/icons/hicolor/256x256/apps/workbench.png \
            ./usr/share/icons/hicolor/scalable/apps/workbench.svg; do
    grep -q " $path\( ->.*\)\?$" <<<"$contents" || fail "$path is not in the package"
done
ok "dpkg-deb --info/--contents: workbench $version, /opt/workbench, launcher, .desktop, icons"

# --- unpack into a scratch root and run from there
root="$work/root"
dpkg-deb -x "$deb" "$root"
launcher="$root/usr/bin/workbench"
[ "$(readlink -f "$launcher")" = "$root/opt/workbench/workbench" ] \
    || fail "usr/bin/workbench does not lead to opt/workbench/workbench"
grep -q "^Exec=workbench" "$root/usr/share/applications/workbench.desktop" || fail ".desktop has no Exec=workbench"

out=$(cd "$work" && bare "$launcher" --version 2>&1) || { echo "$out"; fail "workbench --version exited non-zero"; }
[ "$out" = "workbench $version" ] || fail "workbench --version printed '$out', expected 'workbench $version'"
ok "installed workbench --version: $out"

# One epoch on the bundled sample data. LD_DEBUG records where every shared library came from:
# torch's and CUDA's must all be the bundle's own copies.
run="$work/runs/smoke"
t0=$(date +%s)
(cd "$work" && bare LD_DEBUG=libs LD_DEBUG_OUTPUT="$work/ld" \
    "$launcher" train --epochs 1 --runs-dir "$work/runs" --out "$run" --quiet) > "$work/train.out" 2>&1 \
    || { cat "$work/train.out"; fail "workbench train exited non-zero"; }
for file in config.json metrics.csv summary.json checkpoints/best.pt checkpoints/last.pt; do
    [ -s "$run/$file" ] || { cat "$work/train.out"; fail "the run folder has no $file"; }
done
grep -q "\"dataset\": \"$root/opt/workbench/.*/sample_data\"" "$run/summary.json" \
    || fail "the run did not train on the bundled sample data"
loaded=$(grep -h "calling init:" "$work"/ld.* | awk '{print $NF}' | sort -u)
torch_libs=$(grep -E "libtorch_cpu|libtorch_cuda|libcudnn|libcublas|libnccl|libc10" <<<"$loaded" || true)
[ -n "$torch_libs" ] || fail "LD_DEBUG saw no torch library load"
foreign=$(grep -v "^$root/opt/workbench/" <<<"$torch_libs" || true)
[ -z "$foreign" ] || fail "torch/CUDA libraries loaded from outside the bundle: $foreign"
ok "workbench train: 1 epoch in $(( $(date +%s) - t0 ))s, $(tail -2 "$work/train.out" | head -1)"
ok "torch/CUDA libraries all from the bundle ($(wc -l <<<"$torch_libs") loaded)"

# Every export format from the bundle, each verified by the app itself (loaded back as a user would,
# compared on validation images), then predictions through the ONNX file.
for format in pt safetensors torchscript onnx; do
    out=$(cd "$work" && bare "$launcher" export "$run" --format "$format" 2>&1) \
        || { echo "$out"; fail "workbench export --format $format exited non-zero"; }
    grep -q "max abs difference" <<<"$out" || { echo "$out"; fail "export $format did not report its check"; }
done
ok "workbench export: pt, safetensors, torchscript, onnx written and verified"
sample=$(sed -n 's/.*"dataset": "\(.*\)".*/\1/p' "$run/summary.json" | head -1)
out=$(cd "$work" && bare "$launcher" predict "$run"/exports/*.onnx "$sample/circle" --top-k 1 --json 2>&1) \
    || { echo "$out"; fail "workbench predict exited non-zero"; }
grep -q '"top"' <<<"$out" || { echo "$out"; fail "workbench predict printed no predictions"; }
ok "workbench predict with the ONNX export: $(grep -c '"image"' <<<"$out") images classified"

# The studies from the bundle: a learning-rate sweep, and a one-trial search (Optuna's SQLite study
# needs its storage's data files inside the bundle).
out=$(cd "$work" && bare "$launcher" lr-find --out "$work/lr-find" --quiet 2>&1) || [ -s "$work/lr-find/lr_find.json" ] \
    || { echo "$out"; fail "workbench lr-find wrote no lr_find.json"; }
ok "workbench lr-find: $(head -1 <<<"$out")"
out=$(cd "$work" && bare "$launcher" search --trials 1 --epochs 1 --sampler random --out "$work/search" \
      --quiet 2>&1) || { echo "$out"; fail "workbench search exited non-zero"; }
[ -s "$work/search/study.db" ] && [ -s "$work/search/search_summary.json" ] \
    || { echo "$out"; fail "workbench search wrote no study.db / search_summary.json"; }
ok "workbench search: $(head -1 <<<"$out")"

# The window, offscreen: it opens on the sample data, reports ready and closes itself.
out=$(cd "$work" && bare QT_QPA_PLATFORM=offscreen WORKBENCH_QUIT_WHEN_READY=1 \
      timeout 300 "$launcher" 2>&1) || { echo "$out"; fail "the window did not open and close cleanly"; }
grep -q "window ready: True; dataset $root/opt/workbench/.*sample_data" <<<"$out" \
    || { echo "$out"; fail "the window did not report ready on the bundled sample data"; }
ok "window opened offscreen on the bundled sample data and closed"

# The same on an X server (Xvfb), through the xcb platform plugin a Linux desktop uses.
if command -v xvfb-run >/dev/null; then
    # shellcheck disable=SC2016  # $DISPLAY/$XAUTHORITY are xvfb-run's, expanded by the inner shell
    out=$(cd "$work" && xvfb-run -a -s "-screen 0 1280x800x24" bash -c \
          'exec env -i PATH=/usr/bin:/bin HOME="$0/home" LANG=C.UTF-8 XDG_CONFIG_HOME="$0/home/.config" \
               DISPLAY="$DISPLAY" XAUTHORITY="$XAUTHORITY" WORKBENCH_QUIT_WHEN_READY=1 timeout 300 "$1"' \
          "$work" "$launcher" 2>&1) || { echo "$out"; fail "the window did not open and close on Xvfb"; }
    grep -q "window ready: True" <<<"$out" || { echo "$out"; fail "the window was not ready on Xvfb"; }
    ok "window opened on an X server (xcb) and closed"
else
    echo "skipped: the window on an X server (no xvfb-run; apt-get install xvfb xauth)"
fi

# --- a real install and removal, on a throw-away machine only
not_installed() {
    case "$(dpkg-query -W -f='${Status}' workbench 2>/dev/null || true)" in
        "" | *not-installed) return 0 ;;
        *) return 1 ;;
    esac
}
if [ "$(id -u)" = 0 ] && [ "${WORKBENCH_SMOKE_INSTALL:-1}" != 0 ]; then
    if ! not_installed || [ -e /opt/workbench ]; then
        fail "/opt/workbench or a workbench package already exists here; set WORKBENCH_SMOKE_INSTALL=0"
    fi
    if ! dpkg -i "$deb" > "$work/install.out" 2>&1; then
        # Missing dependencies: let apt bring them, as `apt install ./workbench.deb` would.
        apt-get update -qq && apt-get install -f -y -qq >> "$work/install.out" 2>&1 \
            || { cat "$work/install.out"; fail "dpkg -i failed"; }
    fi
    [ "$(command -v workbench)" = /usr/bin/workbench ] || fail "workbench is not on the PATH after dpkg -i"
    out=$(cd "$work" && bare workbench --version 2>&1) || { echo "$out"; fail "installed workbench --version failed"; }
    [ "$out" = "workbench $version" ] || fail "installed /usr/bin/workbench --version printed '$out'"
    ok "dpkg -i: /usr/bin/workbench --version: $out"
    dpkg -r workbench > "$work/remove.out" 2>&1 || { cat "$work/remove.out"; fail "dpkg -r failed"; }
    # -r keeps only dpkg's record of the maintainer scripts; --purge forgets the package too.
    dpkg --purge workbench >> "$work/remove.out" 2>&1 || { cat "$work/remove.out"; fail "dpkg --purge failed"; }
    not_installed || fail "dpkg still lists workbench: $(dpkg-query -W -f='${Status}' workbench)"
    left=$(ls -d /opt/workbench /usr/bin/workbench /usr/share/applications/workbench.desktop \
                 /usr/share/icons/hicolor/*/apps/workbench.* 2>/dev/null || true)
    [ -z "$left" ] || fail "dpkg -r left files behind: $left"
    ok "dpkg -r / --purge: removed cleanly (nothing left under /opt/workbench or /usr/share)"
fi

echo "SMOKE OK: $(basename "$deb") ($(( $(stat -c %s "$deb") / 1048576 )) MiB); build $((built - started))s, smoke $(( $(date +%s) - built ))s"
