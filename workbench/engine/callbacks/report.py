"""The end-of-run report: the best weights back (when asked) and the whole validation set scored."""

from __future__ import annotations

from workbench.engine.callbacks.base import Callback
from workbench.engine.evaluation import class_report, misclassified

MAX_MISCLASSIFIED = 200


class FinalReport(Callback):
    """Puts the confusion matrix, per-class metrics and misclassified images into ``run.report``,
    and the evaluation itself (with every image's class probabilities) in ``run.final_evaluation``.

    The weights reported are the best epoch's when ``restore_best_weights`` is set, and always
    after a failure (the last weights may be the ones that diverged).
    """

    def on_run_end(self, run) -> None:
        run.report.update(run.dist.weights_report(run.model))  # {} with one process
        if not run.history or run.data.val is None:
            return
        if run.config.restore_best_weights or run.status == "failed":
            best = run.dist.read_checkpoint(run.run_folder.checkpoint_path("best"))
            if best is not None:
                run.eval_model.load_state_dict(best["model"])
                run.log(f"Restored the weights of the best epoch ({run.best.epoch}).")
        final = run.evaluate(collect=True, tta=run.config.tta)
        if run.config.tta:
            run.report["tta"] = True
            run.log("Final validation report with test-time augmentation (each image and its mirror "
                    "image, predictions averaged).")
        run.final_evaluation = final  # the scored validation set, for callbacks after this one
        run.report.update(class_report(final["labels"], final["predictions"], run.data.class_names))
        run.report["final_val_loss"], run.report["final_val_acc"] = final["loss"], final["accuracy"]
        paths = _scored_paths(run.data.val, len(final["labels"]))
        if paths is None:
            run.log("Some validation images could not be read for the final report, so its list "
                    "of misclassified images is left out.")
        run.report["misclassified"] = misclassified(paths, final, run.data.class_names,
                                                    limit=MAX_MISCLASSIFIED) if paths else []


def _scored_paths(source, scored: int) -> list[str] | None:
    """The paths of the images a full pass over ``source`` scored, in order: streamed images
    that failed to decode are left out of the pass. None when that does not account for them."""
    failed = {path for path, _ in source.failed}
    paths = [p for p in source.paths if p not in failed]
    return paths if len(paths) == scored else None
