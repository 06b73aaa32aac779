"""What ships: the package carries its resources, and the installer recipes agree with each other."""

import ast
import configparser
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_built_wheel_carries_the_sample_dataset(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(ROOT)], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("workbench-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(tmp_path / "site"), str(wheel)], check=True, capture_output=True)
    probe = ("import workbench, workbench.resources_path as r; d = r.sample_data_dir(); "
             "print(workbench.__file__); print(d); print(len(list(d.glob('*/*.jpg')))); "
             "print(sorted(p.name for p in r.resources_dir().glob('**/workbench*.*'))); "
             "print((r.resources_dir() / 'help' / 'guide.html').is_file())")
    out = subprocess.run([sys.executable, "-c", probe], env={"PYTHONPATH": str(tmp_path / "site")},
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0].startswith(str(tmp_path / "site"))  # the installed copy, not this checkout
    assert out[1].startswith(str(tmp_path / "site")) and int(out[2]) == 400
    for name in ("workbench.desktop", "workbench.png", "workbench.svg", "workbench-512.png"):
        assert name in out[3]  # the icons and the desktop entry travel with the package
    assert out[4] == "True"  # and the user guide the Help menu opens


# --- the installers: one version source, one name, the same icons on every platform -------------

PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def _spec_list(name: str) -> list[str]:
    """A literal list assigned at the top of the PyInstaller spec (which only PyInstaller can run)."""
    tree = ast.parse((PACKAGING / "workbench.spec").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in workbench.spec")


def test_every_recipe_takes_the_version_from_the_package():
    spec = (PACKAGING / "workbench.spec").read_text()
    assert "VERSION = workbench.__version__" in spec and "CFBundleShortVersionString" in spec
    for script in ("build.sh", "macos/build_dmg.sh", "windows/build.ps1"):
        assert "import workbench; print(workbench.__version__)" in (PACKAGING / script).read_text(), script
    assert '"$version"' in (PACKAGING / "build.sh").read_text()  # handed on to make_deb.sh
    iss = (PACKAGING / "windows" / "workbench.iss").read_text()
    assert "#error" in iss and "AppVersion={#AppVersion}" in iss  # refuses to build without it
    assert '"/DAppVersion=$version"' in (PACKAGING / "windows" / "build.ps1").read_text()
    assert not re.search(r"\b\d+\.\d+\.\d+\b", iss + spec), "a version number is written out by hand"


def test_recipes_share_the_app_name_the_spec_and_the_icons():
    iss = (PACKAGING / "windows" / "workbench.iss").read_text()
    assert '#define AppName "Workbench"' in iss and 'APP_NAME = "Workbench"' in (
        PACKAGING / "workbench.spec").read_text()
    assert "Name=Workbench" in (ROOT / "resources" / "workbench.desktop").read_text()
    for script in ("build.sh", "macos/build_dmg.sh", "windows/build.ps1"):
        assert "packaging/workbench.spec" in (PACKAGING / script).read_text().replace("\\", "/"), script
    # Files the Windows script names under the checkout exist (the bundle itself is built first).
    for path in re.findall(r'\{#Root\}\\([^"\s]+)', iss):
        assert path.split("\\")[0] == "dist" or (ROOT / path.replace("\\", "/")).exists(), path
    assert "workbench-gui.exe" in iss  # the windowed executable the spec adds on Windows
    assert 'executable("workbench-gui", console=False)' in (PACKAGING / "workbench.spec").read_text()


def test_icons_exist_at_every_size_the_deb_installs():
    from PIL import Image

    for size in ICON_SIZES:
        with Image.open(ICONS / f"workbench-{size}.png") as image:
            assert image.size == (size, size) and image.mode == "RGBA"
    assert (ICONS / "workbench.ico").stat().st_size > 0 and (ICONS / "workbench.png").exists()
    spec = importlib.util.spec_from_file_location("make_icons", ICONS / "make_icons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert tuple(module.SIZES) == ICON_SIZES
    assert (ICONS / "workbench.svg").read_text() == module.svg()  # the committed SVG is current


def test_desktop_entry_launches_the_command_with_the_installed_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "resources" / "workbench.desktop")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Exec"].split()[0] == "workbench"
    assert section["Icon"] == "workbench" and section["Terminal"] == "false"
    assert section["Categories"].endswith(";")
    deb = (PACKAGING / "linux" / "make_deb.sh").read_text()
    assert "usr/share/icons/hicolor/${size}x${size}/apps/workbench.png" in deb
    assert "usr/share/applications/workbench.desktop" in deb


def test_modules_the_bundle_leaves_out_are_not_imported_by_workbench():
    excluded = _spec_list("EXCLUDES")
    assert "triton" in excluded
    for path in (ROOT / "workbench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                hit = [e for e in excluded if name == e or name.startswith(e + ".")]
                assert not hit, f"{path.relative_to(ROOT)} imports {name}, which workbench.spec excludes"



def test_every_subpackage_is_in_the_package_list():
    """setuptools' explicit list: a package missing from it is left out of a non-editable install
    and so of the installer (an editable install hides the mistake)."""
    import pytest

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "workbench").rglob("__init__.py")}
    assert found - listed == set()
