"""The fit loop: epochs of batches, validation, and the callbacks' hooks around them.

Nothing optional lives here. Stopping policy, best checkpoints, schedules, freezing, the loss
guard, run files and events are callbacks (:mod:`workbench.engine.callbacks`); the loop only asks
``self.stopping`` after each hook. :class:`workbench.engine.trainer.Trainer` builds what the loop
uses (data, model, optimizer, callbacks) in its ``setup``.
"""

from __future__ import annotations

import time

import torch

from workbench.data.balance import epoch_order
from workbench.data.mixing import dominant_labels
from workbench.engine import events as ev
from workbench.engine.evaluation import evaluate
from workbench.engine.faults import RunFault, classify


class FitLoop:
    """The loop half of a :class:`~workbench.engine.trainer.Trainer` (which supplies ``setup``)."""

    status, stop_reason, stopping = "running", "", False
    sample_weights = None  # per-image draw chances of a balanced sampler (set by setup)

    def stop(self, status: str, reason: str, *, failed: bool = False) -> None:
        """End the run after the current hook: the one place a run's status and reason are set.

        The first stop's status and reason stand; ``failed`` (an exception) overrides the status
        only, keeping the reason a callback gave before it.
        """
        if self.status == "running":
            self.status, self.stop_reason = status, reason
        elif failed:
            self.status = "failed"
        self.stopping = True

    def fire(self, hook: str, *args) -> None:
        """Call ``hook`` on every callback in order. A callback stopping the run in a batch's or a
        validation's hook discards that batch or epoch: the callbacks after it do not see it."""
        cancels = hook in ("on_batch_end", "on_validation_end") and not self.stopping
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)
            if cancels and self.stopping:
                return

    def run(self) -> dict:
        """Train to the end (or until stopped) and return the summary written to summary.json."""
        self.started = time.perf_counter()
        try:
            self.setup()
            self.fire("on_run_start")
            for epoch in range(self.start_epoch + 1, self.config.epochs + 1):
                self._epoch(epoch)
                if self.stopping:
                    break
            self.stop("finished", f"completed all {self.config.epochs} epochs")
            self.fire("on_run_end")
            return self.summary
        except BaseException as exc:
            # Out of memory, a full disk, an unwritable folder: say what to change, keep the checkpoints.
            fault = classify(exc, config=self.config, run_dir=self.run_folder.path,
                             device=str(self.device) if self.device else None,
                             epochs_done=len(self.history))
            message = fault.message if fault else str(exc)
            self.stop("failed", f"error: {message}", failed=True)
            self.log(f"Run failed: {message}")
            self.fire("on_error", exc, fault)
            if fault is not None and not isinstance(exc, RunFault):
                raise RunFault(fault) from exc
            raise
        finally:
            self.dist.close()

    def _epoch(self, epoch: int) -> None:
        self.fire("on_epoch_start", epoch)
        started = time.perf_counter()
        train = self._train_epoch(epoch)
        if self.stopping:
            return  # stopped mid-epoch: the epoch is not counted
        # No validation split (a final model): the epoch has training numbers only.
        val = self.evaluate() if self.data.val is not None else {"loss": None, "accuracy": None,
                                                                  "count": None}
        logs = {"epoch": epoch, "train_loss": train["loss"], "train_acc": train["accuracy"],
                "val_loss": val["loss"], "val_acc": val["accuracy"], "lr": train["lr"],
                "seconds": time.perf_counter() - started,
                "images_per_sec": train["images"] / max(train["seconds"], 1e-9),
                "train_images": train["images"], "val_images": val["count"]}
        if len(self.optimizer.param_groups) > 1:  # layer-wise rates: the stem's beside the head's
            logs["lr_first_group"] = train["lr_first_group"]
        self.fire("on_validation_end", logs)
        if self.stopping:
            return
        self.history.append(logs)
        self.fire("on_epoch_end", logs)
        if not self.stopping and self.dist.agree_stop(self._stop):
            self.stop("stopped", f"stopped by user after epoch {epoch}")

    def _train_epoch(self, epoch: int) -> dict:
        """One pass over the training shard; {} when the run stopped during it."""
        device = self.device
        # Sums stay on the device; losses are read in one transfer per flush, not per batch.
        flush_every = 1 if device.type == "cpu" else 20
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen, pending = 0, []
        started = time.perf_counter()
        order = epoch_order(len(self.data.train), self.shuffle_gen, self.sample_weights)
        order = self.dist.train_shard(order, epoch - 1, first=epoch == self.start_epoch + 1,
                                      drawn=self.sample_weights is not None)
        self.dist.decorrelate(self.augment_gen, self.config.seed, epoch - 1)
        forward = self.dist.training_model(self.model)  # DDP under torchrun, else the model itself
        lr, first_lr = self.lr, self.lr_first_group
        batches = self.data.train.batches(order, self.config.batch_size)
        for i, (images, labels) in enumerate(batches, start=1):
            if images.device.type == "cpu" and device.type == "cuda":
                images, labels = images.pin_memory(), labels.pin_memory()
            images = images.to(device, non_blocking=True)
            labels = labels.to(device, non_blocking=True)
            x = self.augmenter(images, self.augment_gen, train=True)
            x, targets = self.mixer(x, labels, self.augment_gen)  # soft targets under MixUp/CutMix
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, enabled=self.amp):
                logits = forward(x)
                loss = self.criterion(logits, targets)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            lr, first_lr = self.lr, self.lr_first_group
            self.fire("on_step_end")
            loss = loss.detach()
            loss_sum += loss * len(labels)
            # Under MixUp / CutMix a prediction counts as right when it is the dominant label.
            correct += (logits.detach().argmax(1) == dominant_labels(targets)).sum()
            seen += len(labels)
            pending.append((i, loss, lr))
            if len(pending) >= flush_every or i == self.iterations or self._stop.is_set():
                self._flush(epoch, pending, seen, started)
                pending = []
            if self.stopping:
                return {}
            if self.dist.agree_stop(self._stop, i):  # after the flush: a subscriber may have asked
                self.stop("stopped", f"stopped by user during epoch {epoch} (that epoch is not "
                                     "counted; resume continues from it)")
                self.log(self.stop_reason)
                return {}
        seconds = time.perf_counter() - started
        self.dist.sync_buffers(self.model)
        loss_sum, correct, seen = self.dist.sums(loss_sum, correct, seen)  # whole-data totals
        return {"loss": (loss_sum / max(seen, 1)).item(), "accuracy": correct.item() / max(seen, 1),
                "lr": lr, "lr_first_group": first_lr, "images": seen, "seconds": seconds}

    def _flush(self, epoch: int, pending: list, seen: int, started: float) -> None:
        """Read back the losses of the batches since the last flush and hand each to on_batch_end."""
        losses = self.dist.mean(torch.stack([p[1] for p in pending]).float()).tolist()
        speed = seen / max(time.perf_counter() - started, 1e-9)
        memory = (torch.cuda.memory_allocated(self.device) / 2**20
                  if self.device.type == "cuda" else None)
        for (iteration, _, lr), loss in zip(pending, losses, strict=True):
            self.fire("on_batch_end", ev.BatchEnd(
                epoch=epoch, iteration=iteration, iterations=self.iterations, loss=loss, lr=lr,
                images_per_sec=speed, gpu_memory_mb=memory))
            if self.stopping:
                return

    @property
    def lr(self) -> float:
        """The head's learning rate: the last parameter group's (the only one unless layer-wise
        rates give each layer group its own, stem first)."""
        return float(self.optimizer.param_groups[-1]["lr"])

    @property
    def lr_first_group(self) -> float:
        """The first parameter group's rate: the stem's with layer-wise rates, else the head's."""
        return float(self.optimizer.param_groups[0]["lr"])

    def evaluate(self, collect: bool = False, source=None, tta: bool = False) -> dict:
        """Loss and accuracy on the validation set (or ``source``). Each process scores its part and
        the sums are combined; ``collect`` (the final reports) scores all of it on every process.
        ``tta``: each image and its mirror image, the predictions averaged."""
        source = self.data.val if source is None else source
        result = evaluate(self.eval_model, source, self.config.batch_size * 2, self._prepare_eval,
                          self.eval_criterion, self.device, self.amp, collect=collect,
                          indices=None if collect else self.dist.val_indices(len(source)), tta=tta)
        return result if collect else self.dist.reduce_evaluation(result)

    def _prepare_eval(self, images: torch.Tensor) -> torch.Tensor:
        x = self.augmenter(images, train=False)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x
