"""The held-out test set: carved out first, stratified, scored once at the end, and never
able to change anything the run chooses."""

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workbench.config import ConfigError, TrainConfig
from workbench.data.prepare import split_dataset, split_samples
from workbench.data.scan import scan_image_folder
from workbench.engine.trainer import Trainer


def test_no_test_fraction_keeps_the_split_of_before(tiny_data):
    from workbench.data.split import stratified_split

    scan = scan_image_folder(tiny_data)
    config = TrainConfig(data_dir=str(tiny_data))
    assert split_samples(scan, config) == stratified_split(scan.samples["all"], 0.2, 0)
    assert split_dataset(scan, config).test == []


def test_the_test_set_is_stratified_and_disjoint_and_everything_is_used_once(tiny_data):
    scan = scan_image_folder(tiny_data)  # 4 classes × 16
    train, val, test = split_dataset(scan, TrainConfig(data_dir=str(tiny_data), test_fraction=0.25,
                                                       val_fraction=0.25))
    paths = [p for p, _ in train + val + test]
    assert len(paths) == len(set(paths)) == 64
    assert sorted(label for _, label in test) == sorted([0, 1, 2, 3] * 4)  # 4 of each class
    assert len(val) == 16 and len(train) == 32  # val is a share of the whole


def test_a_presplit_folder_uses_its_own_test_folder(tmp_path):
    for split in ("train", "val", "test"):
        for cls in ("a", "b"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (8, 8), (i, 0, 0)).save(tmp_path / split / cls / f"{i}.png")
    split = split_dataset(scan_image_folder(tmp_path), TrainConfig(data_dir=str(tmp_path), test_fraction=0.5))
    assert len(split.test) == 6 and all("/test/" in p for p, _ in split.test)


def test_validation_and_test_fractions_must_leave_training_images():
    with pytest.raises(ConfigError, match="leave no images to train on"):
        TrainConfig(val_fraction=0.5, test_fraction=0.5).validate()


def _history(run: Path):
    with open(run / "metrics.csv") as fh:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(fh)]


def test_the_test_set_is_scored_at_the_end_and_never_chooses_anything(tiny_data, tmp_path):
    clean = tmp_path / "clean"
    shutil.copytree(tiny_data, clean)
    config = TrainConfig(data_dir=str(clean), model="small_cnn", image_size=32, epochs=3, batch_size=8,
                         workers=1, test_fraction=0.25, early_stopping=True, patience=1)
    first = Trainer(config, out=tmp_path / "run1").run()
    test = first["test"]
    assert test["n"] == 16 and 0 <= test["accuracy"] <= 1 and test["loss"] > 0
    assert len(test["confusion"]) == 4 and sum(map(sum, test["confusion"])) == 16
    assert [row["support"] for row in test["per_class"]] == [4, 4, 4, 4]
    assert first["n_test"] == 16 and first["n_train"] + first["n_val"] == 48

    # The same folder with every test image replaced by noise: if a test image took part in
    # training or in any choice (best epoch, early stopping, schedule), the runs would differ.
    scan = scan_image_folder(clean)
    rng = np.random.default_rng(0)
    for path, _ in split_dataset(scan, config).test:
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)
    second = Trainer(config, out=tmp_path / "run2").run()
    assert _history(tmp_path / "run1") == _history(tmp_path / "run2")
    assert (first["best_epoch"], first["stopped_epoch"]) == (second["best_epoch"], second["stopped_epoch"])
    assert second["test"]["loss"] != test["loss"]  # and the test set really was scored


def test_without_a_validation_split_every_image_but_the_test_set_trains(fast_config, tmp_path, capsys):
    from workbench.cli import main
    from workbench.runs import RunFolder

    fast_config.val_fraction, fast_config.test_fraction, fast_config.early_stopping = 0.0, 0.25, False
    summary = Trainer(fast_config, out=tmp_path / "final").run()
    assert (summary["n_train"], summary["n_val"], summary["n_test"]) == (48, 0, 16)
    assert summary["status"] == "finished" and summary["best_epoch"] == 2 and summary["best_value"] is None
    assert summary["test"]["n"] == 16 and "confusion_matrix" not in summary  # nothing to report on val
    rows = RunFolder(tmp_path / "final").read_metrics()
    assert [r["epoch"] for r in rows] == [1, 2] and rows[0]["val_loss"] is None
    assert Trainer.one_line_summary(summary).startswith("best epoch 2 of 2")
    code = main(["train", fast_config.data_dir, "--image-size", "32", "--batch-size", "8", "--epochs", "1",
                 "--val-fraction", "0", "--no-early-stopping", "--out", str(tmp_path / "cli")])
    assert code == 0 and "no validation" in capsys.readouterr().err


def test_no_validation_split_refuses_what_needs_one():
    with pytest.raises(ConfigError, match="early stopping needs a validation set"):
        TrainConfig(val_fraction=0.0).validate()
    with pytest.raises(ConfigError, match="reduce_on_plateau schedule needs a validation set"):
        TrainConfig(val_fraction=0.0, early_stopping=False, schedule="reduce_on_plateau").validate()
