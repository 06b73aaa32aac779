"""With layer-wise learning rates the learning-rate plot shows the head's and the first group's."""

from workbench.engine import events as ev
from workbench.gui.training.tab import TrainingTab


def _epoch(epoch, first):
    return ev.EpochEnd(epoch=epoch, train_loss=1.0, train_acc=0.5, val_loss=1.0, val_acc=0.5, lr=1e-3,
                       seconds=1.0, images_per_sec=10.0, best_epoch=epoch, epochs=2, lr_first_group=first)


def _legend(tab):
    return [label.text for _sample, label in tab.plots.lr_plot.plotItem.legend.items]


def test_the_first_group_rate_is_drawn_beside_the_heads(shown):
    tab = shown(TrainingTab())
    tab.session.handle(_epoch(1, None))
    assert tab.plots.point_count("lr_first_group") == 0 and _legend(tab) == ["learning rate"]
    for epoch in (1, 2):
        tab.session.handle(_epoch(epoch, 1e-3 * 0.5 ** 3))
    assert tab.plots.point_count("lr_first_group") == 2
    assert _legend(tab) == ["head", "first layer group"]
    tab.session.reset()
    assert tab.plots.point_count("lr_first_group") == 0 and _legend(tab) == ["learning rate"]
