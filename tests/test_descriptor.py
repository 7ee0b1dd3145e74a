"""The packaged descriptor: every shipped byte is pinned by sha256, paths stay inside."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

import chokepoint_data as cd
from chokepoint_data.store import _descriptor, _loader


def test_every_file_matches_its_hash_stdlib_only(root):
    """Fast, standard-library check of both descriptors against the bytes on disk."""
    for desc_path, base in ((root / "chokepoint_data" / "datapackage.json", root / "chokepoint_data"),
                            (root / "datapackage.json", root)):
        desc = json.loads(desc_path.read_text())
        assert desc["$schema"].endswith("/2.0/datapackage.json")
        names = [r["name"] for r in desc["resources"]]
        assert sorted(names) == sorted(p.stem for p in (root / "schemas").glob("*.json"))
        for res in desc["resources"]:
            data = (base / res["path"]).read_bytes()
            assert res["hash"] == "sha256:" + hashlib.sha256(data).hexdigest(), res["path"]
            assert res["format"] == "parquet" and res["mediatype"] == "application/vnd.apache.parquet"
            assert "bytes" not in res  # frictionless 5 rejects a declared size on Parquet
            assert res["schema"] == json.loads((root / "schemas" / f"{res['name']}.json").read_text())


def test_root_and_package_descriptors_agree(root):
    top = json.loads((root / "datapackage.json").read_text())
    pkg = json.loads((root / "chokepoint_data" / "datapackage.json").read_text())
    for a, b in zip(top["resources"], pkg["resources"]):
        assert a["path"] == "chokepoint_data/" + b["path"]
        a.pop("path"), b.pop("path")
    assert top == pkg


@pytest.fixture()
def installed_copy(tmp_path, monkeypatch) -> Path:
    """A copy of the package's data folder that the loader reads instead of the real one."""
    pkg = tmp_path / "pkg"
    shutil.copytree(_descriptor.package_dir() / "data", pkg / "data")
    shutil.copy(_descriptor.package_dir() / "datapackage.json", pkg / "datapackage.json")
    monkeypatch.setattr(_descriptor, "package_dir", lambda: pkg)
    _loader._arrow_cache.clear()
    yield pkg
    _loader._arrow_cache.clear()


def _edit_descriptor(pkg: Path, edit) -> None:
    path = pkg / "datapackage.json"
    desc = json.loads(path.read_text())
    edit(desc)
    path.write_text(json.dumps(desc))
    os.utime(path, ns=(1, 1))  # a new stamp, whatever the clock's resolution


@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "replace", "delete", "empty"])
def test_damaged_file_raises_integrity_error(installed_copy, damage):
    path = installed_copy / "data" / "market_shares.parquet"
    good = path.read_bytes()
    if damage == "flip_byte":
        path.write_bytes(good[:100] + bytes([good[100] ^ 0xFF]) + good[101:])
    elif damage == "truncate":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "replace":
        shutil.copy(installed_copy / "data" / "sources.parquet", path)
    elif damage == "delete":
        path.unlink()
    elif damage == "empty":
        path.write_bytes(b"")
    with pytest.raises(cd.IntegrityError) as err:
        cd.load("market_shares")
    msg = str(err.value)
    expected = hashlib.sha256(good).hexdigest()
    assert "data/market_shares.parquet" in msg and expected in msg and "reinstall" in msg
    assert err.value.expected == expected
    if damage != "delete":
        assert err.value.found == hashlib.sha256(path.read_bytes()).hexdigest()
    # the other tables still load
    assert len(cd.load("sources")) > 0


def test_hash_consistent_but_not_parquet_raises_integrity_error(installed_copy):
    path = installed_copy / "data" / "companies.parquet"
    path.write_bytes(b"not parquet at all")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    def edit(desc):
        for r in desc["resources"]:
            if r["name"] == "companies":
                r["hash"] = "sha256:" + digest
    _edit_descriptor(installed_copy, edit)
    with pytest.raises(cd.IntegrityError, match="not readable Parquet"):
        cd.load("companies")


@pytest.mark.parametrize("text", ["", "{", "[]", '{"resources": []}', '{"resources": [{"name": "x"}]}'])
def test_damaged_descriptor_raises_descriptor_error(installed_copy, text):
    path = installed_copy / "datapackage.json"
    path.write_text(text)
    os.utime(path, ns=(2, 2))
    with pytest.raises(cd.DescriptorError, match="reinstall"):
        cd.load("sources")


def test_hand_edited_hash_is_caught(installed_copy):
    def edit(desc):
        desc["resources"][0]["hash"] = "sha256:" + "0" * 64
    _edit_descriptor(installed_copy, edit)
    with pytest.raises(cd.IntegrityError):
        cd.load("sources")


def test_missing_descriptor(installed_copy):
    (installed_copy / "datapackage.json").unlink()
    with pytest.raises(cd.DescriptorError, match="missing"):
        cd.list_tables()


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.parquet", "data/../../x.parquet", "https://example.org/x.parquet",
                                  "C:/x.parquet", "data//x.parquet", "./data/sources.parquet"])
def test_unsafe_paths_are_refused(installed_copy, path):
    def edit(desc):
        desc["resources"][0]["path"] = path
    _edit_descriptor(installed_copy, edit)
    with pytest.raises(cd.DescriptorError, match="unsafe|outside"):
        cd.load("sources")


def test_link_leading_outside_is_refused(installed_copy, tmp_path):
    outside = tmp_path / "outside.parquet"
    shutil.copy(installed_copy / "data" / "sources.parquet", outside)
    target = installed_copy / "data" / "sources.parquet"
    target.unlink()
    target.symlink_to(outside)
    with pytest.raises(cd.DescriptorError, match="outside"):
        cd.load("sources")


def test_link_inside_the_package_is_allowed(installed_copy):
    data = installed_copy / "data"
    (data / "real.parquet").write_bytes((data / "sources.parquet").read_bytes())
    (data / "sources.parquet").unlink()
    (data / "sources.parquet").symlink_to(data / "real.parquet")
    assert len(cd.load("sources")) > 0


# --- The descriptor is checked for shape before use (issue 12) -----------------------------------


def _res(desc, name):
    return next(r for r in desc["resources"] if r["name"] == name)


def _field(desc, table, column):
    return next(f for f in _res(desc, table)["schema"]["fields"] if f["name"] == column)


SHAPE_BREAKS = {
    "duplicate name": (lambda d: _res(d, "companies").__setitem__("name", "sources"), "appears twice"),
    "hash not sha256": (lambda d: _res(d, "sources").__setitem__("hash", "md5:" + "0" * 32), "sha256"),
    "hash too short": (lambda d: _res(d, "sources").__setitem__("hash", "sha256:abc"), "sha256"),
    "hash not hex": (lambda d: _res(d, "sources").__setitem__("hash", "sha256:" + "g" * 64), "sha256"),
    "NUL in path": (lambda d: _res(d, "sources").__setitem__("path", "data/sources\x00.parquet"), "NUL"),
    "field not an object": (lambda d: _res(d, "sources")["schema"]["fields"].append(1), "not an object with a name"),
    "field without type": (lambda d: _field(d, "sources", "title").pop("type"), "not an object with a name and a type"),
    "field unknown type": (lambda d: _field(d, "sources", "title").__setitem__("type", "blob"), "unknown type"),
    "field name twice": (lambda d: _res(d, "sources")["schema"]["fields"].append({"name": "title", "type": "string"}), "twice"),
    "fields not a list": (lambda d: _res(d, "sources")["schema"].__setitem__("fields", {"a": 1}), "no table schema"),
    "enum not a list": (lambda d: _field(d, "sources", "kind")["constraints"].__setitem__("enum", "report"), "enum"),
    "primary key unknown": (lambda d: _res(d, "sources")["schema"].__setitem__("primaryKey", ["nope"]), "primaryKey"),
    "primary key a number": (lambda d: _res(d, "sources")["schema"].__setitem__("primaryKey", 7), "primaryKey"),
    "foreign key malformed": (lambda d: _res(d, "companies")["schema"].__setitem__("foreignKeys", [{"fields": 3}]), "foreign key"),
    "nested too deep": (lambda d: d.__setitem__("x", json.loads("[" * 40 + "]" * 40)), "nested deeper"),
}


@pytest.mark.parametrize("case", sorted(SHAPE_BREAKS))
def test_descriptor_of_the_wrong_shape_is_refused(installed_copy, case):
    edit, words = SHAPE_BREAKS[case]
    _edit_descriptor(installed_copy, edit)
    for call in (cd.list_tables, lambda: cd.load("sources"), lambda: cd.describe("companies")):
        with pytest.raises(cd.DescriptorError) as err:
            call()
        assert words in str(err.value) and "datapackage.json" in str(err.value)


def test_descriptor_nested_past_the_parser_is_refused(installed_copy):
    path = installed_copy / "datapackage.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    os.utime(path, ns=(3, 3))
    with pytest.raises(cd.DescriptorError, match="nested too deeply"):
        cd.list_tables()


def test_hash_is_compared_case_insensitively(installed_copy):
    _edit_descriptor(installed_copy, lambda d: _res(d, "sources").__setitem__("hash", _res(d, "sources")["hash"].upper()
                                                                                   .replace("SHA256:", "sha256:")))
    assert len(cd.load("sources")) > 0


def test_enum_that_misses_a_value_of_the_file_is_refused(installed_copy):
    kinds = set(cd.load("sources")["kind"].astype(str))
    dropped = sorted(kinds)[0]
    _edit_descriptor(installed_copy, lambda d: _field(d, "sources", "kind")["constraints"].__setitem__(
        "enum", [k for k in _field(d, "sources", "kind")["constraints"]["enum"] if k != dropped]))
    with pytest.raises(cd.DescriptorError) as err:
        cd.load("sources")
    assert "'kind'" in str(err.value) and repr(dropped) in str(err.value)


def test_nul_in_a_resource_path_is_refused_directly():
    with pytest.raises(cd.DescriptorError, match="NUL"):
        _descriptor.resource_path({"name": "x", "path": "data/x\x00.parquet"})


def test_pinned_descriptor_sha256(installed_copy, root):
    """The build pins the descriptor's sha256 in _pins.py; an edited descriptor is refused."""
    pins = root / "chokepoint_data" / "_pins.py"
    assert hashlib.sha256((root / "chokepoint_data" / "datapackage.json").read_bytes()).hexdigest() in pins.read_text()
    shutil.copy(pins, installed_copy / "_pins.py")
    assert len(cd.load("sources")) > 0  # the untouched copy matches its pin
    _edit_descriptor(installed_copy, lambda d: d.__setitem__("title", "edited"))
    with pytest.raises(cd.DescriptorError, match="not the one the build wrote"):
        cd.load("sources")
    (installed_copy / "_pins.py").write_text("nothing here\n")
    with pytest.raises(cd.DescriptorError, match="no descriptor sha256"):
        cd.load("companies")


def test_repair_advice_says_build_in_a_checkout_and_reinstall_elsewhere(installed_copy, root):
    from chokepoint_data._errors import repair_advice

    assert "chokepoint-data build" in repair_advice(root / "chokepoint_data")
    assert "reinstall" in repair_advice(installed_copy)
    err = cd.IntegrityError("data/x.parquet", "0" * 64, None)
    assert "chokepoint-data build" in str(err)  # this test runs from a checkout
