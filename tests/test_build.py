"""The build: reproducible, up to date, refuses bad input, and loses nothing."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow
import pyarrow.parquet as pq
import pytest

from chokepoint_data import BuildError, build as build_mod
from chokepoint_data.build import TABLES, build
from chokepoint_data.store import _atomic

OUTPUTS = [f"chokepoint_data/data/{t}.parquet" for t in TABLES] + [
    "chokepoint_data/datapackage.json", "chokepoint_data/_pins.py", "datapackage.json", "docs/DATA_DICTIONARY.md"]


def _digests(base: Path) -> dict[str, str]:
    return {rel: hashlib.sha256((base / rel).read_bytes()).hexdigest() for rel in OUTPUTS if (base / rel).is_file()}


def test_committed_outputs_are_up_to_date(root, tmp_path):
    """Rebuild from the committed curation into a temporary folder and compare."""
    build(root, tmp_path)
    for rel in OUTPUTS:
        if rel.endswith(".parquet"):
            fresh, committed = pq.read_table(tmp_path / rel), pq.read_table(root / rel)
            assert fresh.equals(committed), f"{rel} is stale: run `chokepoint-data build`"
            writer = pq.ParquetFile(root / rel).metadata.created_by
            if f"version {pyarrow.__version__}" in writer:
                assert (tmp_path / rel).read_bytes() == (root / rel).read_bytes(), rel
        elif rel.endswith((".json", "_pins.py")) and "parquet" not in rel:
            continue  # hashes depend on the writer's version; checked below when it matches
        else:
            assert (tmp_path / rel).read_text() == (root / rel).read_text(), f"{rel} is stale"
    same_writer = all(f"version {pyarrow.__version__}" in pq.ParquetFile(root / f"chokepoint_data/data/{t}.parquet").metadata.created_by
                      for t in TABLES)
    if same_writer:
        for rel in ("datapackage.json", "chokepoint_data/datapackage.json", "chokepoint_data/_pins.py"):
            assert (tmp_path / rel).read_text() == (root / rel).read_text(), f"{rel} is stale"


def test_build_is_byte_reproducible(root, tmp_path):
    build(root, tmp_path / "a")
    build(root, tmp_path / "b")
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert len(_digests(tmp_path / "a")) == len(OUTPUTS)


def test_rows_come_out_sorted_by_primary_key(root, tmp_path, schemas):
    build(root, tmp_path)
    for name in TABLES:
        df = pq.read_table(tmp_path / f"chokepoint_data/data/{name}.parquet").to_pandas()
        pk = schemas[name]["primaryKey"]
        assert df.equals(df.sort_values(pk, kind="mergesort", na_position="first").reset_index(drop=True)), name


def test_parquet_types_follow_the_table_schema(root, schemas):
    kinds = {"string": "string", "integer": "int64", "number": "double", "boolean": "bool", "date": "date32[day]"}
    for name in TABLES:
        arrow = pq.read_schema(root / f"chokepoint_data/data/{name}.parquet")
        for field in schemas[name]["fields"]:
            assert str(arrow.field(field["name"]).type) == kinds[field["type"]], (name, field["name"])
            assert arrow.field(field["name"]).nullable == (not field.get("constraints", {}).get("required", False))


def test_frictionless_validates_the_descriptor(root):
    exe = Path(sys.executable).with_name("frictionless")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "frictionless"]
    result = subprocess.run(cmd + ["validate", "datapackage.json"], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def _break(src: Path, table: str, old: str, new: str) -> None:
    path = src / "curation" / f"{table}.csv"
    text = path.read_text()
    assert old in text, f"fixture text {old!r} not in {table}.csv"
    path.write_text(text.replace(old, new, 1))


def test_failed_build_writes_nothing(source_copy, root):
    build(source_copy)  # a good build first
    before = _digests(source_copy)
    lines = (source_copy / "curation" / "market_shares.csv").read_text().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    first[header.index("share")] = "12%"
    (source_copy / "curation" / "market_shares.csv").write_text("\n".join([lines[0], ",".join(first)] + lines[2:]) + "\n")
    with pytest.raises(BuildError) as err:
        build(source_copy)
    assert any(f.rule == "type:number" and f.row == 2 and f.column == "share" and f.value == "12%" for f in err.value.failures)
    assert "curation/market_shares.csv" in str(err.value)
    assert _digests(source_copy) == before
    assert not list(source_copy.rglob("*.tmp"))


@pytest.mark.parametrize("step", ["read", "validate", "serialise", "write:sources.parquet",
                                  "write:market_shares.parquet", "write:datapackage.json", "replace"])
def test_interrupted_build_leaves_previous_outputs(source_copy, monkeypatch, step):
    build(source_copy)
    before = _digests(source_copy)
    # a real change, so a completed build would differ
    path = source_copy / "curation" / "companies.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0]] + list(reversed(lines[1:]))) + "\n")

    class Interrupted(Exception):
        pass

    def hook(name: str) -> None:
        if name == step:
            raise Interrupted(step)

    monkeypatch.setattr(_atomic, "_STEP_HOOK", hook)
    with pytest.raises(Interrupted):
        build(source_copy)
    assert _digests(source_copy) == before
    assert not list(source_copy.rglob("*.tmp"))


def test_build_from_cli_without_arguments(root, tmp_path):
    shutil.copytree(root / "schemas", tmp_path / "schemas")
    shutil.copytree(root / "curation", tmp_path / "curation")
    result = subprocess.run([sys.executable, "-m", "chokepoint_data", "build"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "datapackage.json").exists() and (tmp_path / "chokepoint_data/data/sources.parquet").exists()


def test_build_cli_failure_exits_1_and_names_the_problem(source_copy):
    _break(source_copy, "sources", ",2026-11-29,", ",2026-02-30,")
    result = subprocess.run([sys.executable, "-m", "chokepoint_data", "build", "--root", str(source_copy)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "curation/sources.csv" in result.stderr and "type:date" in result.stderr and "accessed" in result.stderr
    assert not (source_copy / "datapackage.json").exists()


# --- A failed build writes nothing, at any step (issue 12) -------------------------------------


def _changed(src: Path) -> None:
    """A real change to the curation, so a completed build would differ."""
    path = src / "curation" / "companies.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0]] + list(reversed(lines[1:]))) + "\n")


@pytest.mark.parametrize("step", ["replaced:sources.parquet", "replaced:policy_targets.parquet",
                                  "replaced:datapackage.json"])
def test_failure_between_renames_rolls_back(source_copy, monkeypatch, step):
    build(source_copy)
    before = _digests(source_copy)
    _changed(source_copy)

    def hook(name: str) -> None:
        if name == step:
            raise OSError(28, "No space left on device", str(source_copy / "x"))

    monkeypatch.setattr(_atomic, "_STEP_HOOK", hook)
    with pytest.raises(BuildError, match="No space left") as err:
        build(source_copy)
    assert "out:write" in err.value.rules()
    assert _digests(source_copy) == before
    assert not list(source_copy.rglob("*.tmp"))


def test_first_build_that_fails_leaves_no_folders(source_copy, monkeypatch, tmp_path):
    out = tmp_path / "fresh"
    monkeypatch.setattr(_atomic, "_STEP_HOOK", lambda name: (_ for _ in ()).throw(OSError(13, "Permission denied"))
                        if name == "replace" else None)
    with pytest.raises(BuildError):
        build(source_copy, out)
    assert not out.exists()


def test_output_path_that_is_a_folder_is_refused_before_any_rename(source_copy):
    build(source_copy)
    before = _digests(source_copy)
    _changed(source_copy)
    (source_copy / "docs" / "DATA_DICTIONARY.md").unlink()
    (source_copy / "docs" / "DATA_DICTIONARY.md").mkdir()
    with pytest.raises(BuildError) as err:
        build(source_copy)
    assert err.value.failures[0].rule == "out:not_a_file"
    assert "DATA_DICTIONARY.md" in str(err.value)
    before.pop("docs/DATA_DICTIONARY.md")
    assert _digests(source_copy) == before
    assert not list(source_copy.rglob("*.tmp"))


def test_folder_in_the_way_that_is_a_file_is_refused(source_copy, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "docs").write_text("a file, not a folder")
    with pytest.raises(BuildError) as err:
        build(source_copy, out)
    assert err.value.failures[0].rule == "out:not_a_folder" and str(out / "docs") in str(err.value)
    assert sorted(p.name for p in out.iterdir()) == ["docs"]


def test_out_that_is_a_file_is_refused(source_copy, tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("mine")
    with pytest.raises(BuildError, match="is a file") as err:
        build(source_copy, target)
    assert str(target) in str(err.value)
    assert target.read_text() == "mine"
    result = subprocess.run([sys.executable, "-m", "chokepoint_data", "build", "--root", str(source_copy), "--out", str(target)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr and "is a file" in result.stderr


def test_stale_temp_files_of_a_killed_build_are_removed(source_copy):
    build(source_copy)
    stale = [source_copy / "chokepoint_data" / "data" / ".sources.parquet.k1ll3d.tmp",
             source_copy / "chokepoint_data" / ".datapackage.json.abc_12.tmp",
             source_copy / "docs" / ".DATA_DICTIONARY.md.zz.tmp"]
    keep = source_copy / "chokepoint_data" / "data" / ".notes.tmp"  # not a build temp: left alone
    for p in stale + [keep]:
        p.write_bytes(b"half")
    build(source_copy)
    assert not any(p.exists() for p in stale)
    assert keep.exists()


def test_killed_build_keeps_old_outputs_and_next_build_cleans(source_copy):
    """A real SIGKILL during the build's writes: old outputs whole, temps removed next time."""
    build(source_copy)
    before = _digests(source_copy)
    _changed(source_copy)
    code = ("import os, signal, sys\nfrom chokepoint_data import build as b\nfrom chokepoint_data.store import _atomic\n"
            "_atomic._STEP_HOOK = lambda n: os.kill(os.getpid(), signal.SIGKILL) if n == 'write:datapackage.json' else None\n"
            "b.build(sys.argv[1])\n")
    result = subprocess.run([sys.executable, "-c", code, str(source_copy)], capture_output=True, text=True)
    assert result.returncode == -9, result.stderr
    assert _digests(source_copy) == before
    assert list(source_copy.rglob(".*.tmp"))
    build(source_copy)
    assert not list(source_copy.rglob(".*.tmp"))


def test_gitignore_keeps_temp_files_out(root):
    assert ".*.tmp" in (root / ".gitignore").read_text().splitlines()
