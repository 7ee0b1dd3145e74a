"""diff reads another release as carefully as the loader reads ours: bounded, checked, own errors."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from test_diff import ITEM_ROWS, ITEMS, write_package

from chokepoint_data import diff as D
from chokepoint_data._errors import ChokepointDataError, DescriptorError
from chokepoint_data.store import _packages


def wheel_of(folder: Path, out: Path, *, replace: dict[str, bytes] | None = None,
             compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A wheel holding ``folder``'s descriptor and data under chokepoint_data/ (members replaceable)."""
    members = {f"chokepoint_data/{p.relative_to(folder).as_posix()}": p.read_bytes()
               for p in sorted(folder.rglob("*")) if p.is_file()}
    members.update(replace or {})
    with zipfile.ZipFile(out, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out


def test_a_descriptor_member_that_inflates_past_the_bound_is_refused_before_it_is_read(tmp_path):
    src = tmp_path / "pkg"
    write_package(src, {"items": (ITEMS, ITEM_ROWS)})
    bomb = b" " * (_packages.MAX_DESCRIPTOR_BYTES + 1)  # ~16 MiB of spaces: valid JSON padding, ~16 KB deflated
    whl = wheel_of(src, tmp_path / "t-0.1.0-py3-none-any.whl",
                   replace={"chokepoint_data/datapackage.json": bomb + (src / "datapackage.json").read_bytes()})
    assert whl.stat().st_size < 1_000_000
    with pytest.raises(DescriptorError, match="more than the .* bytes diff reads"):
        D.diff(whl, src)


def test_a_data_member_past_the_bound_is_refused(tmp_path, monkeypatch):
    src = tmp_path / "pkg"
    write_package(src, {"items": (ITEMS, ITEM_ROWS)})
    whl = wheel_of(src, tmp_path / "t-0.1.0-py3-none-any.whl")
    monkeypatch.setattr(_packages, "MAX_RESOURCE_BYTES", 100)
    with pytest.raises(DescriptorError, match="items.parquet is .* more than the 100 bytes"):
        D.diff(whl, src)
    with pytest.raises(DescriptorError, match="more than the 100 bytes"):  # a folder too
        D.diff(src, src)


def test_a_member_that_lies_about_its_size_is_stopped_at_the_bound(tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("chokepoint_data/x", b"0" * 5000)
    zf = zipfile.ZipFile(buf)
    zf.getinfo("chokepoint_data/x").file_size = 10  # what a forged directory entry would say
    with pytest.raises(ChokepointDataError):
        _packages._zip_read(zf, "chokepoint_data/x", 1000, "x")


def test_a_table_that_decompresses_past_the_bound_is_refused(tmp_path, monkeypatch):
    a = write_package(tmp_path / "old", {"items": (ITEMS, ITEM_ROWS)})
    b = write_package(tmp_path / "new", {"items": (ITEMS, ITEM_ROWS[:1])})
    monkeypatch.setattr(_packages, "MAX_TABLE_BYTES", 10)
    with pytest.raises(DescriptorError, match=r"items.parquet \(decompressed\) is .* more than the 10 bytes"):
        D.diff(a, b)


def test_a_wheel_with_a_bad_crc_is_refused(tmp_path):
    src = tmp_path / "pkg"
    write_package(src, {"items": (ITEMS, ITEM_ROWS)})
    whl = wheel_of(src, tmp_path / "t-0.1.0-py3-none-any.whl", compression=zipfile.ZIP_STORED)
    raw = bytearray(whl.read_bytes())
    at = raw.index(b'"resources"')  # inside the stored descriptor: still valid zip structure, wrong CRC
    raw[at + 1] = ord("R")
    whl.write_bytes(bytes(raw))
    with pytest.raises(DescriptorError, match="wheel is damaged"):
        D.diff(whl, src)


def test_non_parquet_bytes_under_a_matching_hash_are_refused(tmp_path):
    a = write_package(tmp_path / "old", {"items": (ITEMS, ITEM_ROWS)})
    b = write_package(tmp_path / "new", {"items": (ITEMS, ITEM_ROWS[:1])})
    junk = b"not a parquet file at all"
    (tmp_path / "old" / "data" / "items.parquet").write_bytes(junk)
    desc = json.loads(a.read_text())
    desc["resources"][0]["hash"] = "sha256:" + hashlib.sha256(junk).hexdigest()
    a.write_text(json.dumps(desc))
    with pytest.raises(DescriptorError, match="matches its sha256 but is not a readable Parquet table"):
        D.diff(a, b)


def _break(desc: dict, how: str) -> dict | str:
    res, schema = desc["resources"][0], desc["resources"][0]["schema"]
    if how == "nul-path":
        res["path"] = "data/items\x00.parquet"
    elif how == "primaryKey-5":
        schema["primaryKey"] = 5
    elif how == "foreignKeys-x":
        schema["foreignKeys"] = "x"
    elif how == "constraints-x":
        schema["fields"][0]["constraints"] = "x"
    elif how == "fields-ints":
        schema["fields"] = [1, 2, 3]
    elif how == "same-name-twice":
        desc["resources"].append(json.loads(json.dumps(res)))
    elif how == "no-hash":
        del res["hash"]
    elif how == "deep":
        return "[" * 100_000 + "]" * 100_000
    return desc


@pytest.mark.parametrize(("how", "said"), [
    ("nul-path", "NUL"),
    ("primaryKey-5", "primaryKey"),
    ("foreignKeys-x", "foreignKeys"),
    ("constraints-x", "constraints"),
    ("fields-ints", "field 0 is not an object"),
    ("same-name-twice", "appears twice"),
    ("no-hash", "lacks a name, path or hash"),
    ("deep", "nested"),
])
@pytest.mark.parametrize("side", ["old", "new"])
def test_each_side_passes_the_loaders_own_descriptor_checks(tmp_path, how, said, side):
    paths = {s: write_package(tmp_path / s, {"items": (ITEMS, ITEM_ROWS)}) for s in ("old", "new")}
    broken = _break(json.loads(paths[side].read_text()), how)
    paths[side].write_text(broken if isinstance(broken, str) else json.dumps(broken))
    with pytest.raises(DescriptorError, match=said):
        D.diff(paths["old"], paths["new"])


def test_the_cli_refuses_a_negative_max_rows_and_damaged_releases_without_a_traceback(tmp_path):
    a = write_package(tmp_path / "old", {"items": (ITEMS, ITEM_ROWS)})
    b = write_package(tmp_path / "new", {"items": (ITEMS, ITEM_ROWS[:1])})

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "chokepoint_data", "diff", *map(str, args)],
                              capture_output=True, text=True, cwd=tmp_path, check=False)

    out = cli(a, b, "--max-rows", "-5")
    assert out.returncode == 2 and "negative" in out.stderr and "Traceback" not in out.stderr
    assert cli(a, b, "--max-rows", "0").returncode == 0
    desc = json.loads(a.read_text())
    desc["resources"][0]["schema"]["primaryKey"] = 5
    a.write_text(json.dumps(desc))
    out = cli(a, b)
    assert out.returncode == 1 and "primaryKey" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("bad", [-5, 1.5, "3", True])
def test_the_renderers_refuse_a_max_rows_that_is_not_a_count(tmp_path, bad):
    from chokepoint_data._errors import ArgumentError

    a = write_package(tmp_path / "old", {"items": (ITEMS, ITEM_ROWS)})
    b = write_package(tmp_path / "new", {"items": (ITEMS, ITEM_ROWS[:1])})
    d = D.diff(a, b)
    for render in (D.render_text, D.render_markdown):
        with pytest.raises(ArgumentError, match="max_rows"):
            render(d, max_rows=bad)


def test_both_renderers_show_at_most_max_rows_of_each_kind_and_count_the_rest(tmp_path):
    rows = lambda ids, share: [{"item_id": i, "kind": "a", "share": share, "year": 2024} for i in ids]
    a = write_package(tmp_path / "old", {"items": (ITEMS, rows("abcdefg", 0.5))})  # c, d, e change
    b = write_package(tmp_path / "new", {"items": (ITEMS, rows("cde", 0.25) + rows("vwxyz", 0.5))})
    d = D.diff(a, b)
    text = D.render_text(d, max_rows=1).splitlines()
    assert [ln for ln in text if ln.startswith("  +")] == ["  + [item_id=v] item_id=v, kind=a, share=0.5, year=2024",
                                                        "  + ... and 4 more"]
    assert [ln for ln in text if ln.startswith("  -")] == ["  - [item_id=a] item_id=a, kind=a, share=0.5, year=2024",
                                                        "  - ... and 3 more"]
    assert [ln for ln in text if ln.startswith("  ~")] == ["  ~ [item_id=c] share: 0.5 -> 0.25", "  ~ ... and 2 more"]
    md = D.render_markdown(d, max_rows=1).splitlines()
    assert "  - Added: `item_id=v`" in md and "  - Added: 4 more (see `chokepoint-data diff`)." in md
    assert "  - Removed: `item_id=a`" in md and "  - Removed: 3 more (see `chokepoint-data diff`)." in md
    assert "  - Changed `item_id=c`: share 0.5 -> 0.25" in md and "  - Changed: 2 more (see `chokepoint-data diff`)." in md
    everything = D.render_text(d, max_rows=None)
    assert "more" not in everything and everything.count("\n  + ") == 5 and everything.count("\n  ~ ") == 3
