"""Save report…: from the Runs view's selected run and from File → Save report, written off the GUI
thread, then opened in the browser."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog


def test_the_runs_view_saves_a_report_of_the_selected_run_and_opens_it(qtbot, window, past_runs, tmp_path,
                                                                      monkeypatch):
    root, paths = past_runs
    view = window.runs_view
    with qtbot.waitSignal(view.runsListed, timeout=20_000):
        view.set_runs_root(root)
    assert not view.report_button.isEnabled()  # nothing selected yet
    view.select_runs([paths[0]])
    assert view.report_button.isEnabled()
    target = tmp_path / "chosen" / "my report"
    target.parent.mkdir()
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda _parent, _title, start, _filter: (asked.append(start) or str(target), ""))
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    with qtbot.waitSignal(window.report_saver.saved, timeout=60_000) as blocker:
        view.report_button.click()
    written = Path(blocker.args[0])
    assert written == target.with_name("my report.html") and written.stat().st_size > 5_000
    assert asked == [str(Path(paths[0]) / "report.html")]
    assert "<section id=\"curves\">" in written.read_text(encoding="utf-8")
    assert opened == [str(written)]
    assert "Report saved to" in window.statusBar().currentMessage()


def test_file_save_report_waits_for_a_run_and_a_failure_is_shown(qtbot, window, tmp_path, monkeypatch):
    assert not window.report_action.isEnabled()  # no run in this window yet
    assert window.save_report() is False
    (tmp_path / "not-a-run").mkdir()
    with qtbot.waitSignal(window.report_saver.failed, timeout=20_000) as blocker:
        assert window.save_report(str(tmp_path / "not-a-run"), str(tmp_path / "r.html"))
    assert "holds no run" in blocker.args[0]
    assert "Could not save the report" in window.statusBar().currentMessage()
    assert not (tmp_path / "r.html").exists()
