"""prepare_data: the cache fill is timed and reported; streaming sets report no fill."""

from workbench.config import TrainConfig
from workbench.data.prepare import prepare_data


def test_cache_fill_is_timed_and_logged_with_progress(tiny_data):
    lines, progress = [], []
    config = TrainConfig(data_dir=str(tiny_data), image_size=32, workers=1)
    data = prepare_data(config, log=lines.append, progress=lambda done, total: progress.append((done, total)))
    total = len(data.train) + len(data.val)
    assert total == 64 and not data.train.streaming
    assert data.decode_seconds > 0
    assert any(line.startswith(f"Decoded {total} images in ") and "images/s" in line for line in lines)
    assert progress[-1] == (total, total)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


def test_streaming_has_no_cache_fill(tiny_data):
    lines = []
    config = TrainConfig(data_dir=str(tiny_data), image_size=32, workers=0, cache_budget_mb=0,
                         disk_cache_mb=0)
    data = prepare_data(config, log=lines.append)
    assert data.train.streaming and data.decode_seconds == 0.0
    assert not any(line.startswith("Decoded") for line in lines)
