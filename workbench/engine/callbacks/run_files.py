"""summary.json: rewritten after every epoch, at the end, and when a run fails."""

from __future__ import annotations

from workbench import __version__
from workbench.data.prepare import data_dir_of
from workbench.engine.callbacks.base import Callback
from workbench.engine.callbacks.best import MONITOR_KEYS
from workbench.engine.device import device_name
from workbench.engine.summary import one_line_summary


class SummaryWriter(Callback):
    """Keeps ``RUN/summary.json`` current and leaves the final one in ``run.summary``."""

    def on_epoch_end(self, run, logs) -> None:
        self.write(run)

    def on_run_end(self, run) -> None:
        run.summary = self.write(run, run.report)
        try:
            run.run_folder.append_log(one_line_summary(run.summary))
        except OSError:
            pass

    def on_error(self, run, exc, fault) -> None:
        if run.owns_folder:  # a refused resume leaves the finished run's summary as it was
            run.summary = self.write(run)
        else:
            run.summary = self.build(run)

    @staticmethod
    def build(run, extra: dict | None = None) -> dict:
        cfg, data, history = run.config, run.data, run.history
        best_epoch = run.best.epoch
        best_row = next((h for h in history if h["epoch"] == best_epoch), None)
        summary = {
            "run_dir": str(run.run_folder.path),
            "status": run.status,
            "stop_reason": run.stop_reason,
            "model": cfg.model,
            "dataset": data_dir_of(cfg),
            "class_names": list(data.class_names) if data else [],
            "monitor": cfg.monitor,
            "best_epoch": best_epoch,
            "best_value": best_row[MONITOR_KEYS[cfg.monitor]] if best_row else None,
            "best_metrics": best_row,
            "stopped_epoch": history[-1]["epoch"] if history else 0,
            "epochs": cfg.epochs,
            "device": str(run.device or ""),
            "device_name": device_name(run.device) if run.device else "",
            "n_train": len(data.train) if data else 0,
            "n_val": len(data.val) if data and data.val is not None else 0,
            "n_test": len(data.test) if data and data.test is not None else 0,
            "total_seconds": run.elapsed(),
            "total_train_images": round(sum(h["images_per_sec"] * h["seconds"] for h in history)),
            "workbench_version": __version__,
        }
        summary.update(extra or {})
        if run.dist.active:
            summary["processes"] = run.dist.world_size
            summary["effective_batch_size"] = cfg.batch_size * run.dist.world_size
        return summary

    def write(self, run, extra: dict | None = None) -> dict:
        summary = self.build(run, extra)
        try:
            run.run_folder.write_json(run.run_folder.summary_path, summary)
        except OSError as exc:
            run.log(f"Could not write summary.json: {exc}")
        return summary
