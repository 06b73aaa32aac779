"""The settings form: one widget per setting, made from its metadata, and a lossless round trip."""

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox, QWidget

from workbench.config import AugmentConfig, TrainConfig, all_settings
from workbench.gui.settings_form import SettingsForm

FORM_SETTINGS = {path: s for path, s in all_settings().items() if s.in_form}


@pytest.fixture
def form(shown):
    return shown(SettingsForm())


def _attribute(path: str) -> str:
    return path.replace("augment.", "aug_")


def test_every_setting_has_its_own_widget_named_and_explained(form):
    assert set(form.widgets) == set(FORM_SETTINGS)
    assert len({id(w) for w in form.widgets.values()}) == len(FORM_SETTINGS)
    for path, s in FORM_SETTINGS.items():
        widget = getattr(form, _attribute(path))
        assert widget is form.widgets[path]
        # The widget itself, or the input inside a composite (an optional number, a file field).
        (named,) = [w for w in (widget, *widget.findChildren(QWidget)) if w.accessibleName() == s.label]
        assert named.toolTip().startswith(s.help), path


def test_widget_kinds_and_ranges_come_from_the_metadata(form):
    assert isinstance(form.epochs, QSpinBox)
    assert (form.epochs.minimum(), form.epochs.maximum()) == (1, 100_000)
    assert isinstance(form.early_stopping, QCheckBox) and isinstance(form.optimizer, QComboBox)
    assert [form.optimizer.itemData(i) for i in range(form.optimizer.count())] == ["sgd", "adam", "adamw"]
    assert isinstance(form.lr, QDoubleSpinBox) and form.lr.decimals() == 6
    assert form.lr.minimum() == pytest.approx(1e-6) and form.lr.maximum() == 10  # (0, 10]
    assert (form.val_fraction.minimum(), form.val_fraction.maximum()) == (0.0, 0.99)  # [0, 1)
    assert form.aug_shear_range.maximum() == 89  # [0, 90) in whole degrees
    assert "Allowed: between 16 and 1024 px." in form.image_size.toolTip()


def _form_value(path, s):
    """A value unlike the default that the widget can show exactly."""
    if s.kind is bool:
        return not s.default
    if s.options():
        return next(c for c in s.options() if c != s.default)
    if s.kind is str:
        return "/weights/model.safetensors"
    if s.kind is int:
        return s.min + 3 if s.min + 3 != s.default else s.min + 4
    high = s.max if s.max is not None else s.min + 10
    return round(s.min + 0.3 * (high - s.min), s.decimals) or 1.0


def test_a_config_unlike_the_defaults_survives_the_form(form):
    top = {p: _form_value(p, s) for p, s in FORM_SETTINGS.items() if not p.startswith("augment.")}
    augment = {p[8:]: _form_value(p, s) for p, s in FORM_SETTINGS.items() if p.startswith("augment.")}
    config = TrainConfig(**top, data_dir="/images", augment=AugmentConfig(**augment))
    values = {**top, **{f"augment.{name}": value for name, value in augment.items()}}
    assert [p for p, s in FORM_SETTINGS.items() if values[p] == s.default] == []
    form.set_config(config)
    assert form.config() == config


def test_shifts_and_colour_jitters_are_kept_apart(form):
    augment = AugmentConfig(width_shift_range=0.2, height_shift_range=0.05, brightness=0.3, contrast=0.0,
                            saturation=0.15, hue=0.02, crop_scale_min=0.7, fill_value=128)
    form.set_config(TrainConfig(augment=augment))
    assert form.config().augment == augment


def test_an_optional_setting_can_be_unset(form, qtbot):
    assert form.config().baseline is None and not form.baseline.box.isEnabled()
    with qtbot.waitSignal(form.changed):
        form.baseline.use.setChecked(True)
    form.baseline.box.setValue(0.25)
    assert form.config().baseline == 0.25
    form.baseline.use.setChecked(False)
    assert form.config().baseline is None


def test_advanced_settings_show_on_request(form):
    advanced = [getattr(form, _attribute(p)) for p, s in FORM_SETTINGS.items() if s.advanced]
    assert advanced and not any(w.isVisible() for w in advanced)
    assert form.epochs.isVisible()
    form.show_advanced.setChecked(True)
    assert all(w.isVisible() for w in advanced)


def test_every_edit_is_announced(form, qtbot):
    for edit in [lambda: form.aug_contrast.setValue(0.4), lambda: form.monitor.setCurrentIndex(1),
                 lambda: form.channels_last.setChecked(False),
                 lambda: form.weights_path.line.setText("w.pt")]:
        with qtbot.waitSignal(form.changed, timeout=1000):
            edit()
    assert form.config().augment.contrast == 0.4 and form.config().weights_path == "w.pt"


def test_a_pre_split_folder_disables_the_fractions_and_says_why(qtbot, window, tmp_path, tiny_data):
    from PIL import Image

    for split in ("train", "val"):
        for name in ("a", "b"):
            folder = tmp_path / "presplit" / split / name
            folder.mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (16, 16), (60 * i, 100, 0 if name == "a" else 200)).save(folder / f"{i}.png")
    form = window.form
    usual = form.val_fraction.toolTip()
    with qtbot.waitSignal(window.datasetOpened, timeout=30_000):
        window.open_dataset(tmp_path / "presplit")
    for widget in (form.val_fraction, form.test_fraction):
        assert not widget.isEnabled()
        assert widget.toolTip().startswith("Not used: the image folder has its own")
    assert form.val_fraction.toolTip().endswith(usual)
    with qtbot.waitSignal(window.datasetOpened, timeout=30_000):
        window.open_dataset(tiny_data)
    assert form.val_fraction.isEnabled() and form.val_fraction.toolTip() == usual
