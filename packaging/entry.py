"""Entry point of the packaged app: the same ``workbench`` command as the pip-installed one."""

import multiprocessing

from workbench.cli import main

if __name__ == "__main__":
    # DataLoader worker processes re-run this executable on Windows and macOS (spawn).
    multiprocessing.freeze_support()
    raise SystemExit(main())
