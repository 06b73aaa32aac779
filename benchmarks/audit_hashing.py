"""Audit hashing of 2,000 images: first look (decode + hash, threads) vs. the cache (stat only),
and the duplicate grouping. Prints the times and their ratio from one run.

    python benchmarks/audit_hashing.py [--images 2000] [--size 256]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=256, help="image side in px (JPEG)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    os.environ["WORKBENCH_CACHE_DIR"] = str(tmp / "cache")
    spec = importlib.util.spec_from_file_location("m", ROOT / "resources/sample_data/make_sample_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_sample_dataset(tmp / "data", per_class=args.images // 4, size=args.size, seed=0)
    paths = sorted(str(p) for p in (tmp / "data").rglob("*.jpg"))

    from workbench.data.duplicates import find_duplicates
    from workbench.data.image_hashes import hash_files

    started = time.perf_counter()
    hashes = hash_files(paths)
    first = time.perf_counter() - started
    started = time.perf_counter()
    hash_files(paths)
    cached = time.perf_counter() - started
    started = time.perf_counter()
    groups = find_duplicates(hashes, 4)
    grouping = time.perf_counter() - started
    print(f"{len(paths)} images of {args.size} px on {os.cpu_count()} CPU(s):")
    print(f"  first look (read, SHA-256, decode, phash): {first:.2f} s ({len(paths) / first:.0f} images/s)")
    print(f"  from the cache:                            {cached:.2f} s ({first / cached:.0f}x faster)")
    print(f"  grouping ({len(groups)} groups at distance 4):      {grouping:.3f} s")


if __name__ == "__main__":
    main()
