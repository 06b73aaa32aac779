"""Property tests: any input to metadata parsing or run-folder reading gives a value or a clear error.

The clear error is the project's own type (WeightsError for model files; for run folders, none at
all: a damaged run is a RunInfo with a note). Any other exception is a bug.
"""

from __future__ import annotations

import json
import struct
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.model_files import ModelMetadata
from workbench.model_limits import check_declared_size, parse_metadata_json
from workbench.models import WeightsError
from workbench.runs import RunInfo, read_run_info

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20)
# Close to valid metadata, so the checks behind the type checks are reached too.
near_metadata = st.fixed_dictionaries({
    "class_names": st.lists(st.text(max_size=8), max_size=4) | json_values,
    "image_size": st.integers(-5, 5000) | json_values,
    "mean": st.lists(st.floats(), max_size=4) | json_values,
    "std": st.lists(st.floats(), max_size=4) | json_values,
    "architecture": st.sampled_from(["small_cnn", "vit_b_16", "nope", ""]) | json_values,
}, optional={"epoch": json_values, "workbench_version": json_values})


@_SETTINGS
@given(data=json_values | near_metadata)
def test_metadata_from_any_json_value_is_metadata_or_a_weights_error(data):
    try:
        meta = ModelMetadata.from_dict(data, "model.json")
    except WeightsError as exc:
        assert str(exc).startswith("The model metadata of model.json")
        return
    assert 16 <= meta.image_size <= 1024 and meta.class_names and len(meta.mean) == 3


@_SETTINGS
@given(text=st.text(max_size=200) | st.binary(max_size=200)
       | json_values.map(json.dumps) | st.integers(1, 5000).map(lambda n: "[" * n + "]" * n))
def test_any_metadata_block_parses_to_an_object_or_a_weights_error(text):
    try:
        assert isinstance(parse_metadata_json(text, "m.onnx"), dict)
    except WeightsError as exc:
        assert "m.onnx" in str(exc)


@_SETTINGS
@given(header=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_safetensors_header_gives_a_size_or_a_weights_error(header):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.safetensors"
        path.write_bytes(struct.pack("<Q", len(header)) + header)
        try:
            assert check_declared_size(path, "safetensors") >= 0
        except WeightsError:
            pass


file_text = (st.text(max_size=300) | json_values.map(json.dumps)
             | st.sampled_from(["[1]", "1e400", '{"best_value": 1e400, "stopped_epoch": -1e400}',
                                '{"model": "small_cnn", "monitor": 5}', '{"status": [1]}', "\0\0"]))
metrics_text = st.text(max_size=300) | st.lists(
    st.lists(st.sampled_from(["1", "2.5", "nan", "inf", "1e400", "", "x", "-3"]), max_size=8),
    max_size=5).map(lambda rows: "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n"
                    + "\n".join(",".join(r) for r in rows))


@_SETTINGS
@given(config=file_text, summary=file_text | st.none(), metrics=metrics_text | st.none(),
       log=st.binary(max_size=60) | st.none())
def test_any_run_folder_reads_as_a_run_with_a_note(config, summary, metrics, log):
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        (run / "checkpoints").mkdir()
        (run / "config.json").write_text(config, encoding="utf-8", errors="surrogatepass")
        for name, text in (("summary.json", summary), ("metrics.csv", metrics)):
            if text is not None:
                (run / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        if log is not None:
            (run / "train.log").write_bytes(log)
        info = read_run_info(run)
    assert isinstance(info, RunInfo) and isinstance(info.note, str) and info.epochs_run >= 0
    assert info.best_value is None or info.best_value == info.best_value  # finite, never nan
