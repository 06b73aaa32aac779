"""A training run: its run folder, the setup of data, model and optimizer, and its checkpoints.

The loop itself is :class:`~workbench.engine.loop.FitLoop`; everything optional is a callback
(:mod:`workbench.engine.callbacks`) in ``Trainer.callbacks``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import torch
from torch import nn

from workbench import __version__
from workbench.config import TrainConfig, iterations_per_epoch
from workbench.data.augment import BatchAugmenter
from workbench.data.balance import balanced_class_weights, balanced_sample_weights
from workbench.data.mixing import BatchMixer
from workbench.data.prepare import (
    NO_VALIDATION_IMAGES,
    PreparedData,
    data_dir_of,
    prepare_data,
    split_samples,
)
from workbench.data.scan import DatasetError, scan_image_folder
from workbench.engine import events as ev
from workbench.engine.callbacks import BestCheckpoint, Callback, CallbackList, default_callbacks
from workbench.engine.compiling import compile_in_place, should_compile
from workbench.engine.device import device_name
from workbench.engine.distributed import Distributed
from workbench.engine.faults import RunFault
from workbench.engine.loop import FitLoop
from workbench.engine.summary import one_line_summary
from workbench.models import WeightsError, build_model, count_parameters, layer_groups, normalization
from workbench.run_lock import RunFolderBusy, lock_run_folder
from workbench.runs import RunFolder, is_run_folder


class TrainingError(RuntimeError):
    """A run cannot continue; the message is meant for the user."""


# Failures whose message is written for the user (a bad folder, weights or run state): shown as
# they are, never as a traceback, by the command line and the window alike.
USER_ERRORS = (DatasetError, TrainingError, WeightsError, RunFault, RunFolderBusy)


class Trainer(FitLoop):
    """Trains ``config`` into a run folder and emits :mod:`workbench.engine.events` on the way.

    ``resume`` continues an existing run folder from its ``last.pt``. ``callbacks`` are added
    after the standard ones (:func:`~workbench.engine.callbacks.default_callbacks`), or replace
    them with ``standard_callbacks=False`` (a study that is not a training, e.g. the LR finder).
    ``data`` is images already split and decoded (a study's folds share one decode).
    """

    def __init__(self, config: TrainConfig, out: str | Path | None = None, *,
                 resume: str | Path | None = None, runs_root: str | Path | None = None,
                 scan=None, callbacks: list[Callback] = (), standard_callbacks: bool = True,
                 data: PreparedData | None = None):
        self.config = config.validate()
        self.resuming = resume is not None
        if self.resuming:
            _refuse_non_run_folder(resume)
        self.events = ev.EventBus()
        self._stop = threading.Event()
        # Under torchrun: this process's rank, its GPU and the process group (see distributed.py).
        self.dist = Distributed.from_environment(self.config.device)
        self.dist.set_log(self.log)
        self._lock = None
        self._pending_log: list[str] | None = []  # lines held back until the folder is ours
        self._given_data = data
        try:
            # Refusals known before training (no images, one class, a batch larger than the set)
            # come before a run folder exists, so they leave nothing behind.
            self._scan = self._preflight(scan)
            self.run_folder = self.dist.run_folder(
                lambda: RunFolder(resume) if resume is not None
                else RunFolder.create(out, model=config.model, root=runs_root))
            if self.dist.is_main:
                self._lock = lock_run_folder(self.run_folder.path)
        except BaseException:
            self.dist.close()
            raise
        # Everything setup() builds exists from the start (None until then), so a run failing
        # early is described by the same code as one failing late.
        self.history: list[dict] = []
        self.report: dict = {}  # the end-of-run report, filled by callbacks (FinalReport)
        self.final_evaluation: dict | None = None  # FinalReport's scoring of the validation set
        self.summary: dict | None = None
        self.data: PreparedData | None = None
        self.model: nn.Module | None = None
        # The model validation scores, checkpoints hold and exports ship: the trained model
        # itself, unless a callback supplies another (weight averaging: the moving average).
        self.eval_model: nn.Module | None = None
        self.device: torch.device | None = None
        self.amp = self.channels_last = False
        self.optimizer = self.scaler = self.criterion = self.eval_criterion = self.augmenter = None
        self.mixer = None
        self.iterations = self.start_epoch = 0
        self.elapsed_before = 0.0  # seconds trained before a resume
        cfg = self.config
        self.best = BestCheckpoint(cfg.monitor, cfg.min_delta, cfg.start_from_epoch)
        standard = default_callbacks(cfg, self.best) if standard_callbacks else []
        self.callbacks = CallbackList([*standard, *callbacks], reserved=_CHECKPOINT_KEYS)

    # Public API ------------------------------------------------------------------------------
    def subscribe(self, fn: ev.Subscriber):
        return self.events.subscribe(fn)

    def emit(self, event: ev.Event) -> None:
        self.events.emit(event)

    def request_stop(self) -> None:
        """Ask the run to end after the current batch; the best checkpoint is kept. Under
        torchrun every process stops after the same batch."""
        if self.dist.active:
            self.dist.request_stop()
        else:
            self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set() or self.dist.stop_wished

    def log(self, message: str) -> None:
        if self._pending_log is not None:
            self._pending_log.append(message)
        else:
            self._append_log(message)
        self.emit(ev.Log(message=message))

    def _append_log(self, message: str) -> None:
        try:
            self.run_folder.append_log(message)
        except OSError:
            pass  # a log line must never end a run

    @property
    def owns_folder(self) -> bool:
        """False while a resume is still being checked: until then nothing in the run folder may
        change, so a refused resume leaves the finished run exactly as it was."""
        return self._pending_log is None

    def run(self) -> dict:
        try:
            return super().run()
        finally:
            if self._lock is not None:
                self._lock.release()

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.started

    # Setup -----------------------------------------------------------------------------------
    def setup(self) -> None:
        cfg = self.config
        rf = self.run_folder
        self.device = self.dist.resolve_device(cfg.device)
        self.amp = cfg.mixed_precision and self.device.type == "cuda"
        self.channels_last = cfg.channels_last and self.device.type == "cuda"
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        torch.manual_seed(cfg.seed)
        if not self.resuming:
            self._take_folder()
        self.log(f"Workbench {__version__}: run folder {rf.path}")
        self.log(f"Scanning {data_dir_of(cfg)}")
        for note in cfg.notes():
            self.log(f"Note: {note}")

        self.data = self._given_data or prepare_data(
            cfg, log=self.log, pin_memory=self.device.type == "cuda", scan=self._scan,
            progress=ev.throttled_progress(
                lambda done, total: self.emit(ev.CacheProgress(done=done, total=total))))
        if self.owns_folder:
            rf.write_json(rf.scan_report_path, self.data.scan.to_dict())
        for line in self.data.scan.report().splitlines():
            self.log(line)
        if self.device.type == "cuda":
            self._place_cache_on_gpu()
        n_train = len(self.data.train)
        n_shard = self.dist.shard_size(n_train)  # n_train with one process
        self._check_batch_size(n_shard)
        self.iterations = iterations_per_epoch(n_shard, cfg.batch_size)

        self.model = build_model(cfg.model, len(self.data.class_names), pretrained=cfg.pretrained,
                                 weights_path=cfg.weights_path, image_size=cfg.image_size,
                                 dropout=cfg.dropout, drop_path=cfg.drop_path, log=self.log)
        self.model.to(self.device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        if should_compile(cfg.compile_model, cfg.model, self.device.type):
            compile_in_place(self.model)
            self.log("Compiling the model (torch.compile): the first training and validation "
                     "batches take longer while it compiles.")
        self.eval_model = self.model
        self.normalization = normalization(cfg.model, cfg.pretrained, cfg.weights_path)
        self.augmenter = BatchAugmenter(cfg.augment, *self.normalization)
        # MixUp / CutMix give probability targets, which CrossEntropyLoss takes as they are
        # (label smoothing then smooths those probabilities).
        self.mixer = BatchMixer(cfg.augment, len(self.data.class_names))
        self.criterion = nn.CrossEntropyLoss(weight=self._class_weights(),
                                             label_smoothing=cfg.label_smoothing)
        # Validation scores plain cross-entropy: label smoothing is a training regulariser, and a
        # smoothed validation loss could not be compared across runs (or search trials) that
        # smooth differently. Identical when label_smoothing is 0. Class weights are left out for
        # the same reason: validation measures the model, not the training recipe.
        self.eval_criterion = nn.CrossEntropyLoss()
        self.sample_weights = None  # None: each epoch is a permutation of the training images
        if cfg.balanced_sampler:
            self.sample_weights = balanced_sample_weights(self.data.train.labels, len(self.data.class_names))
            self.log("Balanced sampler: every batch is drawn with equal probability for each class "
                     "(with replacement).")
        self.optimizer = _make_optimizer(self.model, cfg)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        self.shuffle_gen = torch.Generator().manual_seed(cfg.seed)
        self.augment_gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.fire("on_setup")
        if self.resuming:
            self._load_resume_state()
            self._take_folder()

        where, batch = device_name(self.device), f"batch {cfg.batch_size}"
        if self.dist.active:
            n = self.dist.world_size
            where += f" × {n} processes"
            batch = f"({batch} × {n} processes = effective batch {cfg.batch_size * n})"
        self.log(f"Training {cfg.model} ({count_parameters(self.model):,} parameters) on {where}: "
                 f"{n_train} training images ÷ {batch} = {self.iterations} iterations per epoch; "
                 f"{cfg.epochs} epochs.")

    def _class_weights(self) -> torch.Tensor | None:
        """The training loss's per-class weights (on the device), None for an unweighted loss."""
        if self.config.class_weights != "balanced":
            return None
        names = self.data.class_names
        weights = balanced_class_weights(self.data.train.labels, len(names))
        self.log("Class weights (balanced): " + ", ".join(
            f"{name} {w:.3g}" for name, w in zip(names, weights.tolist(), strict=True)) + ".")
        return weights.to(self.device)

    def _preflight(self, scan):
        """The scan (reused from the window when it is of this folder) and the refusals it allows."""
        cfg = self.config
        if self._given_data is not None:
            self._check_batch_size(self.dist.shard_size(len(self._given_data.train)))
            return self._given_data.scan
        if scan is None or scan.root != data_dir_of(cfg):
            scan = scan_image_folder(data_dir_of(cfg), cfg.max_image_megapixels)
        train, val = split_samples(scan, cfg)
        if not val and cfg.val_fraction > 0:
            raise DatasetError(NO_VALIDATION_IMAGES)
        self._check_batch_size(self.dist.shard_size(len(train)))
        return scan

    def _check_batch_size(self, n_shard: int) -> None:
        if self.config.batch_size > n_shard:
            raise TrainingError(f"Batch size {self.config.batch_size} is larger than the {n_shard} "
                                f"training images{' per process' if self.dist.active else ''}; "
                                f"choose a batch size of at most {n_shard}.")

    def _take_folder(self) -> None:
        """The run goes ahead in this folder: write its config, the log held back, clear debris."""
        rf = self.run_folder
        if self.dist.is_main:
            self._lock.record_holder()
            self.config.save_json(rf.config_path)
        pending, self._pending_log = self._pending_log or [], None
        for line in pending:
            self._append_log(line)
        if self.resuming:
            rf.write_json(rf.scan_report_path, self.data.scan.to_dict())
            for stale in rf.remove_stale_temp_files():
                self.log(f"Removed {stale.name}, a file left half-written when the run was interrupted.")

    def _place_cache_on_gpu(self) -> None:
        sources = [s for s in (self.data.train, self.data.val) if not s.streaming]
        needed = sum(s.nbytes for s in sources)
        free, _total = torch.cuda.mem_get_info(self.device)
        if needed < 0.3 * free:
            for source in sources:
                source.to(self.device)
            self.log(f"Image cache ({needed / 2**20:.0f} MB) kept on the GPU.")

    # Checkpoints -----------------------------------------------------------------------------
    def checkpoint_state(self, epoch: int) -> dict:
        """The run after ``epoch``: model (``eval_model``'s weights: the ones the run delivers),
        optimizer, scaler, random streams and history, what a
        checkpoint needs to be used alone (classes, normalisation, config), and every callback's
        state under its ``state_key``."""
        return {
            "format": "workbench-checkpoint-1",
            "workbench_version": __version__,
            "epoch": epoch,
            "model": {k: v.detach().cpu() for k, v in self.eval_model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "shuffle_rng": self.shuffle_gen.get_state(),
            "augment_rng": self.augment_gen.get_state(),
            "history": list(self.history),
            "config": self.config.to_dict(),
            "class_names": list(self.data.class_names),
            "normalization": [list(t) for t in self.normalization],
            "image_size": self.config.image_size,
            "elapsed": self.elapsed(),
            **self.callbacks.states(),
        }

    def _load_resume_state(self) -> None:
        path = self.run_folder.checkpoint_path("last")
        state = self.dist.read_checkpoint(path)
        if state is None:
            self.log("No last.pt in the run folder yet: starting it from the first epoch.")
            return
        if not isinstance(state, dict) or state.get("class_names") is None:
            raise TrainingError(f"Cannot resume from {path}: it is not a Workbench checkpoint.")
        if state["class_names"] != self.data.class_names:
            raise TrainingError(
                f"The dataset's classes {self.data.class_names} differ from the run's "
                f"{state['class_names']}; resume needs the same image folder.")
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scaler.load_state_dict(state["scaler"])
            self.shuffle_gen.set_state(state["shuffle_rng"])
            self.augment_gen.set_state(state["augment_rng"])
            self.callbacks.load_checkpoint(state)
            self.history = list(state["history"])
            self.start_epoch = int(state["epoch"])
            self.elapsed_before = float(state.get("elapsed", 0.0))
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            detail = f"it lacks {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
            raise TrainingError(f"Cannot resume from {path}: {detail}. The run folder is unchanged; "
                                "start a new run with these settings instead.") from exc
        self.run_folder.write_metrics(self.history)  # drop rows written after last.pt, if any
        self.log(f"Resumed after epoch {self.start_epoch} of {self.config.epochs}.")

    one_line_summary = staticmethod(one_line_summary)


def _refuse_non_run_folder(resume) -> None:
    """Resume writes into the folder it is given: refuse anything that is not a run folder
    before touching it (an empty path means the current directory)."""
    if not str(resume).strip():
        raise TrainingError("Resume needs a run folder; an empty path was given.")
    if not is_run_folder(resume):
        raise TrainingError(f"{resume} is not a Workbench run folder (it needs the config.json and "
                            "checkpoints folder a run writes); nothing was changed there.")


# Top-level checkpoint entries the trainer writes itself; callbacks' state keys must differ.
_CHECKPOINT_KEYS = ("format", "workbench_version", "epoch", "model", "optimizer", "scaler",
                    "shuffle_rng", "augment_rng", "history", "config", "class_names",
                    "normalization", "image_size", "elapsed",
                    "calibration")  # written into best.pt/last.pt at the end (TemperatureScaling)


def _make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer: one parameter group, or with ``layer_lr_decay`` < 1 one per layer group
    (stem first, head last), each at ``layer_lr_decay`` times the rate of the group after it."""
    params = list(model.parameters())
    # The fused implementations update every tensor in one kernel: the same arithmetic, ~7x
    # faster than the default for-each one on CPU (a resnet18 step: ~20 % less time), and on CUDA
    # they take GradScaler's inf check on the device instead of a host sync every step.
    fused = {"fused": True} if params and params[0].device.type in ("cpu", "cuda") else {}
    if cfg.layer_lr_decay < 1:
        groups = layer_groups(model, cfg.model)
        params = [{"params": group, "lr": cfg.lr * cfg.layer_lr_decay ** (len(groups) - 1 - i),
                   "name": name} for i, (name, group) in enumerate(groups)]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                               **fused)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **fused)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **fused)
