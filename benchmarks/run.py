"""Benchmarks: the loader and validation against the plain alternatives, as ratios in one run.

    python benchmarks/run.py [--repeat N]

Ratios, not absolute times: both sides run on the same machine, in the same process,
interleaved, and the median of N runs is compared.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

import chokepoint_data as cd
from chokepoint_data.store import _loader
from chokepoint_data.store import _descriptor

ROOT = Path(__file__).resolve().parents[1]


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"{'table':<22}{'cd.load ms':>12}{'read_parquet ms':>17}{'ratio':>8}")
    for name in cd.list_tables():
        path = _descriptor.resource_path(_descriptor.resource(name))
        cd.load(name)  # warm the cache the way a session would
        ours = median_time(lambda: cd.load(name), args.repeat)
        plain = median_time(lambda: pd.read_parquet(path), args.repeat)
        print(f"{name:<22}{ours * 1e3:>12.2f}{plain * 1e3:>17.2f}{ours / plain:>8.2f}")
    _loader._arrow_cache.clear()
    cold = median_time(lambda: (_loader._arrow_cache.clear(), cd.load_all()), max(3, args.repeat // 4))
    plain_all = median_time(lambda: [pd.read_parquet(_descriptor.resource_path(_descriptor.resource(n))) for n in cd.list_tables()],
                            max(3, args.repeat // 4))
    print(f"{'load_all (cold)':<22}{cold * 1e3:>12.2f}{plain_all * 1e3:>17.2f}{cold / plain_all:>8.2f}")
    ours_v = median_time(lambda: cd.validate(), 3)
    exe = Path(sys.executable).with_name("frictionless")
    cmd = [str(exe) if exe.exists() else "frictionless", "validate", "datapackage.json"]
    theirs_v = median_time(lambda: subprocess.run(cmd, cwd=ROOT, capture_output=True, check=False), 3)
    print(f"\nvalidate(): {ours_v:.2f} s; frictionless validate datapackage.json: {theirs_v:.2f} s; "
          f"ratio {ours_v / theirs_v:.2f} (ours also checks cross-table invariants)")


if __name__ == "__main__":
    main()
