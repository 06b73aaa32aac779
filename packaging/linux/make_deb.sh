#!/usr/bin/env bash
# Wrap a PyInstaller one-folder bundle into a .deb:
#   /opt/workbench/                    the bundle (workbench executable + _internal/)
#   /usr/bin/workbench                 symlink to /opt/workbench/workbench (relative, so it also
#                                      resolves inside a `dpkg -x` scratch root)
#   /usr/share/applications/workbench.desktop
#   /usr/share/icons/hicolor/<N>x<N>/apps/workbench.png, scalable/apps/workbench.svg
#
# Usage: make_deb.sh BUNDLE_DIR VERSION OUT_DIR      (prints the .deb's path on its last line)
# WORKBENCH_DEB_COMPRESSION: dpkg-deb compression flags (default "-Zzstd -z1": seconds, not minutes)
set -euo pipefail
bundle=$(cd "$1" && pwd)
version=$2
out_dir=$(mkdir -p "$3" && cd "$3" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
resources="$here/../../resources"
arch=$(dpkg --print-architecture)

stage=$(mktemp -d "${TMPDIR:-/tmp}/workbench-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications"
# Hard links, not a copy: the bundle is gigabytes and dpkg-deb only reads it.
cp -al "$bundle" "$root/opt/workbench" 2>/dev/null || cp -a "$bundle" "$root/opt/workbench"
ln -s ../../opt/workbench/workbench "$root/usr/bin/workbench"
install -m 644 "$resources/workbench.desktop" "$root/usr/share/applications/workbench.desktop"
for png in "$resources"/icons/workbench-*.png; do
    size=$(basename "$png" .png); size=${size#workbench-}
    install -D -m 644 "$png" "$root/usr/share/icons/hicolor/${size}x${size}/apps/workbench.png"
done
install -D -m 644 "$resources/icons/workbench.svg" "$root/usr/share/icons/hicolor/scalable/apps/workbench.svg"

installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: workbench
Version: $version
Architecture: $arch
Section: science
Priority: optional
Maintainer: ${WORKBENCH_MAINTAINER:-Workbench developers <workbench@users.noreply.github.com>}
Installed-Size: $installed_kb
Depends: libc6, libegl1, libgl1, libfontconfig1, libxkbcommon0, libdbus-1-3, libxkbcommon-x11-0, libxcb-cursor0
Description: train image classifiers on your own folders of images
 Workbench trains an image classifier on a folder of images (one subfolder per
 class) from a window with live curves or from the command line
 (workbench train). It bundles its own Python, PyTorch (CUDA build, which also
 runs on the CPU) and Qt, installed under /opt/workbench.
EOF
# Refresh the desktop's menu and icon caches where the tools exist (none of them is required).
for script in postinst postrm; do
    cat > "$root/DEBIAN/$script" <<'EOF'
#!/bin/sh
set -e
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q /usr/share/applications || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
fi
exit 0
EOF
    chmod 755 "$root/DEBIAN/$script"
done

deb="$out_dir/workbench_${version}_${arch}.deb"
# shellcheck disable=SC2086  # the compression flags are a word list on purpose
dpkg-deb --root-owner-group ${WORKBENCH_DEB_COMPRESSION:--Zzstd -z1} --threads-max="$(nproc)" \
    --build "$root" "$deb" >/dev/null
echo "$deb"
