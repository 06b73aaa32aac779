"""The sample dataset ships inside the package, so a non-editable install finds it too."""

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
             "print(workbench.__file__); print(d); print(len(list(d.glob('*/*.jpg'))))")
    out = subprocess.run([sys.executable, "-c", probe], env={"PYTHONPATH": str(tmp_path / "site")},
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0].startswith(str(tmp_path / "site"))  # the installed copy, not this checkout
    assert out[1].startswith(str(tmp_path / "site")) and int(out[2]) == 400
