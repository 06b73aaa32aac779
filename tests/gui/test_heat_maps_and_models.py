"""Heat maps in the window (Try it cards, the misclassified gallery) and the timm model picker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from workbench.gui.results.gallery import MisclassifiedGallery  # noqa: E402
from workbench.gui.settings_form import SettingsForm  # noqa: E402
from workbench.gui.try_it.view import TryItView  # noqa: E402


def _image_of(pixmap):
    return pixmap.toImage()


def test_the_try_it_toggle_lays_the_heat_map_over_the_thumbnail(qtbot, shown, trained_run, tiny_data):
    view = shown(TryItView(), size=(800, 600))
    with qtbot.waitSignal(view.modelLoaded, timeout=30_000):
        view.set_model(trained_run)
    image = sorted((Path(tiny_data) / "star").iterdir())[0]
    with qtbot.waitSignal(view.predictionsShown, timeout=30_000):
        view.add_images([image])
    card = view.cards[0]
    thumbnail = _image_of(card.image.pixmap())
    assert card.heat_button.isEnabled() and not card.showing_heat_map
    with qtbot.waitSignal(view.heatMapShown, timeout=30_000):
        card.heat_button.click()
    assert card.showing_heat_map
    shown_now = _image_of(card.image.pixmap())
    assert shown_now.size() == thumbnail.size() and shown_now != thumbnail
    card.heat_button.click()  # off again: the plain thumbnail, nothing recomputed
    assert _image_of(card.image.pixmap()) == thumbnail and card.overlay is not None


def test_the_gallery_shows_heat_maps_of_the_predicted_and_of_the_true_class(qtbot, shown, trained_run):
    summary = json.loads((trained_run / "summary.json").read_text())
    if not summary.get("misclassified"):
        pytest.skip("the shared run made no mistakes")  # 2 epochs on 64 images: it always makes some
    gallery = shown(MisclassifiedGallery(), size=(700, 400))
    with qtbot.waitSignal(gallery.thumbnailsLoaded, timeout=30_000):
        gallery.show_summary(summary, summary["confusion_matrix"])
    plain = [_image_of(gallery.item(r).icon().pixmap(96)) for r in range(gallery.count())]
    with qtbot.waitSignal(gallery.heatMapsShown, timeout=60_000):
        gallery.heat_mode.setCurrentIndex(gallery.heat_mode.findData("predicted"))
    predicted = [_image_of(gallery.item(r).icon().pixmap(96)) for r in range(gallery.count())]
    assert all(a != b for a, b in zip(plain, predicted, strict=True))
    with qtbot.waitSignal(gallery.heatMapsShown, timeout=60_000):
        gallery.heat_mode.setCurrentIndex(gallery.heat_mode.findData("true"))
    true = [_image_of(gallery.item(r).icon().pixmap(96)) for r in range(gallery.count())]
    assert any(a != b for a, b in zip(predicted, true, strict=True))  # another class, another map
    gallery.heat_mode.setCurrentIndex(0)
    assert [_image_of(gallery.item(r).icon().pixmap(96)) for r in range(gallery.count())] == plain


def test_the_model_picker_searches_timm_and_counts_the_selected_models_parameters(qtbot, shown):
    form = shown(SettingsForm(), size=(500, 900))
    picker = form.model
    assert [picker.combo.itemData(i) for i in range(3)] == ["small_cnn", "resnet18", "resnet50"]
    picker.choose_timm_model()
    dialog = picker.dialog
    qtbot.waitUntil(lambda: dialog.names.rowCount() > 1000, timeout=60_000)
    dialog.search.setText("test_efficientnet")
    shown_names = [dialog.filtered.index(r, 0).data() for r in range(dialog.filtered.rowCount())]
    assert "timm:test_efficientnet" in shown_names
    assert all("test_efficientnet" in n for n in shown_names)
    row = shown_names.index("timm:test_efficientnet")
    with qtbot.waitSignal(dialog.countShown, timeout=30_000):
        dialog.list.setCurrentIndex(dialog.filtered.index(row, 0))
    from workbench.models import parameter_count

    count = parameter_count("timm:test_efficientnet", 10)  # the picker counts with a 10-class head
    assert dialog.status.text() == f"timm:test_efficientnet: {count:,} parameters"
    with qtbot.waitSignal(form.changed):
        dialog.accept()
    assert form.config().model == "timm:test_efficientnet" and form.problems() == []
    dialog.search.setText("no_such_model")
    assert dialog.filtered.rowCount() == 0 and "No timm model matches" in dialog.status.text()
    # A timm model in saved settings comes back into the list.
    other = SettingsForm()
    qtbot.addWidget(other)
    other.set_config(form.config())
    assert other.model.value() == "timm:test_efficientnet"
