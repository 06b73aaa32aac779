"""The held-out test set, scored once at the end with the weights the run keeps."""

from __future__ import annotations

from workbench.engine.callbacks.base import Callback
from workbench.engine.evaluation import class_report


class TestSetReport(Callback):
    """Puts ``{"n", "loss", "accuracy", "confusion", "per_class", "tta"}`` into ``run.report["test"]``.

    It runs after :class:`~workbench.engine.callbacks.report.FinalReport` (so the weights are the
    ones the run keeps) and no callback reads its result: test images never choose anything.
    """

    __test__ = False  # not a pytest test class, whatever its name

    def on_run_end(self, run) -> None:
        if run.data is None or run.data.test is None or not run.history:
            return
        result = run.evaluate(collect=True, source=run.data.test, tta=run.config.tta)
        report = class_report(result["labels"], result["predictions"], run.data.class_names)
        run.report["test"] = {"n": result["count"], "loss": result["loss"], "accuracy": result["accuracy"],
                              "confusion": report["confusion_matrix"], "per_class": report["per_class"],
                              "tta": run.config.tta}
        run.log(f"Test set ({result['count']} images, never used to choose anything): loss "
                f"{result['loss']:.4f}, accuracy {result['accuracy']:.1%}.")
