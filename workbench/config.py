"""The one training configuration: the window's form, the CLI flags and run files all map to it.

Every field is declared with :func:`~workbench.setting.setting`: its label, help, unit, group,
range and choices sit beside it, and validation, the CLI and the form are derived from them.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.setting import Setting, problems_of, read_json, setting, settings_of

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "step", "exponential", "cosine", "one_cycle", "reduce_on_plateau")
MONITORS = ("val_loss", "val_accuracy")
DEVICES = ("auto", "cpu", "cuda", "mps")
FILL_MODES = ("constant", "nearest", "reflect", "wrap")
POLICIES = ("none", "randaugment", "trivialaugment", "autoaugment")
AUTOAUGMENT_POLICIES = ("imagenet", "cifar10", "svhn")
COMPILE_MODES = ("auto", "on", "off")
CLASS_WEIGHTS = ("none", "balanced")
_MANY = 100_000  # "no practical limit" for counts of epochs, steps …


class ConfigError(ValueError):
    """Raised when settings are invalid; ``problems`` holds one reason per bad setting."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("Invalid settings:\n  - " + "\n  - ".join(self.problems))


def _model_names() -> tuple[str, ...]:
    from workbench.model_registry import MODEL_NAMES  # not workbench.models, which imports torch

    return MODEL_NAMES


_AUG = "Augmentation"
_FT = "Fine-tuning"
_REG = "Regularisation"


@dataclass
class AugmentConfig:
    """Random augmentation of training images, named after Keras' ImageDataGenerator options.

    Ranges follow Keras: rotation uniform in [-rotation_range, rotation_range] degrees, shifts as a
    fraction of width/height, shear in degrees, zoom factor in [1 - zoom_range, 1 + zoom_range].
    """

    enabled: bool = setting(True, "Augment training images", "Random changes to each training image "
                            "every epoch, so the model learns what matters rather than the exact pixels.",
                            _AUG, flag="augment")
    # Off by default, as in Keras: a mirror image changes the class of arrows, letters, digits,
    # left/right body parts… (README "Defaults"); turn it on for classes that look the same mirrored.
    horizontal_flip: bool = setting(False, "Horizontal flip", "Mirror images left-right at random. "
                                    "Only for classes that look the same mirrored (not letters, "
                                    "arrows, left/right).", _AUG)
    vertical_flip: bool = setting(False, "Vertical flip", "Flip images upside down at random.", _AUG)
    rotation_range: float = setting(15.0, "Rotation range", "Rotate each image by a random angle of up "
                                    "to this many degrees either way.", _AUG, unit="degrees", min=0, max=180,
                                    decimals=0, step=5)
    width_shift_range: float = setting(0.1, "Width shift range", "Shift each image sideways by up to this "
                                       "fraction of its width.", _AUG, min=0, max=1, max_inclusive=False,
                                       step=0.05)
    height_shift_range: float = setting(0.1, "Height shift range", "Shift each image up or down by up to "
                                        "this fraction of its height.", _AUG, min=0, max=1,
                                        max_inclusive=False, step=0.05)
    shear_range: float = setting(0.0, "Shear range", "Slant each image by a random shear angle of up to "
                                 "this many degrees.", _AUG, unit="degrees", min=0, max=90,
                                 max_inclusive=False, decimals=0, step=5)
    zoom_range: float = setting(0.1, "Zoom range", "Zoom in or out at random by up to this fraction "
                                "(0.1: between 90% and 110% of the size).", _AUG, min=0, max=1,
                                max_inclusive=False, step=0.05)
    random_resized_crop: bool = setting(False, "Random resized crop", "Crop a random part of each image "
                                        "and resize it back to the full size.", _AUG)
    crop_scale_min: float = setting(0.5, "Crop scale minimum", "Random resized crop: the smallest share "
                                    "of the image's area a crop may keep.", _AUG, min=0, min_inclusive=False,
                                    max=1, step=0.05, advanced=True)
    brightness: float = setting(0.1, "Brightness jitter", "Make each image brighter or darker at random "
                                "by up to this fraction.", _AUG, min=0, max=1, max_inclusive=False, step=0.05)
    contrast: float = setting(0.1, "Contrast jitter", "Raise or lower each image's contrast at random "
                              "by up to this fraction.", _AUG, min=0, max=1, max_inclusive=False, step=0.05)
    saturation: float = setting(0.1, "Saturation jitter", "Make each image's colours more or less vivid "
                                "at random by up to this fraction.", _AUG, min=0, max=1,
                                max_inclusive=False, step=0.05)
    hue: float = setting(0.0, "Hue jitter", "Turn each image's colours around the colour wheel at random "
                         "by up to this fraction of a full turn.", _AUG, min=0, max=0.5, step=0.01)
    fill_mode: str = setting("nearest", "Fill mode", "How pixels moved in from outside the image are "
                             "filled (Keras fill_mode): a constant value, the nearest edge pixel, a "
                             "mirror image or the opposite edge.", _AUG, choices=FILL_MODES)
    fill_value: float = setting(0.0, "Fill value", "Fill mode constant: the grey level (0 black, 255 "
                                "white) moved-in pixels get.", _AUG, min=0, max=255, decimals=0,
                                advanced=True)
    # Policies, random erasing and batch mixing (torchvision's transforms.v2); all off by default.
    policy: str = setting("none", "Augmentation policy", "A learned or random policy of torchvision "
                          "(transforms.v2) applied to each image before the flips, warps and colour "
                          "jitter: RandAugment (a number of random operations at a set strength), "
                          "TrivialAugmentWide (one random operation at a random strength, nothing to "
                          "tune) or AutoAugment (the policy learned on ImageNet, CIFAR-10 or SVHN). "
                          "Each image draws its own.",
                          _AUG, choices=POLICIES)
    randaugment_num_ops: int = setting(2, "RandAugment operations", "RandAugment: how many random "
                                       "operations are applied to each image in a row.", _AUG, min=1,
                                       max=10)
    randaugment_magnitude: int = setting(9, "RandAugment magnitude", "RandAugment: the strength of "
                                         "every operation, from 0 (none) to 30 (strongest); 9 is the "
                                         "paper's ImageNet choice.", _AUG, min=0, max=30)
    autoaugment_policy: str = setting("imagenet", "AutoAugment policy", "AutoAugment: which dataset's "
                                      "learned policy to apply.", _AUG, choices=AUTOAUGMENT_POLICIES,
                                      advanced=True)
    random_erasing: float = setting(0.0, "Random erasing", "Probability that a random rectangle (2–33 % "
                                    "of the image) of a training image is blanked out with the mean "
                                    "colour, after the other augmentations; 0: off.", _AUG, min=0, max=1,
                                    step=0.05)
    mixup_alpha: float = setting(0.0, "MixUp alpha", "MixUp: blend each training image with another "
                                 "of the batch, and their labels in the same proportion (drawn from "
                                 "Beta(alpha, alpha); 0.2–0.4 is typical, larger blends more evenly); "
                                 "0: off.", _AUG, min=0, max=10, step=0.1)
    cutmix_alpha: float = setting(0.0, "CutMix alpha", "CutMix: paste a rectangle of another image of "
                                  "the batch into each training image, labels mixed by the pasted area "
                                  "(drawn from Beta(alpha, alpha); 1 is typical); 0: off. With MixUp "
                                  "also on, each batch gets one of the two at random.", _AUG, min=0,
                                  max=10, step=0.1)
    mix_probability: float = setting(1.0, "Mixing probability", "MixUp / CutMix: the share of "
                                     "training batches that are mixed; the others train on plain "
                                     "images.", _AUG, min=0, max=1, step=0.05, advanced=True)

    def problems(self) -> list[str]:
        return list(problems_of(self).values())

    @property
    def is_geometric(self) -> bool:
        return self.enabled and bool(
            self.horizontal_flip or self.vertical_flip or self.rotation_range
            or self.width_shift_range or self.height_shift_range or self.shear_range
            or self.zoom_range or self.random_resized_crop
        )

    @property
    def is_colour(self) -> bool:
        return self.enabled and bool(self.brightness or self.contrast or self.saturation or self.hue)

    @property
    def is_per_image_policy(self) -> bool:
        """A torchvision policy or random erasing: per-image steps beyond the batched warp."""
        return self.enabled and (self.policy != "none" or self.random_erasing > 0)

    @property
    def is_mixing(self) -> bool:
        """MixUp or CutMix: batches of blended images with soft (probability) targets."""
        return self.enabled and self.mix_probability > 0 and bool(self.mixup_alpha or self.cutmix_alpha)

    @property
    def is_active(self) -> bool:
        """Whether any augmentation changes the training images at all."""
        return self.is_geometric or self.is_colour or self.is_per_image_policy or self.is_mixing


@dataclass
class TrainConfig:
    """Everything needed to (re-)run a training. Validated by :meth:`validate`."""

    data_dir: str | None = setting(None, "Image folder", "Folder with one subfolder of images per class; "
                                   "empty: the bundled sample dataset.", "Data", in_form=False)
    model: str = setting("small_cnn", "Model", "The network architecture; larger ones learn more but "
                         "train slower. timm:NAME is any architecture of the timm library (e.g. "
                         "timm:convnext_atto).", "Model", choices=_model_names)
    pretrained: bool = setting(False, "Pretrained (ImageNet)", "Start from torchvision's ImageNet weights "
                               "(timm's own pretrained weights for a timm: model; downloaded once) "
                               "instead of random weights.", "Model")
    weights_path: str | None = setting(None, "Weights file", "Start from a local .safetensors or .pt "
                                       "weights file instead of random or downloaded weights.", "Model",
                                       flag="weights", file_filter="Weights (*.safetensors *.pt *.pth)")
    freeze_backbone_epochs: int = setting(0, "Freeze backbone epochs", "Train only the new classifier "
                                          "head for this many epochs, then the whole network.", _FT,
                                          unit="epochs", min=0, max=_MANY)
    unfreeze_every: int = setting(0, "Unfreeze every", "Gradual unfreezing: after the frozen-backbone "
                                  "epochs, release one more layer group from the top every this many "
                                  "epochs until all train; 0: release them all at once.", _FT,
                                  unit="epochs", min=0, max=_MANY)
    layer_lr_decay: float = setting(1.0, "Layer learning-rate decay", "Layer-wise learning rates: the "
                                    "head trains at the learning rate and each earlier layer group at "
                                    "this factor times the next one's; 1: one rate for all.", _FT,
                                    min=0, min_inclusive=False, max=1, decimals=3, step=0.05)

    # 20 epochs with a cosine schedule (issue 15, benchmarks/bench_defaults.py): with 10 at a
    # constant rate every seed was still improving at its last epoch.
    epochs: int = setting(20, "Epochs", "An epoch is one full pass over every training image.",
                          "Training", unit="epochs", min=1, max=_MANY)
    # 16 (issue 15, benchmarks/bench_defaults.py): on the sample data batch 32 left seeds at
    # 82–90 % (200 optimizer steps in 20 epochs); 16 gave 95–99 % on every seed, and 99.5 % on the
    # arrows set against 98.8 %. Ultralytics defaults to 16 too.
    batch_size: int = setting(16, "Batch size", "How many images the model sees before each weight update "
                              "(one iteration).", "Training", unit="images", min=1, max=65_536)
    early_stopping: bool = setting(True, "Early stopping", "Stop when the monitored metric has not "
                                   "improved for 'patience' epochs.", "Early stopping")
    patience: int = setting(5, "Patience", "How many epochs without improvement are tolerated before "
                            "training stops early (Keras semantics).", "Early stopping", unit="epochs",
                            min=0, max=_MANY)
    min_delta: float = setting(0.0, "Min delta", "The smallest change of the monitored metric that counts "
                               "as an improvement.", "Early stopping", min=0, decimals=4, step=0.001)
    monitor: str = setting("val_loss", "Monitored metric", "The validation figure early stopping and the "
                           "best checkpoint are judged by.", "Early stopping", choices=MONITORS)
    baseline: float | None = setting(None, "Baseline", "Stop early unless the monitored metric beats this "
                                     "value within 'patience' epochs; unset: no baseline.", "Early stopping",
                                     min=0, decimals=4, step=0.01, advanced=True)  # losses, accuracies ≥ 0
    restore_best_weights: bool = setting(True, "Restore best weights", "At the end of training, go back "
                                         "to the weights of the best epoch instead of the last one.",
                                         "Early stopping", advanced=True)
    start_from_epoch: int = setting(0, "Start from epoch", "Epochs of warm-up before early stopping starts "
                                    "watching the metric.", "Early stopping", unit="epochs", min=0, max=_MANY,
                                    advanced=True)

    lr: float = setting(1e-3, "Learning rate", "Scales every weight update: too high diverges, too low "
                        "crawls.", "Optimizer", min=0, min_inclusive=False, max=10, decimals=6, step=1e-4,
                        log_scale=True)
    optimizer: str = setting("adamw", "Optimizer", "The rule that turns gradients into weight updates: SGD "
                             "with momentum, Adam, or AdamW (Adam with decoupled weight decay).", "Optimizer",
                             choices=OPTIMIZERS)
    momentum: float = setting(0.9, "Momentum", "SGD only: how much of the previous update carries over "
                              "into the next.", "Optimizer", min=0, max=1, max_inclusive=False, step=0.05)
    weight_decay: float = setting(1e-4, "Weight decay", "Pulls weights towards zero to reduce overfitting.",
                                  "Optimizer", min=0, decimals=5, step=1e-4, log_scale=True)
    schedule: str = setting("cosine", "Schedule", "How the learning rate changes during training.",
                            "Schedule", choices=SCHEDULES)
    step_size: int = setting(5, "Step size", "Step schedule: epochs between learning-rate decays.",
                             "Schedule", unit="epochs", min=1, max=_MANY)
    gamma: float = setting(0.5, "Decay factor", "Step and exponential schedules: the learning rate is "
                           "multiplied by this at each decay.", "Schedule", min=0, max=1,
                           min_inclusive=False, max_inclusive=False, step=0.05)
    plateau_factor: float = setting(0.5, "Plateau factor", "Reduce-on-plateau schedule: the learning rate "
                                    "is multiplied by this when the validation loss stalls.", "Schedule",
                                    min=0, max=1, min_inclusive=False, max_inclusive=False, step=0.05)
    plateau_patience: int = setting(2, "Plateau patience", "Reduce-on-plateau schedule: epochs without "
                                    "improvement before the learning rate is lowered.", "Schedule",
                                    unit="epochs", min=0, max=_MANY)
    label_smoothing: float = setting(0.0, "Label smoothing", "Softens the targets a little so the model is "
                                     "less over-confident.", "Training", min=0, max=1, max_inclusive=False,
                                     step=0.05)
    # Regularisation of the model itself: weight averaging, dropout, stochastic depth.
    ema: bool = setting(False, "Weight averaging (EMA)", "Keep an exponential moving average of the "
                        "weights, updated after every step; that average is what is validated, kept "
                        "as the best checkpoint and exported. Often a little more accurate and "
                        "steadier than the last weights.", _REG)
    ema_decay: float = setting(0.999, "EMA decay", "Weight averaging: how much of the average each "
                               "step keeps (0.999 averages over roughly the last 1,000 steps). Early "
                               "in a run the average follows the weights faster, at (1 + steps) / "
                               "(10 + steps) when that is lower, so a short run is not an average of "
                               "its random start.", _REG, min=0, max=1, min_inclusive=False,
                               max_inclusive=False, decimals=5, step=0.0005)
    dropout: float | None = setting(None, "Dropout before the classifier", "Share of the features "
                                    "zeroed at random before the final layer while training; unset: the "
                                    "architecture's own (0.2 for MobileNetV3 and EfficientNet, none for "
                                    "the others).", _REG, min=0, max=1, max_inclusive=False, step=0.05)
    drop_path: float | None = setting(None, "Stochastic depth", "Drop path: the probability that a "
                                      "residual block is skipped while training (rising with depth to "
                                      "this value at the last block). Only architectures built with it "
                                      "have it: efficientnet_b0 (its own default 0.2), convnext_tiny "
                                      "(0.1) and timm models; not ResNet, RegNet, MobileNetV3, ViT or the "
                                      "small CNN. Unset: the architecture's own.", _REG, min=0, max=1,
                                      max_inclusive=False, step=0.05)
    # Imbalanced classes and test-time augmentation (issue 15).
    class_weights: str = setting("none", "Class weights", "Balanced: each class's training loss is "
                                 "weighted by the inverse of its share of the training images (as "
                                 "scikit-learn's 'balanced'), so a rare class counts as much as a common "
                                 "one. Validation loss stays unweighted.", "Training",
                                 choices=CLASS_WEIGHTS)
    balanced_sampler: bool = setting(False, "Balanced sampler", "Draw every training batch with equal "
                                     "probability for each class (with replacement: rare images repeat, "
                                     "common ones may be left out of an epoch); an epoch keeps its "
                                     "number of images.", "Training")
    tta: bool = setting(False, "Test-time augmentation", "Score the final validation report and the test "
                        "set on each image and its mirror image, averaging the two predictions; "
                        "the per-epoch validation stays a single pass. Mirroring suits classes "
                        "that look the same flipped.", "Training")

    image_size: int = setting(64, "Image size", "Images are resized to this square size before training; "
                              "larger shows more detail but trains slower.", "Data", unit="px",
                              min=16, max=1024)
    augment: AugmentConfig = field(default_factory=AugmentConfig)  # its fields carry their own settings
    val_fraction: float = setting(0.2, "Validation fraction", "Share of each class held out to measure "
                                  "accuracy on images the model never trains on. 0: no validation split "
                                  "(a final model trained on every image but the test set, for a number "
                                  "of epochs chosen beforehand, e.g. by cross-validation; the last "
                                  "epoch is kept).", "Data", min=0, max=1, max_inclusive=False, step=0.05,
                                  bounds_words="between 0 and 1, 1 excluded (0: no validation split)")
    test_fraction: float = setting(0.0, "Test fraction", "Share of each class kept apart as a test set: "
                                   "scored once, at the end, with the weights the run keeps, and never "
                                   "used to choose anything (best epoch, early stopping, schedule). "
                                   "Carved out before the validation split; a folder with its own "
                                   "test/ subfolder uses that instead.", "Data", min=0, max=1,
                                   max_inclusive=False, step=0.05)
    seed: int = setting(0, "Seed", "Fixes the random split, shuffling and augmentation so a run can be "
                        "repeated.", "Data", min=0, max=2**63 - 1)
    max_image_megapixels: float = setting(89.0, "Max image size", "Larger images are skipped as possible "
                                          "decompression bombs (Pillow's own limit is 89).", "Data",
                                          unit="megapixels", min=0, min_inclusive=False, decimals=1,
                                          advanced=True)
    # The dataset audit (workbench/audit): leakage warning before training, duplicate threshold.
    leakage_check: bool = setting(True, "Check for leakage", "Before training, look for copies of an "
                                  "image (identical, or resized/recompressed) on both sides of the "
                                  "train/validation/test split and warn: they make validation scores "
                                  "look better than they are.", "Data", advanced=True)
    near_duplicate_distance: int = setting(2, "Near-duplicate distance", "Two images whose perceptual "
                                           "hashes (64 bits) differ in at most this many bits count as "
                                           "near-duplicates: resized or recompressed copies differ in "
                                           "0-2, heavily recompressed or brightened ones in up to 4 "
                                           "(where unrelated look-alikes start); 0: visually identical.",
                                           "Data", unit="bits", min=0, max=32, advanced=True)
    device: str = setting("auto", "Device", "Where to train: auto picks a CUDA GPU, then Apple MPS, then "
                          "the CPU.", "Hardware", choices=DEVICES)
    mixed_precision: bool = setting(True, "Mixed precision (CUDA)", "On a CUDA GPU, compute in 16-bit "
                                    "where safe: faster, less memory. Ignored elsewhere.", "Hardware")
    channels_last: bool = setting(True, "Channels-last layout (CUDA)", "On a CUDA GPU, store images "
                                  "channels-last, which convolutions run faster on. Ignored elsewhere.",
                                  "Hardware", advanced=True)
    workers: int = setting(2, "Workers", "Threads that decode images into the cache, or loader processes "
                           "when images are streamed from disk.", "Hardware", min=0, max=256, advanced=True)
    cache_budget_mb: int = setting(2048, "Cache budget", "Decode all images into memory once when they fit "
                                   "in this much; otherwise decode them once into the disk cache (or, "
                                   "without one, from disk every epoch).", "Hardware",
                                   unit="MB", min=0, max=10**9, advanced=True)
    disk_cache_mb: int = setting(20480, "Disk cache limit", "Images over the cache budget are decoded "
                                 "once into a file in your cache folder, which every later epoch, run, "
                                 "fold and search trial on the same folder and image size reads; the "
                                 "least recently used are removed to keep the folder under this size. "
                                 "0: no disk cache (decode from disk every epoch).", "Hardware",
                                 unit="MB", min=0, max=10**9, advanced=True)
    compile_model: str = setting("auto", "Compile the model", "torch.compile: the model's first "
                                 "batches take longer (compiling), later ones may run faster. auto: "
                                 "only where it was measured to win within a typical run, compile "
                                 "time included (see benchmarks/bench_compile.py).", "Hardware",
                                 choices=COMPILE_MODES, advanced=True)
    tensorboard: bool = setting(True, "TensorBoard logs", "Write TensorBoard event files to "
                                "RUN/tensorboard/: losses per iteration and epoch, each layer group's "
                                "learning rate, an augmented batch, the confusion matrix, the settings "
                                "with the final metrics (view them with tensorboard --logdir RUNS_FOLDER).",
                                "Reporting")
    unsure_below: float = setting(0.5, "Unsure below", "A prediction whose calibrated probability is "
                                  "below this is marked unsure, with the runner-up class beside it (Try "
                                  "it, workbench predict; exports carry it in their metadata).",
                                  "Reporting", min=0, max=1, step=0.05)

    def problems(self) -> list[str]:
        """Every reason this configuration cannot be used (empty when valid)."""
        from workbench.model_registry import model_problems  # no torch (the window checks settings early)

        bad = problems_of(self)  # type, range and choices of each field, from its Setting
        out: list[str] = []
        # Cross-field checks, on fields whose own type is right (they would trip on wrong types).
        if not bad.keys() & {"model", "image_size", "pretrained"}:
            # An unknown name (built-in or timm:NAME, with close matches) or the model's constraints.
            out.extend(model_problems(self.model, self.image_size, self.pretrained))
        if not bad.keys() & {"model", "drop_path"} and self.drop_path is not None:
            from workbench.model_registry import drop_path_problem

            out.extend(drop_path_problem(self.model))
        if "weights_path" not in bad:
            if self.pretrained and self.weights_path:
                out.append("choose either pretrained weights or a local weights file, not both")
            if self.weights_path and not Path(self.weights_path).is_file():
                out.append(f"weights file not found: {self.weights_path}")
        if not bad.keys() & {"val_fraction", "test_fraction"} and self.val_fraction + self.test_fraction >= 1:
            out.append(f"validation fraction {self.val_fraction} and test fraction {self.test_fraction} "
                       "leave no images to train on; together they must stay below 1")
        if "val_fraction" not in bad and self.val_fraction == 0:
            # Without validation images nothing can watch a metric.
            if self.early_stopping:
                out.append("early stopping needs a validation set, and validation fraction 0 means none; "
                           "turn early stopping off (train the number of epochs you chose)")
            if self.schedule == "reduce_on_plateau":
                out.append("the reduce_on_plateau schedule needs a validation set, and validation "
                           "fraction 0 means none; choose another schedule")
        if self.data_dir is not None and "data_dir" not in bad and not self.data_dir.strip():
            out.append("image folder is empty; choose a folder")
        out.extend(bad.values())
        if isinstance(self.augment, AugmentConfig):
            out.extend(self.augment.problems())
        else:
            out.append(f"augment must be augmentation settings, got {type(self.augment).__name__}")
        return out

    def notes(self) -> list[str]:
        """Settings that are allowed but probably not what was meant (shown, never refused)."""
        out: list[str] = []
        if self.early_stopping and self.patience >= self.epochs:
            out.append(f"Patience {self.patience} ≥ epochs {self.epochs}: early stopping cannot trigger.")
        if self.unfreeze_every and not self.freeze_backbone_epochs:
            out.append("Gradual unfreezing without frozen-backbone epochs releases the first layer "
                       "group at epoch 1: the head never trains alone first.")
        if self.mixed_precision and self.device == "cpu":
            out.append("Mixed precision only applies on a CUDA GPU.")
        if self.class_weights == "balanced" and self.balanced_sampler:
            out.append("Balanced class weights and the balanced sampler both correct the imbalance: "
                       "together the rare classes count more than the common ones.")
        return out

    def validate(self) -> TrainConfig:
        """Raise :class:`ConfigError` listing every problem; return self when valid."""
        problems = self.problems()
        if problems:
            raise ConfigError(problems)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TrainConfig:
        """Build from a dict (e.g. config.json). Unknown keys and values of the wrong type
        (``"15"`` for 15, ``"false"`` for false) are refused, naming the setting; ranges are left
        to :meth:`validate`, so settings saved by another version can still be shown and fixed."""
        if not isinstance(data, dict):
            raise ConfigError([f"settings must be a JSON object, got {type(data).__name__}"])
        data = dict(data)
        augment = data.pop("augment", {})
        if not isinstance(augment, dict):
            raise ConfigError([f"augment must be a JSON object of augmentation settings, "
                               f"got {type(augment).__name__}"])
        values, problems = read_json(cls, data)
        aug_values, aug_problems = read_json(AugmentConfig, augment, "augment.")
        if problems or aug_problems:
            raise ConfigError(problems + aug_problems)
        return cls(**values, augment=AugmentConfig(**aug_values))

    def save_json(self, path: str | Path) -> None:
        from workbench.runs import atomic_write_text

        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load_json(cls, path: str | Path) -> TrainConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError([f"cannot read config file {path}: {exc.strerror or exc}"]) from exc
        # ValueError: bad JSON, bad UTF-8, an int past Python's digit limit; RecursionError: nesting.
        except (ValueError, RecursionError) as exc:
            raise ConfigError([f"config file {path} is not valid JSON: {exc}"]) from exc
        if not isinstance(data, dict):
            raise ConfigError([f"config file {path} must hold a JSON object"])
        return cls.from_dict(data)


def iterations_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimizer steps in one epoch. A last batch of a single image is folded into the one
    before it, because batch-norm layers cannot train on one sample."""
    if n_train <= 0 or batch_size <= 0:
        return 0
    full, rest = divmod(n_train, batch_size)
    if rest == 1 and full > 0:
        return full
    return full + (1 if rest else 0)


def all_settings() -> dict[str, Setting]:
    """Every setting by its dotted path ("epochs", "augment.rotation_range"), in declaration order."""
    out = dict(settings_of(TrainConfig))
    out.update({f"augment.{name}": s for name, s in settings_of(AugmentConfig).items()})
    return out
