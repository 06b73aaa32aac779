"""`workbench train --events-jsonl` and `--stop-file` in one process: what launchers build on."""

import json

from workbench.cli import main


def _args(config, tmp_path, *extra):
    return ["train", config.data_dir, "--model", "small_cnn", "--image-size", "32", "--batch-size", "8",
            "--workers", "1", "--out", str(tmp_path / "run"), *extra]


def test_events_go_to_stdout_as_json_lines_and_the_summary_to_stderr(fast_config, tmp_path, capsys):
    assert main(_args(fast_config, tmp_path, "--epochs", "1", "--events-jsonl", "-", "--quiet")) == 0
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in out.splitlines()]  # every stdout line is one event
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "run_end" and "run_start" in kinds and kinds.count("epoch_end") == 1
    assert events[-1]["status"] == "finished" and events[-1]["run_dir"] == str(tmp_path / "run")
    assert "Run folder:" in err


def test_an_existing_stop_file_stops_after_the_first_batch(fast_config, tmp_path):
    stop = tmp_path / "STOP"
    stop.touch()
    events = tmp_path / "events.jsonl"
    assert main(_args(fast_config, tmp_path, "--epochs", "5", "--stop-file", str(stop),
                      "--events-jsonl", str(events), "--quiet")) == 0
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    batches = [e for e in lines if e["event"] == "batch_end"]
    assert len(batches) <= 2  # the watcher polls every 0.2 s; the run is stopped within a batch or two
    assert lines[-1]["status"] == "stopped"


def test_progress_is_throttled_but_always_reports_the_end():
    from workbench.engine.events import throttled_progress

    seen = []
    report = throttled_progress(lambda done, total: seen.append((done, total)), interval=3600)
    for done in range(1, 101):
        report(done, 100)
    assert seen == [(1, 100), (100, 100)]  # the first, then nothing until the last
    every = throttled_progress(lambda done, total: seen.append((done, total)), interval=0)
    seen.clear()
    for done in range(1, 4):
        every(done, 3)
    assert seen == [(1, 3), (2, 3), (3, 3)]
