"""The results view: summary text, confusion matrix, per-class table and misclassified gallery."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtGui import QColor, QPalette  # noqa: E402

from workbench.engine.trainer import Trainer  # noqa: E402
from workbench.gui.results.view import ResultsView, cell_colour  # noqa: E402

NAMES = ["cat", "dog", "fox"]
MATRIX = [[8, 1, 1], [2, 7, 0], [0, 3, 8]]  # rows: true class, columns: predicted


def _per_class() -> list[dict]:
    rows = []
    for i, name in enumerate(NAMES):
        tp, predicted, actual = MATRIX[i][i], sum(r[i] for r in MATRIX), sum(MATRIX[i])
        p, r = tp / predicted, tp / actual
        rows.append({"class": name, "precision": p, "recall": r, "f1": 2 * p * r / (p + r),
                     "support": actual})
    return rows


def _png(path, colour) -> str:
    Image.new("RGB", (40, 30), colour).save(path)
    return str(path)


@pytest.fixture
def summary(tmp_path) -> dict:
    wrong = []
    for t, row in enumerate(MATRIX):
        for p, count in enumerate(row):
            for k in range(count if t != p else 0):
                path = _png(tmp_path / f"{NAMES[t]}_{p}_{k}.png", (40 * t, 60 * p, 100))
                wrong.append({"path": path, "true": NAMES[t], "predicted": NAMES[p],
                              "confidence": 0.5 + k / 10})
    return {
        "status": "finished", "stop_reason": "stopped early: val_loss did not improve for 3 epochs",
        "model": "small_cnn", "class_names": NAMES, "best_epoch": 4, "best_value": 0.4321,
        "best_metrics": {"epoch": 4, "train_loss": 0.3, "train_acc": 0.912, "val_loss": 0.4321,
                         "val_acc": 0.7667, "lr": 0.001, "seconds": 2.5, "images_per_sec": 300.0},
        "stopped_epoch": 7, "epochs": 20, "device": "cpu", "device_name": "CPU (4 threads)",
        "n_train": 120, "n_val": 30, "total_seconds": 83.0, "total_train_images": 840,
        "confusion_matrix": MATRIX, "per_class": _per_class(), "final_val_loss": 0.45,
        "final_val_acc": 0.7667, "misclassified": wrong,
    }


@pytest.fixture
def view(shown):
    return shown(ResultsView(), size=(900, 700))


def _show(qtbot, view, summary):
    with qtbot.waitSignal(view.thumbnailsLoaded, timeout=10_000):
        view.show_summary(summary)


def test_accessible_names(view):
    assert view.accessibleName() == "Results"
    assert view.matrix_table.accessibleName() == "Confusion matrix"
    assert view.class_table.accessibleName() == "Per-class metrics"
    assert view.gallery.accessibleName() == "Misclassified images"
    for widget in (view.matrix_table, view.class_table, view.gallery):
        assert widget.toolTip()


def test_summary_block(qtbot, view, summary):
    _show(qtbot, view, summary)
    assert Trainer.one_line_summary(summary) in view.summary_label.text()
    d = {key: label.text() for key, label in view.detail_labels.items()}
    assert d["Best epoch"] == "4"
    assert d["Validation loss"] == "0.4321"
    assert d["Validation accuracy"] == "76.7%" and d["Training accuracy"] == "91.2%"
    assert d["Why it stopped"] == summary["stop_reason"]
    assert d["Epochs run"] == "7 of 20 planned"
    assert d["Device"] == "CPU (4 threads)"
    assert d["Total time"] == "1 min 23 s"
    assert d["Images trained"] == "840"
    assert d["Lowest recall"] == "72.7% (fox)"  # 8 of 11 foxes; cats 80.0 %, dogs 77.8 %


def test_confusion_matrix_cells_and_headers(qtbot, view, summary):
    _show(qtbot, view, summary)
    table = view.matrix_table
    assert (table.rowCount(), table.columnCount()) == (3, 3)
    assert [table.horizontalHeaderItem(i).text() for i in range(3)] == NAMES
    assert [table.verticalHeaderItem(i).text() for i in range(3)] == NAMES
    assert [[table.item(r, c).text() for c in range(3)] for r in range(3)] == [
        [str(n) for n in row] for row in MATRIX]
    # Shading: diagonal green-ish, off-diagonal red-ish, empty cells left plain.
    diag, off = table.item(0, 0).background().color(), table.item(2, 1).background().color()
    assert diag.green() > diag.red() and off.red() > off.green()
    base = table.palette().color(QPalette.ColorRole.Base)
    assert table.item(1, 2).background().color() == base


def test_cell_colours_keep_text_readable_on_dark_and_light():
    for base in (QColor(255, 255, 255), QColor(30, 30, 30)):
        assert cell_colour(base, 0.0, True) == base
        full, slight = cell_colour(base, 1.0, True), cell_colour(base, 0.1, False)
        assert full != base and slight != base and slight.red() > slight.green()


def test_per_class_table_and_macro_average(qtbot, view, summary):
    _show(qtbot, view, summary)
    table = view.class_table
    assert table.rowCount() == 4
    cells = [[table.item(r, c).text() for c in range(5)] for r in range(4)]
    per = _per_class()
    assert cells[0] == ["cat", f"{per[0]['precision']:.1%}", f"{per[0]['recall']:.1%}",
                        f"{per[0]['f1']:.1%}", "10"]
    assert cells[0][1] == "80.0%" and cells[1][2] == "77.8%"
    macro = [sum(p[k] for p in per) / 3 for k in ("precision", "recall", "f1")]
    assert cells[3] == ["Macro average", *(f"{v:.1%}" for v in macro), "30"]
    # The recall column stands out, its lowest cell (fox) most.
    assert table.horizontalHeaderItem(2).font().bold()
    base = table.item(0, 2).background().color()
    assert table.item(2, 2).background().color().name() == "#fff4e0" != base.name()


def test_gallery_thumbnails_arrive(qtbot, view, summary):
    _show(qtbot, view, summary)
    wrong = summary["misclassified"]
    assert view.gallery.count() == len(wrong) == 7
    assert view.thumbnails_pending == 0
    for i, entry in enumerate(wrong):
        item = view.gallery.item(i)
        assert f"{entry['true']} → {entry['predicted']}" in item.text()
        assert "%" in item.text()
        assert not item.icon().isNull()
        assert item.icon().actualSize(view.gallery.iconSize()).width() > 0
    assert view.gallery_label.text().startswith("7 of 30 validation images")


def test_missing_image_gets_a_placeholder(qtbot, view, summary, tmp_path):
    summary["misclassified"][0]["path"] = str(tmp_path / "gone.png")
    _show(qtbot, view, summary)
    item = view.gallery.item(0)
    assert not item.icon().isNull() and "Could not open" in item.toolTip()


def test_no_misclassified(qtbot, view, summary):
    summary["confusion_matrix"] = [[10, 0, 0], [0, 9, 0], [0, 0, 11]]
    summary["misclassified"] = []
    _show(qtbot, view, summary)
    assert view.gallery.count() == 0
    assert "No validation image was misclassified" in view.gallery_label.text()


def test_clear_empties_everything(qtbot, view, summary):
    _show(qtbot, view, summary)
    view.clear()
    assert view.matrix_table.rowCount() == view.matrix_table.columnCount() == 0
    assert view.class_table.rowCount() == 0 and view.gallery.count() == 0
    assert view.gallery_label.text() == ""
    assert Trainer.one_line_summary(summary) not in view.summary_label.text()
    assert all(label.text() == "—" for label in view.detail_labels.values())


def test_replacing_a_summary_mid_load_ignores_stale_thumbnails(qtbot, view, summary):
    view.show_summary(summary)
    fewer = dict(summary, misclassified=summary["misclassified"][:2])
    _show(qtbot, view, fewer)
    qtbot.wait(100)  # let any late result of the first summary arrive; it must be ignored
    assert view.gallery.count() == 2 and view.thumbnails_pending == 0


def test_closing_the_view_mid_load_is_safe(qtbot, summary):
    widget = ResultsView()
    widget.show_summary(summary)
    widget.deleteLater()
    qtbot.wait(300)  # late decodes must not reach the deleted view


def test_summary_of_a_run_without_epochs(qtbot, view):
    failed = {"status": "failed", "stop_reason": "error: out of memory", "class_names": NAMES,
              "best_epoch": None, "best_metrics": None, "stopped_epoch": 0, "epochs": 10}
    _show(qtbot, view, failed)
    assert "out of memory" in view.summary_label.text()
    assert view.matrix_table.rowCount() == 0 and view.class_table.rowCount() == 0
    assert "no epoch finished" in view.gallery_label.text()


def test_double_click_opens_the_image_larger(qtbot, view, summary):
    _show(qtbot, view, summary)
    dialog = view.open_image(0)
    qtbot.waitUntil(lambda: dialog.image_label.pixmap() is not None
                    and not dialog.image_label.pixmap().isNull(), timeout=10_000)
    dialog.close()


def test_decoded_arrays_become_pixmaps():
    from workbench.gui.common import pixmap_from_array

    array = np.zeros((8, 6, 3), np.uint8)
    array[..., 0] = 255
    pixmap = pixmap_from_array(array)
    assert (pixmap.width(), pixmap.height()) == (6, 8)
    assert pixmap.toImage().pixelColor(0, 0) == QColor(255, 0, 0)


def test_a_real_training_summary(qtbot, view, fast_config, tmp_path):
    summary = Trainer(fast_config, out=tmp_path / "run").run()
    _show(qtbot, view, summary)
    k = len(summary["class_names"])
    assert view.matrix_table.rowCount() == k and view.class_table.rowCount() == k + 1
    assert view.gallery.count() == len(summary["misclassified"])
    assert Trainer.one_line_summary(summary) in view.summary_label.text()


def test_the_test_set_section_appears_only_with_a_test_set(qtbot, summary):
    view = ResultsView()
    qtbot.addWidget(view)
    view.show()
    view.show_summary(summary)
    assert not view.test_set.isVisible()
    test = {"n": 30, "loss": 0.4321, "accuracy": 23 / 30, "confusion": MATRIX, "per_class": _per_class()}
    view.show_summary({**summary, "test": test, "n_test": 30})
    assert view.test_set.isVisible()
    assert view.test_set.headline.text() == "Test accuracy 76.7% · test loss 0.4321 · 30 test images"
    assert "never used to choose anything" in " ".join(
        label.text() for label in view.test_set.findChildren(type(view.test_set.headline)))
    assert view.test_set.matrix_table.matrix == MATRIX
    assert view.test_set.class_table.rowCount() == len(NAMES) + 1  # and the macro average
    assert "30 test" in view.detail_labels["Dataset size"].text()
    view.clear()
    assert not view.test_set.isVisible()


def test_a_final_model_without_validation_shows_no_validation_tables(qtbot, summary):
    view = ResultsView()
    qtbot.addWidget(view)
    view.show()
    view.show_summary({**summary, "n_val": 0, "confusion_matrix": [], "per_class": []})
    assert not view.matrix_table.isVisible()
    assert "no validation split" in view.detail_labels["Dataset size"].text()
