"""The missing-library check before Qt's xcb plugin would abort the process."""

import os
import stat

from workbench.gui import system_libraries
from workbench.gui.app import run_app


def _x11_session(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def _fake_ldd(tmp_path, lines):
    script = tmp_path / "ldd"
    script.write_text("#!/bin/sh\n" + "".join(f"echo '{line}'\n" for line in lines))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_a_missing_library_is_named_with_the_one_install_line_per_distribution(
        monkeypatch, tmp_path, capsys):
    _x11_session(monkeypatch)
    # A library that cannot be opened (faked: no such file) and one that ldd reports missing.
    libraries = dict(system_libraries.XCB_LIBRARIES)
    libraries["libxcb-fake-missing.so.9"] = ("libxcb-fake-missing9", "xcb-util-fake")
    monkeypatch.setattr(system_libraries, "XCB_LIBRARIES", libraries)
    ldd = _fake_ldd(tmp_path, ["\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x1)",
                               "\tlibxcb-icccm.so.4 => not found", "\tlibxcb-keysyms.so.1 => not found"])
    real = system_libraries.missing_libraries
    monkeypatch.setattr(system_libraries, "missing_libraries", lambda: real(ldd=ldd))
    assert run_app([]) == 2  # before any QApplication is made: Qt would abort the process
    err = capsys.readouterr().err
    assert "libxcb-fake-missing.so.9, libxcb-icccm.so.4, libxcb-keysyms.so.1" in err
    assert "sudo apt-get install libxcb-fake-missing9 libxcb-icccm4 libxcb-keysyms1" in err
    assert "sudo dnf install xcb-util-fake xcb-util-keysyms xcb-util-wm" in err


def test_nothing_is_reported_when_every_library_loads_or_another_platform_is_used(monkeypatch, tmp_path):
    _x11_session(monkeypatch)
    monkeypatch.setattr(system_libraries, "XCB_LIBRARIES", {"libc.so.6": ("libc6", "glibc")})
    assert system_libraries.missing_libraries(ldd=_fake_ldd(tmp_path, ["\tlibfoo.so.1 => not found"])) == []
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert not system_libraries.xcb_will_be_used() and system_libraries.check_xcb_libraries() is None
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert system_libraries.xcb_will_be_used()


def test_an_unknown_missing_library_is_still_named(monkeypatch):
    advice = system_libraries.install_advice(["libsomething-new.so.2"])
    assert "libsomething-new.so.2" in advice and "apt-get" not in advice and "dnf provides" in advice


def test_the_readme_install_line_lists_every_debian_package():
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    line = next(line for line in readme.splitlines() if line.startswith("sudo apt-get install"))
    for debian, _fedora in system_libraries.XCB_LIBRARIES.values():
        assert debian in line, debian
