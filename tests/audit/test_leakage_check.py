"""The leakage warning before training, in the run's log (and so in `workbench train`'s output)."""

from __future__ import annotations

import dataclasses

from workbench.engine.callbacks import LeakageCheck
from workbench.engine.trainer import Trainer


def _split_apart(config, p):
    """A seed whose split puts the exact copy and its original in different splits."""
    from workbench.data.duplicates import split_of
    from workbench.data.prepare import split_dataset
    from workbench.data.scan import scan_image_folder

    scan = scan_image_folder(config.data_dir)
    for seed in range(50):
        where = split_of(split_dataset(scan, dataclasses.replace(config, seed=seed)))
        if where[str(p["exact"])] != where[str(p["exact_original"])]:
            return dataclasses.replace(config, seed=seed)
    raise AssertionError("no seed splits the pair")


def test_training_warns_of_duplicates_across_the_split(planted, fast_config, tmp_path):
    root, p = planted
    config = _split_apart(dataclasses.replace(fast_config, data_dir=str(root), epochs=1), p)
    trainer = Trainer(config, out=tmp_path / "run")
    trainer.run()
    log = (tmp_path / "run" / "train.log").read_text()
    assert "Warning: leakage:" in log and str(p["exact"]) in log
    assert log.index("Warning: leakage:") < log.index("Training small_cnn")  # before the first epoch
    check = trainer.callbacks.find(LeakageCheck)
    assert any(str(p["exact"]) in leak.group.paths for leak in check.leaks)


def test_the_check_can_be_turned_off(planted, fast_config, tmp_path):
    root, p = planted
    config = _split_apart(dataclasses.replace(fast_config, data_dir=str(root), epochs=1,
                                              leakage_check=False), p)
    trainer = Trainer(config, out=tmp_path / "run")
    assert trainer.callbacks.find(LeakageCheck) is None
