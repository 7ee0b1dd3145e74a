"""The scaling benchmark's memory mode (benchmarks/scale.py --memory): it must measure what it
says, in both input forms, and report a memory limit it could not set or that killed the run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCALE = Path(__file__).resolve().parents[1] / "benchmarks" / "scale.py"
pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")


@pytest.fixture(scope="module")
def scale():
    spec = importlib.util.spec_from_file_location("scale_benchmark", SCALE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["scale_benchmark"] = module
    spec.loader.exec_module(module)
    return module


def test_the_arrow_files_it_writes_map_back_to_the_same_valid_rows(scale, tmp_path):
    import pyarrow as pa

    import chokepoint_data as cd

    frames = scale.generate_set("market_shares", 3_000)
    scale._write_frames(tmp_path, frames)
    for name, frame in frames.items():
        table = pa.ipc.open_file(pa.memory_map(str(tmp_path / f"{name}.arrow"))).read_all()
        assert table.num_rows == len(frame) and table.column("market_id").num_chunks == 1
        assert pa.types.is_large_string(table.schema.field("market_id").type)
        assert table.column("market_id").to_pylist() == frame["market_id"].tolist()
    cd.validate({name: pa.ipc.open_file(pa.memory_map(str(tmp_path / f"{name}.arrow"))).read_all() for name in frames})


def test_memory_mode_reads_both_forms_and_reports_a_limit(scale, capsys):
    scale.main(["--memory", "2000", "--tables", "indicators", "--memory-limit", "0.03"])
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[1]: line for line in lines[1:]}
    assert set(rows) == {"pandas", "arrow"}, lines
    for line in rows.values():
        # 30 MiB cannot hold Python with pandas: the run is killed, or the limit could not be set
        # and the row measures the run and says why there was no limit
        if "killed by the 0.03 GiB limit" in line:
            continue
        assert "cannot make a memory cgroup" in line or "no cgroup memory controller" in line, line
        assert int(line.split()[2].replace(",", "")) == 2000, line


def test_a_cgroup_the_process_cannot_join_is_reported_and_the_run_measured(scale, monkeypatch):
    """Where the cgroup is made but the process cannot join it (a delegation the machine does
    not allow), the run goes on without the limit and says so, and the cgroup is removed."""
    removed = []

    def enter():
        raise PermissionError("not allowed")

    monkeypatch.setattr(scale, "_memory_limit", lambda limit: (enter, lambda: removed.append(True) or "?", ""))
    rows, *measures, said = scale.memory_run("indicators", 1_000, "arrow", 0.5)
    assert rows == 1_000 and all(m is not None for m in measures)
    assert said == "cannot move a process into a memory cgroup here" and removed == [True]
