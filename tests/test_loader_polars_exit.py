"""load(..., backend="polars") never aborts the interpreter at exit (polars 2.1 with pyarrow 26 did,
in about one run in four, when polars was imported before pyarrow)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("polars")

RUNS = 20
CODE = "import chokepoint_data as cd; cd.load('market_shares', backend='polars')"  # the case that aborted


def _run(_: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-c", CODE], capture_output=True, env=env, timeout=120,
                          check=False).returncode


def test_twenty_processes_loading_with_polars_all_exit_cleanly():
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(_run, range(RUNS)))
    assert codes == [0] * RUNS, f"{sum(c != 0 for c in codes)} of {RUNS} runs ended with {sorted(set(codes))}"
