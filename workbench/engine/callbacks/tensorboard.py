"""TensorBoard event files in ``RUN/tensorboard/``: ``tensorboard --logdir RUNS_FOLDER`` shows every run.

Not to be confused with :class:`~workbench.engine.callbacks.run_files.SummaryWriter`, which writes
the run's own summary.json; torch's ``SummaryWriter`` is imported here as ``EventWriter``, and
only when a run starts (importing TensorBoard costs about a second).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from workbench.engine.callbacks.base import Callback

FOLDER = "tensorboard"
SAMPLE_IMAGES = 16  # the augmented batch shown under Images


class TensorBoardLogger(Callback):
    """Scalars per iteration (``iteration/…``) and per epoch (``epoch/…``), the learning rate of
    every layer group (``lr/<group>``), an augmented training batch and the validation confusion
    matrix as images, and the settings as hparams with the run's final metrics.

    Every step is the global iteration (an epoch's scalars sit at its last iteration), so a
    resumed run continues the same curves: its writer purges what the interrupted run logged
    after the checkpoint it resumes from. Only rank 0 writes. Writing is flushed every epoch and
    never ends a run: the first failure is logged as a warning and logging stops there.
    """

    def __init__(self) -> None:
        self.writer = None
        self.iterations = 1

    def on_run_start(self, run) -> None:
        if run.dist.is_main:
            self._safely(run, self._open, run)

    def on_batch_end(self, run, batch) -> None:
        if self.writer is not None:
            self._safely(run, self._batch, batch)

    def on_epoch_end(self, run, logs) -> None:
        if self.writer is not None:
            self._safely(run, self._epoch, run, logs)

    def on_run_end(self, run) -> None:
        if self.writer is not None:
            self._safely(run, self._final, run)
        self._close(run)

    def on_error(self, run, exc, fault) -> None:
        self._close(run)

    # What is written -------------------------------------------------------------------------
    def _open(self, run) -> None:
        from torch.utils.tensorboard import SummaryWriter as EventWriter

        self.iterations = max(run.iterations, 1)
        # A resume hides whatever the interrupted run logged after its checkpoint (TensorBoard
        # purges steps ≥ purge_step on reading), so the curves do not double back.
        purge = run.start_epoch * self.iterations + 1 if run.resuming else None
        self.writer = EventWriter(log_dir=str(run.run_folder.path / FOLDER), purge_step=purge)
        if run.start_epoch == 0:
            self._augmented_batch(run)
        self.writer.flush()

    def _augmented_batch(self, run) -> None:
        """A few training images as the first epoch's augmentation makes them (own random stream:
        training's is left as it is, so a run is the same with or without TensorBoard)."""
        source = run.data.train
        # Spread over the set (it is ordered by class), so most classes appear.
        order = torch.linspace(0, len(source) - 1, min(SAMPLE_IMAGES, len(source))).long()
        images, _ = next(iter(source.batches(order, len(order))))
        generator = torch.Generator().manual_seed(run.config.seed + 7919)
        batch = run.augmenter.augment(images, generator).clamp_(0, 1).cpu()
        self.writer.add_images("augmented training batch", batch, 0, dataformats="NCHW")

    def _batch(self, batch) -> None:
        step = (batch.epoch - 1) * self.iterations + batch.iteration
        self.writer.add_scalar("iteration/loss", batch.loss, step)
        self.writer.add_scalar("iteration/lr", batch.lr, step)
        self.writer.add_scalar("iteration/images_per_sec", batch.images_per_sec, step)

    def _epoch(self, run, logs) -> None:
        step = logs["epoch"] * self.iterations
        for key in ("train_loss", "val_loss", "train_acc", "val_acc", "seconds", "images_per_sec"):
            if logs.get(key) is not None:
                self.writer.add_scalar(f"epoch/{key}", logs[key], step)
        self.writer.add_scalar("epoch/epoch", logs["epoch"], step)
        for i, group in enumerate(run.optimizer.param_groups):
            self.writer.add_scalar(f"lr/{group.get('name', f'group {i}')}", float(group["lr"]), step)
        self.writer.flush()

    def _final(self, run) -> None:
        from torch.utils.tensorboard.summary import hparams

        step = (run.history[-1]["epoch"] if run.history else 0) * self.iterations
        report = run.report
        if report.get("confusion_matrix"):
            image = confusion_image(report["confusion_matrix"], list(run.data.class_names))
            self.writer.add_image("validation confusion matrix", image, step, dataformats="HWC")
        metrics = final_metrics(run.summary or {})
        # One event file for everything: the hparams summaries go through this writer's file
        # writer (add_hparams would open a second run in a sub-folder).
        for summary in hparams(settings_as_hparams(run.config.to_dict()), metrics):
            self.writer.file_writer.add_summary(summary)
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)

    # Never a reason to end a run -------------------------------------------------------------
    def _safely(self, run, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 — a full disk or a TensorBoard bug alike
            run.log(f"Warning: TensorBoard logging stopped ({exc.__class__.__name__}: {exc}); "
                    "training goes on.")
            self._close(run)

    def _close(self, run) -> None:
        writer, self.writer = self.writer, None
        if writer is None:
            return
        try:
            writer.close()
        except Exception as exc:  # noqa: BLE001
            run.log(f"Warning: could not finish the TensorBoard files ({exc}).")


def settings_as_hparams(config: dict, prefix: str = "") -> dict:
    """The settings flattened (``augment.zoom_range``) to the types hparams take; unset is "none"."""
    out = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(settings_as_hparams(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = "none" if value is None else value
    return out


def final_metrics(summary: dict) -> dict[str, float]:
    """The numbers a run is compared by, as ``hparam/…`` metrics (finite values only)."""
    best = summary.get("best_metrics") or {}
    calibration = summary.get("calibration") or {}
    test = summary.get("test") or {}
    values = {
        "hparam/best_val_loss": best.get("val_loss"),
        "hparam/best_val_acc": best.get("val_acc"),
        "hparam/final_val_loss": summary.get("final_val_loss"),
        "hparam/final_val_acc": summary.get("final_val_acc"),
        "hparam/best_epoch": summary.get("best_epoch"),
        "hparam/temperature": calibration.get("temperature"),
        "hparam/ece_before": calibration.get("ece_before"),
        "hparam/ece_after": calibration.get("ece_after"),
        "hparam/test_acc": test.get("accuracy"),
    }
    return {k: float(v) for k, v in values.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def confusion_image(matrix: list[list[int]], class_names: list[str]) -> np.ndarray:
    """The confusion matrix as an RGB uint8 image: rows true, columns predicted, each cell's count
    on a white-to-blue shade of its share of the row; class numbers on top, "n name" on the left."""
    from PIL import Image, ImageDraw

    counts = np.asarray(matrix, dtype=np.float64)
    k = len(counts)
    cell = int(np.clip(640 // max(k, 1), 14, 48))
    names = [f"{i} {name[:18]}" for i, name in enumerate(class_names)]
    left, top = 8 + 7 * max((len(n) for n in names), default=1), 34
    image = Image.new("RGB", (left + k * cell + 8, top + k * cell + 8), "white")
    draw = ImageDraw.Draw(image)
    draw.text((4, 4), "rows: true class, columns: predicted", fill=(60, 60, 60))
    shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    for i in range(k):
        draw.text((4, top + i * cell + cell // 2 - 5), names[i], fill=(0, 0, 0))
        draw.text((left + i * cell + cell // 2 - 3, top - 14), str(i), fill=(0, 0, 0))
        for j in range(k):
            shade = shares[i, j]
            colour = tuple(int(255 - shade * (255 - c)) for c in (31, 119, 180))
            box = (left + j * cell, top + i * cell, left + (j + 1) * cell - 1, top + (i + 1) * cell - 1)
            draw.rectangle(box, fill=colour, outline=(200, 200, 200))
            if cell >= 20:
                text = str(int(counts[i, j]))
                draw.text((box[0] + 3, box[1] + cell // 2 - 5), text,
                          fill=(255, 255, 255) if shade > 0.55 else (0, 0, 0))
    return np.asarray(image)
