"""Which system libraries Qt's X11 (xcb) platform plugin is missing, and the line that installs them.

Without one of them Qt aborts with "Could not load the Qt platform plugin xcb", naming at best
``libxcb-cursor0`` whatever is actually missing. Each library the plugin is known to need is
opened with ``ctypes`` (fast); if one fails, ``ldd`` on the plugin (which follows its dependency
``libQt6XcbQpa`` through the wheel's RPATH) lists every library the loader cannot find.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

# soname → (Debian/Ubuntu package, Fedora package): what Qt 6's xcb plugin links against.
XCB_LIBRARIES = {
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}


def xcb_plugin() -> Path | None:
    """PySide6's ``plugins/platforms/libqxcb.so``, if this installation has one."""
    try:
        import PySide6  # the package only: no Qt library is loaded yet
    except ImportError:
        return None
    for plugins in (Path(PySide6.__file__).parent / "Qt" / "plugins",
                    Path(PySide6.__file__).parent / "plugins"):
        plugin = plugins / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def missing_from_ldd(output: str) -> list[str]:
    """The sonames ``ldd`` reports as ``not found``."""
    missing = []
    for line in output.splitlines():
        name, _, where = line.strip().partition("=>")
        if "not found" in where and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def missing_libraries(plugin: Path | None = None, *, ldd: str | None = None) -> list[str]:
    """Sonames the xcb plugin needs and the system cannot load (empty: nothing missing).

    Opening the known libraries takes milliseconds (Qt opens them next anyway); only when one
    is missing does ``ldd`` (seconds on a busy machine) list the complete set, unknown ones too.
    """
    plugin = plugin or xcb_plugin()
    if plugin is None:
        return []
    missing = []
    for soname in XCB_LIBRARIES:
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(soname)
    if not missing:
        return []
    ldd = ldd if ldd is not None else shutil.which("ldd")
    if ldd:
        try:
            done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=30)
            listed = missing_from_ldd(done.stdout) if done.returncode == 0 else []
            missing += [name for name in listed if name not in missing]
        except (OSError, subprocess.SubprocessError):
            pass
    return missing


def install_advice(missing: list[str]) -> str:
    """What to tell the user: the missing libraries and the one install line per distribution."""
    known = [XCB_LIBRARIES[name] for name in missing if name in XCB_LIBRARIES]
    unknown = [name for name in missing if name not in XCB_LIBRARIES]
    apt = sorted({debian for debian, _ in known})
    dnf = sorted({fedora for _, fedora in known})
    lines = [f"error: the window needs system libraries that are missing: {', '.join(missing)}."]
    if apt:
        lines += ["Install them with:",
                  f"  Debian/Ubuntu:  sudo apt-get install {' '.join(apt)}",
                  f"  Fedora:         sudo dnf install {' '.join(dnf)}"]
    if unknown:
        lines.append(f"Find the package that provides {', '.join(unknown)} with your package manager "
                     "(apt-file search, dnf provides).")
    lines.append("Or train without the window: workbench train FOLDER.")
    return "\n".join(lines)


def xcb_will_be_used() -> bool:
    """Qt will open an X11 window: Linux, a DISPLAY, and no other platform asked for."""
    if not sys.platform.startswith("linux") or not os.environ.get("DISPLAY"):
        return False
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0].split(";")[0] == "xcb"
    # Without QT_QPA_PLATFORM, Qt ≥ 6.5 prefers Wayland in a Wayland session and xcb elsewhere.
    return not os.environ.get("WAYLAND_DISPLAY")


def check_xcb_libraries() -> str | None:
    """The advice to print before Qt would abort on a missing library, or None."""
    if not xcb_will_be_used():
        return None
    missing = missing_libraries()
    return install_advice(missing) if missing else None
