"""The README's plain-Python snippets, run in fresh processes on real exports, agree with the model."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from workbench.export import FORMATS
from workbench.predict import Predictor

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
_PLACEHOLDER = {"pt": "model.pt", "safetensors": "model.safetensors",
                "torchscript": "model.torchscript.pt", "onnx": "model.onnx"}


def _snippet(name: str) -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- snippet: {name} -->\s*```python\n(.*?)```", readme, re.S)
    assert match, f"README has no snippet {name!r}"
    return match.group(1)


@pytest.mark.parametrize("fmt", FORMATS)
def test_readme_snippet_loads_the_export_in_a_fresh_process(exported_models, trained_run, tiny_data,
                                                            fmt, tmp_path):
    result = exported_models[fmt]
    image = sorted(tiny_data.glob("star/*.jpg"))[0]
    code = _snippet(fmt)
    assert f'"{_PLACEHOLDER[fmt]}' in code and '"photo.jpg"' in code
    code = code.replace(f'"{_PLACEHOLDER[fmt]}', f'"{result.path}').replace('"photo.jpg"', f'"{image}"')
    script = _snippet("preprocess") + code + "print(json.dumps(logits.tolist()))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    *printed, logits_json = done.stdout.strip().splitlines()
    logits = np.asarray(json.loads(logits_json))
    reference = Predictor.load(trained_run)
    expected = reference.logits([reference.read_image(image)])
    np.testing.assert_allclose(logits, expected, atol=1e-4)
    # The printed probability is the calibrated one (the temperature came with the export).
    [prediction] = reference.predict([image], top_k=1)
    [(name, probability)] = prediction.top
    [line] = printed
    assert line.split()[0] == name and float(line.split()[1]) == pytest.approx(probability, abs=2e-3)
    assert reference.temperature != 1.0 and ("unsure" in line.split()) == prediction.unsure
