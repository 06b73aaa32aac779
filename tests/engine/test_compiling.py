"""The compile_model setting: on and off are obeyed; auto compiles only measured wins."""

from workbench.config import TrainConfig
from workbench.engine import compiling


def test_on_and_off_are_obeyed_and_auto_follows_the_measured_wins(monkeypatch):
    assert compiling.should_compile("on", "small_cnn", "cpu")
    assert not compiling.should_compile("off", "small_cnn", "cuda")
    assert not compiling.should_compile("auto", "small_cnn", "mps")  # never measured there
    monkeypatch.setitem(compiling.COMPILE_PAYS, "cpu", frozenset({"resnet18"}))
    assert compiling.should_compile("auto", "resnet18", "cpu")
    assert not compiling.should_compile("auto", "small_cnn", "cpu")


def test_the_setting_refuses_other_values():
    assert any("compile" in p for p in TrainConfig(compile_model="yes").problems())
    assert TrainConfig().compile_model == "auto"
