"""Temperature scaling at the end of a run: calibrated probabilities for every checkpoint."""

from __future__ import annotations

import torch

from workbench.engine.calibration import calibration_report
from workbench.engine.callbacks.base import Callback
from workbench.engine.checkpoint import serialise_checkpoint, write_checkpoint_files

CHECKPOINT_KEY = "calibration"  # the checkpoint entry; model_files reads the temperature from it
# What a checkpoint keeps of the report (the reliability bins stay in summary.json).
_KEPT = ("temperature", "images", "nll_before", "nll_after", "ece_before", "ece_after")


class TemperatureScaling(Callback):
    """Fits the temperature of best.pt and last.pt on the validation set and stores it in each
    (``checkpoint["calibration"]``), so every export of either carries its own temperature.

    It runs after :class:`~workbench.engine.callbacks.report.FinalReport`: the validation logits
    of the weights that report scored are reused for the checkpoint holding those weights; only a
    checkpoint with other weights is scored again (its weights are loaded for that and the
    report's put back after). The weights are ``run.eval_model``'s: with EMA on, the average.
    ``run.report["calibration"]`` is best.pt's result, with the reliability bins before and
    after, and goes into summary.json.

    Every process computes the same numbers (the final evaluation scores the whole set on each);
    only rank 0 rewrites the checkpoint files. A run without a validation split is not calibrated
    (its exports say temperature 1).
    """

    def on_run_end(self, run) -> None:
        final = run.final_evaluation
        if final is None or run.data is None or run.data.val is None or not len(final["labels"]):
            return
        folder = run.run_folder
        states = {w: run.dist.read_checkpoint(folder.checkpoint_path(w)) for w in ("best", "last")}
        states = {w: s for w, s in states.items() if isinstance(s, dict) and isinstance(s.get("model"), dict)}
        if not states:
            return
        kept = None  # the weights the final report scored, while another checkpoint's are loaded
        reports: dict[int, dict] = {}  # by epoch: best.pt and last.pt of one epoch hold one model
        for which, state in states.items():
            epoch = state.get("epoch")
            if epoch in reports:
                continue
            scored = kept if kept is not None else run.eval_model.state_dict()
            if _same_weights(scored, state["model"]):
                scoring = final
            else:
                if kept is None:
                    kept = {k: v.detach().clone() for k, v in run.eval_model.state_dict().items()}
                run.eval_model.load_state_dict(state["model"])
                scoring = run.evaluate(collect=True)
            logits, labels = scoring["logits"], torch.tensor(scoring["labels"])
            if not torch.isfinite(logits).all():
                run.log(f"The {which} checkpoint gives non-finite scores on the validation set: "
                        "its probabilities are left uncalibrated.")
                continue
            reports[epoch] = calibration_report(logits, labels)
        if kept is not None:
            run.eval_model.load_state_dict(kept)
        if run.dist.is_main:
            self._store(run, states, reports)
        best = reports.get(states.get("best", {}).get("epoch")) or next(iter(reports.values()), None)
        if best is None:
            return
        which = "best" if "best" in states and states["best"].get("epoch") in reports else "last"
        run.report["calibration"] = {"checkpoint": which, "epoch": states[which].get("epoch"), **best}
        run.log(f"Calibration ({which} checkpoint, temperature scaling on {best['images']} validation "
                f"images): temperature {best['temperature']:.3g}; validation NLL {best['nll_before']:.4f} "
                f"→ {best['nll_after']:.4f}, expected calibration error {best['ece_before']:.1%} → "
                f"{best['ece_after']:.1%}.")

    @staticmethod
    def _store(run, states: dict, reports: dict) -> None:
        """Rewrite each checkpoint with its calibration (atomically; one file for both names when
        best.pt and last.pt are the same epoch, as the checkpoint writer made them)."""
        by_epoch: dict[int, list[str]] = {}
        for which, state in states.items():
            if state.get("epoch") in reports:
                by_epoch.setdefault(state["epoch"], []).append(which)
        for epoch, names in by_epoch.items():
            state = states[names[0]]
            state[CHECKPOINT_KEY] = {k: reports[epoch][k] for k in _KEPT}
            paths = [run.run_folder.checkpoint_path(w) for w in names]
            try:
                write_checkpoint_files(paths, serialise_checkpoint(state))
            except OSError as exc:
                run.log(f"Could not store the calibration in {', '.join(p.name for p in paths)}: "
                        f"{exc.strerror or exc}. Exports of it will not be calibrated.")


def _same_weights(current: dict, weights: dict) -> bool:
    """Whether two state_dicts hold exactly the same tensors (the model's and a checkpoint's)."""
    if current.keys() != weights.keys():
        return False
    return all(torch.equal(v.detach(), weights[k].to(v.device)) for k, v in current.items())
