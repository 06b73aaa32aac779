"""What the window's study tests share: the tiny data open and the form set for a tiny study."""

import pytest


@pytest.fixture
def tiny_study_form(qtbot, window, tiny_data):
    """The window on tiny_data with small_cnn, 32 px, batch 4, 2 epochs: a study of a few seconds."""
    with qtbot.waitSignal(window.datasetOpened, timeout=30_000):
        window.open_dataset(tiny_data)
    form = window.form
    form.model.setCurrentIndex(form.model.findData("small_cnn"))
    form.image_size.setValue(32)
    form.batch_size.setValue(4)
    form.epochs.setValue(2)
    return form
