"""Studies: runs of runs and sweeps built on the trainer (LR range test, cross-validation, search)."""
