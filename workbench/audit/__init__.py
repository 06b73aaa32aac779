"""The dataset audit: duplicates, leakage across the split, and likely label errors (Qt-free).

``workbench audit DATA [--run RUN | --cv STUDY]`` and the Dataset tab's Audit page both call
:func:`run_audit` and save its result as ``audit.json`` (:func:`default_audit_path`: in the study
folder with ``--cv``, else ``audits/<folder>-<hash>/`` beside the runs folder; ``--out`` to choose).

``audit.json`` (``"format": "workbench-audit-1"``), every path absolute::

    {
      "format": "workbench-audit-1",
      "created": "2025-01-31T12:00:00",          local time
      "dataset": "/data/pets",                     the scanned folder
      "class_names": ["cat", "dog"],
      "images": 2000,                              usable images audited
      "near_duplicate_distance": 2,                phash bits (of 64) a near-duplicate may differ in
      "split": {"source": "settings", "val_fraction": 0.2, "test_fraction": 0.0, "seed": 0}
               or {"source": "folder"}              (the folder's own train/val/test)
      "exact_duplicates": [{"files": [FILE, …]}],                  same bytes
      "near_duplicates":  [{"files": [FILE, …], "distance": 2}],   largest phash distance inside
      "leakage": [{"kind": "exact" | "near", "files": [FILE, …], "splits": ["train", "val"]}],
      "label_issues": [{"rank": 1, "path": …, "class": "cat", "split": "val",
                        "suggested_class": "dog", "given_probability": 0.02,
                        "suggested_probability": 0.97}, …],        most likely error first
      "label_check": {"source": null}  or  {"source": "cross_validation" | "run", "path": FOLDER,
                      "checked": 1600, "warning": null | "…weaker…", "notes": ["…"]},
      "unhashed": [{"path": …, "reason": …}],     files that could not be read or decoded
      "moves": [{"from": …, "to": …, "class": …, "time": …}],      "Move to class…" done since
      "seconds": 1.9
    }
    FILE = {"path": "/data/pets/cat/1.jpg", "class": "cat", "split": "train" | "val" | "test" | null}

Every duplicate group lists each file once, and a file is in at most one group (exact copies of
an image that also has near-duplicates are in its near group). Leakage lists the groups whose
files the split puts in more than one of train / val / test.
"""

from workbench.audit.label_issues import (
    RUN_WARNING,
    AuditError,
    ClassProbabilities,
    from_cross_validation,
    from_run,
    probability_sources,
    rank_label_issues,
)
from workbench.audit.moves import move_to_class, record_move
from workbench.audit.report import (
    AUDIT_FILE,
    AUDIT_FORMAT,
    default_audit_path,
    leakage_for,
    read_audit,
    run_audit,
    summary_lines,
    write_audit,
)

__all__ = ["AUDIT_FILE", "AUDIT_FORMAT", "RUN_WARNING", "AuditError", "ClassProbabilities",
           "default_audit_path", "from_cross_validation", "from_run", "leakage_for", "move_to_class",
           "probability_sources", "rank_label_issues", "read_audit", "record_move", "run_audit",
           "summary_lines", "write_audit"]
