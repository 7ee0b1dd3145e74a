"""A load that races a rebuild reads one consistent version, and never calls the data damaged.

The build replaces the data files first and the descriptor and its pin last (each rename
atomic, see ``store._atomic.write_files``). A reader that took the old descriptor and then
read a new file, or the new descriptor and then the old pin, saw two versions at once: it
must wait for the build and read once more, not report an IntegrityError.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from chokepoint_data import IntegrityError
from chokepoint_data.store import _descriptor

PKG = Path(_descriptor.__file__).resolve().parent.parent
TABLE = "metrics"


def _copy_package(dest: Path) -> Path:
    base = dest / "pkg"
    (base / "data").mkdir(parents=True)
    for name in ("datapackage.json", "_pins.py"):
        shutil.copy2(PKG / name, base / name)
    for f in (PKG / "data").iterdir():
        shutil.copy2(f, base / "data" / f.name)
    return base


def _version_b(base: Path) -> dict[Path, bytes]:
    """The files of a next version: one table re-encoded (new bytes, new hash), its descriptor and pin."""
    table = pq.read_table(base / "data" / f"{TABLE}.parquet")
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="gzip")
    data = sink.getvalue()
    descriptor = json.loads((base / "datapackage.json").read_text(encoding="utf-8"))
    for res in descriptor["resources"]:
        if res["name"] == TABLE:
            res["hash"] = "sha256:" + _descriptor.sha256_hex(data)
    raw = (json.dumps(descriptor, indent=2) + "\n").encode("utf-8")
    return {base / "data" / f"{TABLE}.parquet": data, base / "datapackage.json": raw,
            base / "_pins.py": _descriptor.pins_source(raw).encode("utf-8")}


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.x.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def test_descriptor_replaced_between_reading_it_and_the_file(tmp_path, monkeypatch):
    base = _copy_package(tmp_path)
    _descriptor.read_verified(TABLE, base)  # version A, cached
    new = _version_b(base)
    real = _descriptor.resource_path
    calls = []

    def racing(res, b=None):  # the build runs right after the reader took the old descriptor
        if not calls:
            for path, data in new.items():
                _replace(path, data)
        calls.append(res["hash"])
        return real(res, b)

    monkeypatch.setattr(_descriptor, "resource_path", racing)
    data, res = _descriptor.read_verified(TABLE, base)
    assert data == new[base / "data" / f"{TABLE}.parquet"]
    assert res["hash"] == "sha256:" + _descriptor.sha256_hex(data)
    assert len(calls) == 2 and calls[0] != calls[1]  # read once more, with the new descriptor


def test_build_in_progress_is_waited_for(tmp_path, monkeypatch):
    """The data file is new, the descriptor not yet: the reader waits for the build's renames."""
    base = _copy_package(tmp_path)
    _descriptor.read_verified(TABLE, base)
    new = _version_b(base)
    staged = base / ".datapackage.json.abc123.tmp"  # what the atomic writer stages beside the descriptor
    real = _descriptor.resource_path
    done = threading.Event()

    def finish():
        time.sleep(0.3)
        _replace(base / "datapackage.json", new[base / "datapackage.json"])
        _replace(base / "_pins.py", new[base / "_pins.py"])
        staged.rmdir()
        done.set()

    def racing(res, b=None):
        if not staged.exists() and not done.is_set():
            staged.mkdir()
            _replace(base / "data" / f"{TABLE}.parquet", new[base / "data" / f"{TABLE}.parquet"])
            threading.Thread(target=finish).start()
        return real(res, b)

    monkeypatch.setattr(_descriptor, "resource_path", racing)
    data, _ = _descriptor.read_verified(TABLE, base)
    assert data == new[base / "data" / f"{TABLE}.parquet"]


def test_new_descriptor_with_the_old_pin_during_a_build_is_waited_for(tmp_path):
    base = _copy_package(tmp_path)
    new = _version_b(base)
    staged = base / "._pins.py.k1ll3d.tmp"
    staged.mkdir()
    _replace(base / "datapackage.json", new[base / "datapackage.json"])

    def finish():
        time.sleep(0.3)
        _replace(base / "_pins.py", new[base / "_pins.py"])
        staged.rmdir()

    threading.Thread(target=finish).start()
    assert TABLE in _descriptor.table_names(base)


def test_a_real_mismatch_is_still_damaged(tmp_path):
    base = _copy_package(tmp_path)
    (base / "data" / f"{TABLE}.parquet").write_bytes(b"not the file")
    start = time.monotonic()
    with pytest.raises(IntegrityError, match="damaged"):
        _descriptor.read_verified(TABLE, base)
    assert time.monotonic() - start < 5  # no build in progress: no waiting


LOADER = textwrap.dedent("""
    import sys, time
    import chokepoint_data as cd
    from chokepoint_data import IntegrityError, DescriptorError
    end = time.monotonic() + float(sys.argv[1])
    n = bad = 0
    while time.monotonic() < end:
        for name in ("metrics", "searches"):
            try:
                cd.load(name)
            except (IntegrityError, DescriptorError) as exc:
                bad += 1
                print(exc, file=sys.stderr)
            n += 1
    print(n, bad)
""")


@pytest.mark.slow
def test_loads_during_repeated_builds_of_a_checkout_copy(tmp_path):
    """The reproduction: a checkout copy rebuilt over and over while another process loads."""
    root = Path(__file__).resolve().parents[1]
    copy = tmp_path / "checkout"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache", "*.egg-info", "build", "dist"))
    env = dict(os.environ, PYTHONPATH=str(copy))
    schema = copy / "schemas" / f"{TABLE}.json"  # each build changes a description: a new descriptor and pin
    original = json.loads(schema.read_text(encoding="utf-8"))
    loader = subprocess.Popen([sys.executable, "-c", LOADER, "40"], env=env, cwd=str(tmp_path),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    builds = 0
    while loader.poll() is None and builds < 12:
        variant = dict(original, fields=[dict(original["fields"][0], description=f"build {builds}"), *original["fields"][1:]])
        schema.write_text(json.dumps(variant, indent=2) + "\n", encoding="utf-8")
        subprocess.run([sys.executable, "-m", "chokepoint_data", "build"], cwd=str(copy), env=env,
                       capture_output=True, check=True)
        builds += 1
    out, err = loader.communicate(timeout=120)
    n, bad = map(int, out.split())
    assert n > 0 and bad == 0, err[:2000]
