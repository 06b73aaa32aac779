"""A run on several processes (GPUs): ``torchrun`` as a child process, followed through the
JSON-lines events its rank 0 writes to stdout.

A :class:`~workbench.gui.training.run.TrainingRun` like the in-process one: the events, the user's
error message included, come as the same event objects. Stop creates a stop file the run polls;
every process then stops after the same batch and the run ends like any stopped run.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QProcess

from workbench.config import TrainConfig
from workbench.engine import events as ev
from workbench.gui.training.run import TrainingRun

# Characters of the processes' stderr kept for the message of a crash (no Error event).
_STDERR_KEPT = 20_000


def torchrun_command(processes: int, config_path: Path, stop_path: Path, out=None, resume=None,
                     runs_root=None) -> list[str]:
    """The arguments after the Python executable: ``-m torch.distributed.run … -m workbench train …``."""
    args = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
            "-m", "workbench", "train", "--config", str(config_path), "--events-jsonl", "-",
            "--stop-file", str(stop_path), "--quiet"]
    for flag, value in (("--out", out), ("--resume", resume), ("--runs-dir", runs_root)):
        if value is not None:
            args += [flag, str(value)]
    return args


class ProcessTrainingRun(TrainingRun):
    """One ``torchrun`` training run in child processes. Lives in the GUI thread: QProcess reads
    the pipes asynchronously, and each line is a small JSON parse."""

    def __init__(self, config: TrainConfig, processes: int, out=None, resume=None, runs_root=None,
                 parent=None):
        super().__init__(parent)
        self._dir = Path(tempfile.mkdtemp(prefix="workbench-run-"))
        config_path, self._stop_path = self._dir / "config.json", self._dir / "stop"
        config.save_json(config_path)
        self._args = torchrun_command(processes, config_path, self._stop_path, out, resume, runs_root)
        self._stdout = b""
        self._stderr = ""
        self.process = QProcess(self)
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)

    def start(self) -> None:
        self.process.start(sys.executable, self._args)

    def request_stop(self) -> None:
        """Every process stops after the same batch (the run polls this file)."""
        self._stop_path.touch()

    def wait(self, msecs: int) -> bool:
        """Wait for the processes to end; past ``msecs`` (say the window is closing) torchrun gets
        SIGTERM, which it passes on to every process (they stop cleanly; it kills them 30 s later),
        so no process outlives the window."""
        if self.process.state() == QProcess.ProcessState.NotRunning:
            return True
        if self.process.waitForFinished(msecs):
            return True
        self.process.terminate()
        return self.process.waitForFinished(40_000)

    # Output ----------------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        self._stdout += bytes(self.process.readAllStandardOutput().data())
        *lines, self._stdout = self._stdout.split(b"\n")
        for line in lines:
            self._handle_line(line.decode("utf-8", errors="replace"))

    def _handle_line(self, line: str) -> None:
        event = ev.parse_event_line(line)
        if event is not None:  # else a stray line (a library's warning)
            self._deliver(event)

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError().data()).decode("utf-8", errors="replace")
        self._stderr = (self._stderr + text)[-_STDERR_KEPT:]

    def _on_finished(self, exit_code: int, _status) -> None:
        self._read_stdout()
        if self._stdout:
            self._handle_line(self._stdout.decode("utf-8", errors="replace"))
            self._stdout = b""
        self._read_stderr()
        # Used only when no RunEnd or Error came through the events (a crash, a kill).
        self._finish(ev.Error(message=crash_message(self._stderr, exit_code), type="ProcessExit",
                              details={"exit_code": exit_code}))

    def _on_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._finish(ev.Error(message=f"Could not start the training processes ({sys.executable} "
                                          f"-m torch.distributed.run): {self.process.errorString()}",
                                  type="FailedToStart"))

    def _finish(self, fallback: ev.Error) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
        self._end(fallback)


def crash_message(stderr: str, exit_code: int) -> str:
    """For processes that died without an Error event: the exit code and the end of stderr."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    tail = "\n".join(lines[-15:])
    return f"The training processes ended with exit code {exit_code}.\n{tail}".strip()
