"""Checkpoint writing: last.pt every epoch, best.pt when the epoch is the best, metrics.csv after."""

from __future__ import annotations

from functools import partial

from workbench.engine import events as ev
from workbench.engine.callbacks.base import Callback
from workbench.engine.checkpoint import CheckpointWriter


class CheckpointSaver(Callback):
    """Snapshots the run (:meth:`Trainer.checkpoint_state`) after every epoch, written in the
    background by a :class:`CheckpointWriter` and announced by ``CheckpointSaved`` once on disk.

    best.pt is written before last.pt, so a kill between them leaves a best.pt at least as new as
    last.pt. metrics.csv follows on the writer thread: it never lists an epoch last.pt lacks.
    Only rank 0 writes the run folder.
    """

    def __init__(self, best, background: bool = True):
        self.best = best  # the BestCheckpoint callback: is this epoch the best?
        self.writer = CheckpointWriter(background=background)

    def on_batch_end(self, run, batch) -> None:
        self._announce(run, self.writer.completed())

    def on_epoch_end(self, run, logs) -> None:
        if not run.dist.is_main:
            return
        # The previous save is announced before this one starts: announced later (at the next
        # batch), its file could already hold this epoch. save() would wait for it anyway.
        self.writer.wait_idle()
        self._announce(run, self.writer.completed())
        epoch = logs["epoch"]
        which = ["best", "last"] if self.best.improved else ["last"]
        paths = [run.run_folder.checkpoint_path(w) for w in which]
        tag = [(w, epoch, str(path)) for w, path in zip(which, paths, strict=True)]
        self.writer.save(paths, run.checkpoint_state(epoch), tag=tag,
                         then=partial(run.run_folder.write_metrics, list(run.history)))

    def on_run_end(self, run) -> None:
        self._announce(run, self.writer.wait())

    def on_error(self, run, exc, fault) -> None:
        """Let a checkpoint in flight land, without masking the original error."""
        try:
            self._announce(run, self.writer.wait())
        except Exception as error:  # noqa: BLE001
            run.log(f"Could not write a checkpoint: {error}")

    @staticmethod
    def _announce(run, saves: list) -> None:
        for tag in saves:
            for which, epoch, path in tag:
                run.emit(ev.CheckpointSaved(which=which, epoch=epoch, path=path))
