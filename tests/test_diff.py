"""chokepoint-data diff: rows and schema changes between two packages, and the bump they need."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chokepoint_data import diff as D
from chokepoint_data._errors import DescriptorError, IntegrityError

ITEMS = {
    "fields": [
        {"name": "item_id", "type": "string", "constraints": {"required": True, "unique": True}},
        {"name": "kind", "type": "string", "constraints": {"required": True, "enum": ["a", "b"]}},
        {"name": "share", "type": "number", "constraints": {"minimum": 0, "maximum": 1}},
        {"name": "year", "type": "integer"},
    ],
    "primaryKey": ["item_id"],
}
ITEM_ROWS = [
    {"item_id": "x", "kind": "a", "share": 0.5, "year": 2024},
    {"item_id": "y", "kind": "b", "share": 0.25, "year": 2023},
]


def write_package(folder: Path, tables: dict, version: str = "0.1.0") -> Path:
    """A tiny Data Package: one Parquet file per table under data/, hashes in the descriptor."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    resources = []
    for name, (schema, rows) in tables.items():
        cols = [f["name"] for f in schema["fields"]]
        table = pa.Table.from_pylist(rows, schema=None) if rows else pa.table({c: pa.array([], pa.string()) for c in cols})
        path = folder / "data" / f"{name}.parquet"
        pq.write_table(table, path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        resources.append({"name": name, "path": f"data/{name}.parquet", "format": "parquet",
                          "hash": f"sha256:{digest}", "schema": schema})
    desc = folder / "datapackage.json"
    desc.write_text(json.dumps({"name": "t", "version": version, "resources": resources}), encoding="utf-8")
    return desc


def pair(tmp_path, old_tables, new_tables, old_version="0.1.0", new_version="0.1.0"):
    a = write_package(tmp_path / "old", old_tables, old_version)
    b = write_package(tmp_path / "new", new_tables, new_version)
    return D.diff(a, b)


def table(d, name):
    (td,) = [t for t in d.tables if t.name == name]
    return td


def test_identical_packages_need_no_bump(tmp_path):
    d = pair(tmp_path, {"items": (ITEMS, ITEM_ROWS)}, {"items": (ITEMS, ITEM_ROWS)})
    assert d.level == "none" and table(d, "items").status == "unchanged"
    assert "no differences" in D.render_text(d)


def test_a_corrected_value_is_a_patch_with_old_and_new_values(tmp_path):
    rows = copy.deepcopy(ITEM_ROWS)
    rows[1]["share"] = 0.3
    d = pair(tmp_path, {"items": (ITEMS, ITEM_ROWS)}, {"items": (ITEMS, rows)})
    td = table(d, "items")
    assert d.level == "patch"
    assert td.changed == [{"key": {"item_id": "y"}, "changes": {"share": [0.25, 0.3]}}]
    assert not td.added and not td.removed
    assert "~ [item_id=y] share: 0.25 -> 0.3" in D.render_text(d)


def test_rows_added_and_removed_are_minor(tmp_path):
    rows = ITEM_ROWS[:1] + [{"item_id": "z", "kind": "a", "share": 0.1, "year": 2020}]
    d = pair(tmp_path, {"items": (ITEMS, ITEM_ROWS)}, {"items": (ITEMS, rows)})
    td = table(d, "items")
    assert d.level == "minor"
    assert [r["item_id"] for r in td.added] == ["z"] and [r["item_id"] for r in td.removed] == ["y"]
    text = D.render_text(d)
    assert "+ [item_id=z]" in text and "- [item_id=y]" in text


def test_field_removed_or_renamed_is_major_added_is_minor(tmp_path):
    added = copy.deepcopy(ITEMS)
    added["fields"].append({"name": "note", "type": "string"})
    d = pair(tmp_path, {"items": (ITEMS, ITEM_ROWS)}, {"items": (added, [dict(r, note=None) for r in ITEM_ROWS])})
    assert d.level == "minor" and any("field note added" in c.what for c in d.reasons)

    renamed = copy.deepcopy(ITEMS)
    renamed["fields"][3]["name"] = "yr"
    rows = [{("yr" if k == "year" else k): v for k, v in r.items()} for r in ITEM_ROWS]
    d = pair(tmp_path / "2", {"items": (ITEMS, ITEM_ROWS)}, {"items": (renamed, rows)})
    whats = [c.what for c in table(d, "items").schema]
    assert d.level == "major" and "field year removed" in whats and "field yr added (integer)" in whats


@pytest.mark.parametrize(("change", "level"), [
    (lambda s: s["fields"][3].update(type="number"), "major"),
    (lambda s: s["fields"][1]["constraints"].update(enum=["a"]), "major"),
    (lambda s: s["fields"][1]["constraints"].update(enum=["a", "b", "c"]), "minor"),
    (lambda s: s["fields"][2]["constraints"].update(maximum=0.9), "major"),
    (lambda s: s["fields"][2]["constraints"].update(maximum=2), "minor"),
    (lambda s: s["fields"][2]["constraints"].update(minimum=0.1), "major"),
    (lambda s: s["fields"][3].setdefault("constraints", {}).update(required=True), "major"),
    (lambda s: s["fields"][1]["constraints"].update(required=False), "minor"),
    (lambda s: s["fields"][3].setdefault("constraints", {}).update(pattern="^2"), "major"),
    (lambda s: s["fields"][3].update(description="Year of the figure."), "patch"),
    (lambda s: s.update(primaryKey=["item_id", "year"]), "major"),
    (lambda s: s.update(foreignKeys=[{"fields": ["kind"], "reference": {"resource": "kinds", "fields": ["kind"]}}]), "major"),
])
def test_schema_changes_get_the_policy_level(tmp_path, change, level):
    new = copy.deepcopy(ITEMS)
    change(new)
    d = pair(tmp_path, {"items": (ITEMS, ITEM_ROWS)}, {"items": (new, ITEM_ROWS)})
    assert d.level == level, [c.what for c in table(d, "items").schema]


def test_tables_added_and_removed(tmp_path):
    other = {"fields": [{"name": "k", "type": "string"}], "primaryKey": ["k"]}
    d = pair(tmp_path, {"items": (ITEMS, ITEM_ROWS)},
             {"items": (ITEMS, ITEM_ROWS), "markets": (other, [{"k": "m1"}, {"k": "m2"}])})
    assert d.level == "minor" and table(d, "markets").status == "added" and table(d, "markets").rows_new == 2
    d = pair(tmp_path / "2", {"items": (ITEMS, ITEM_ROWS), "markets": (other, [{"k": "m1"}])},
             {"items": (ITEMS, ITEM_ROWS)})
    assert d.level == "major" and table(d, "markets").status == "removed"


SHARES_OLD = {"fields": [{"name": n, "type": "string"} for n in ("product", "year", "holder", "source_id")]
              + [{"name": "share", "type": "number"}],
              "primaryKey": ["product", "year", "source_id", "holder"]}
SHARES_NEW = {"fields": [{"name": n, "type": "string"} for n in ("market_id", "holder")]
              + [{"name": "share", "type": "number"}],
              "primaryKey": ["market_id", "holder"]}


def test_a_primary_key_change_is_major_and_is_said_when_rows_cannot_be_matched(tmp_path):
    old_rows = [{"product": "litho", "year": "2024", "holder": "asml", "source_id": "s", "share": 0.8}]
    new_rows = [{"market_id": "litho:2024:s", "holder": "asml", "share": 0.8},
                {"market_id": "litho:2024:s", "holder": "canon", "share": 0.1}]
    d = pair(tmp_path, {"market_shares": (SHARES_OLD, old_rows)}, {"market_shares": (SHARES_NEW, new_rows)})
    td = table(d, "market_shares")
    assert d.level == "major"
    whats = [c.what for c in td.schema]
    assert "primary key (product, year, source_id, holder) -> (market_id, holder)" in whats
    assert "field product removed" in whats and "field market_id added (string)" in whats
    # no key on both sides and no declared mapping: matched on the key column both share, and said
    assert td.matched_by == ["holder"] and (td.rows_old, td.rows_new) == (1, 2)
    assert "primary key changed" in td.note and "(holder)" in td.note
    assert [r["holder"] for r in td.added] == ["canon"] and not td.removed and not td.changed
    out = json.loads(json.dumps(D.to_json(d)))
    assert out["bump"] == "major" and out["smallest_version"] == "0.2.0"


def test_a_key_change_still_matches_rows_by_a_key_both_sides_hold(tmp_path):
    new = copy.deepcopy(ITEMS)
    new["primaryKey"] = ["item_id", "year"]
    rows = copy.deepcopy(ITEM_ROWS)
    rows[0]["share"] = 0.55
    d = pair(tmp_path, {"items": (ITEMS, ITEM_ROWS)}, {"items": (new, rows)})
    td = table(d, "items")
    assert td.matched_by == ["item_id", "year"]
    assert td.changed == [{"key": {"item_id": "x", "year": 2024}, "changes": {"share": [0.5, 0.55]}}]


def test_tampered_bytes_are_refused(tmp_path):
    a = write_package(tmp_path / "old", {"items": (ITEMS, ITEM_ROWS)})
    b = write_package(tmp_path / "new", {"items": (ITEMS, ITEM_ROWS[:1])})
    shutil.copy(tmp_path / "new" / "data" / "items.parquet", tmp_path / "old" / "data" / "items.parquet")
    with pytest.raises(IntegrityError, match="items.parquet"):
        D.diff(a, b)


def test_unsafe_paths_and_unknown_specs_are_refused(tmp_path):
    a = write_package(tmp_path / "old", {"items": (ITEMS, ITEM_ROWS)})
    desc = json.loads(a.read_text())
    desc["resources"][0]["path"] = "../../etc/passwd"
    a.write_text(json.dumps(desc))
    with pytest.raises(DescriptorError, match="refused"):
        D.diff(a, a)
    with pytest.raises(DescriptorError, match="not a datapackage.json, a folder, a wheel, or a git ref"):
        D.open_package("no-such-ref-or-file", repo=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DescriptorError, match="holds no datapackage.json"):
        D.open_package(tmp_path / "empty")


def test_a_wheel_and_a_folder_are_sides_too(tmp_path):
    src = tmp_path / "pkg"
    write_package(src, {"items": (ITEMS, ITEM_ROWS)})
    wheel = tmp_path / "t-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for f in ("datapackage.json", "data/items.parquet"):
            zf.write(src / f, f"chokepoint_data/{f}")
        zf.writestr("t-0.1.0.dist-info/METADATA", "Name: t\n")
    d = D.diff(wheel, src)
    assert d.level == "none" and table(d, "items").rows_new == 2


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def test_git_refs_are_read_from_commits_not_the_work_tree(tmp_path):
    repo = tmp_path / "repo"
    write_package(repo, {"items": (ITEMS, ITEM_ROWS)})
    git(repo, "init", "-q")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    git(repo, "tag", "v0.1.0")
    rows = copy.deepcopy(ITEM_ROWS)
    rows[0]["kind"] = "b"
    write_package(repo, {"items": (ITEMS, rows)}, version="0.1.1")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", "two")
    (repo / "data" / "items.parquet").write_bytes(b"junk in the work tree")  # not read for refs
    d = D.diff("v0.1.0", "HEAD", repo=repo)
    assert (d.old_version, d.new_version, d.level) == ("0.1.0", "0.1.1", "patch")
    assert table(d, "items").changed[0]["changes"] == {"kind": ["a", "b"]}


def test_this_repository_head_against_itself(root):
    d = D.diff("HEAD", "HEAD", repo=root)
    assert d.level == "none" and d.tables and all(t.status == "unchanged" for t in d.tables)


@pytest.mark.parametrize(("old", "level", "smallest"), [
    ("0.1.0", "major", "0.2.0"), ("0.1.3", "minor", "0.2.0"), ("0.1.3", "patch", "0.1.4"),
    ("0.1.3", "none", "0.1.4"), ("1.4.2", "major", "2.0.0"), ("1.4.2", "minor", "1.5.0"),
])
def test_smallest_version(old, level, smallest):
    assert D.smallest_version(old, level) == smallest


def test_check_bump_refuses_a_bump_smaller_than_the_diff_needs():
    assert D.check_bump("0.1.0", "0.2.0", "major") == "0.2.0"
    assert D.check_bump("0.1.0", "1.0.0", "major") == "0.2.0"
    with pytest.raises(D.ReleaseCheckError, match="at least 0.2.0"):
        D.check_bump("0.1.0", "0.1.1", "minor")
    with pytest.raises(D.ReleaseCheckError, match="at least 2.0.0"):
        D.check_bump("1.2.0", "1.3.0", "major")
    with pytest.raises(D.ReleaseCheckError, match="not above"):
        D.check_bump("0.2.0", "0.2.0", "none")
    with pytest.raises(D.ReleaseCheckError, match="X.Y.Z"):
        D.check_bump("0.2.0", "0.3", "none")


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "chokepoint_data", "diff", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def test_cli_formats_and_check(tmp_path):
    new = copy.deepcopy(ITEMS)
    new["fields"].pop()  # drop `year`: major
    a = write_package(tmp_path / "old", {"items": (ITEMS, ITEM_ROWS)}, "0.1.0")
    b = write_package(tmp_path / "new", {"items": (new, [{k: v for k, v in r.items() if k != "year"} for r in ITEM_ROWS])}, "0.1.1")
    out = cli(a, b, "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["bump"] == "major" and data["smallest_version"] == "0.2.0"
    assert data["tables"][0]["schema_changes"][0] == {"level": "major", "table": "items", "what": "field year removed"}
    md = cli(a, b, "--format", "markdown")
    assert md.returncode == 0 and "- `items`:" in md.stdout and "Schema: field year removed." in md.stdout
    checked = cli(a, b, "--check")
    assert checked.returncode == 1 and "at least 0.2.0" in checked.stderr and "Traceback" not in checked.stderr
    missing = cli(a, tmp_path / "nowhere", cwd=tmp_path)
    assert missing.returncode == 1 and "nowhere" in missing.stderr and "Traceback" not in missing.stderr


def test_a_changed_licence_is_major_a_new_title_a_patch(tmp_path):
    a = write_package(tmp_path / "old", {"items": (ITEMS, ITEM_ROWS)})
    b = write_package(tmp_path / "new", {"items": (ITEMS, ITEM_ROWS)})
    desc = json.loads(b.read_text())
    desc["title"] = "A new title"
    b.write_text(json.dumps(desc))
    assert D.diff(a, b).level == "patch"
    desc["resources"][0]["licenses"] = [{"name": "CC-BY-NC-4.0"}]
    b.write_text(json.dumps(desc))
    d = D.diff(a, b)
    assert d.level == "major"
    assert "resource licenses gained ['CC-BY-NC-4.0'] (reuse terms changed)" in [r.what for r in d.reasons]


# --- a diff across a remodel, on the real releases (issue 18.4) -----------------------------

ROOT = Path(__file__).resolve().parents[1]
RELEASE_0_1, RELEASE_0_2 = "14dcfd5", "37b8611"


def _require_history() -> None:
    for commit in (RELEASE_0_1, RELEASE_0_2):
        found = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True)
        if found.returncode != 0:  # not a skip: the test exists to run on the real pair
            pytest.fail(f"commit {commit} is not in {ROOT}; the diff tests need the full history "
                        f"(actions/checkout with fetch-depth: 0, or git fetch --unshallow)")


def test_the_0_1_to_0_2_market_shares_remodel_is_matched_and_said():
    _require_history()
    d = D.diff(RELEASE_0_1, RELEASE_0_2, repo=ROOT)
    td = table(d, "market_shares")
    assert td.key_old != td.key_new == ["market_id", "holder"]
    assert td.matched_by == ["market_id", "holder"]
    assert "primary key changed" in td.note and "declared mapping" in td.note
    assert td.rows_old - len(td.removed) + len(td.added) == td.rows_new
    matched = td.rows_old - len(td.removed)
    assert matched > 0.9 * td.rows_old  # the old rows are found again, not all "removed"
    assert td.changed and len(td.added) > 0
    changed_share = [c for c in td.changed if "share" in c["changes"]]
    assert all(set(c["key"]) == {"market_id", "holder"} for c in changed_share)
    text = D.render_text(d)
    assert f"{len(td.added)} added, {len(td.removed)} removed, {len(td.changed)} changed" in text
    assert "primary key changed" in text


def test_release_versions_resolve_through_releases_json_without_tags():
    _require_history()
    releases = json.loads((ROOT / "releases.json").read_text(encoding="utf-8"))["releases"]
    assert [r["version"] for r in releases][:2] == ["0.1.0", "0.2.0"]
    for r in releases:  # each recorded commit holds the data of the version it is recorded as
        assert D.open_package(r["commit"], repo=ROOT).version == r["version"]
        for name in (r["version"], "v" + r["version"]):
            assert D.open_package(name, repo=ROOT).version == r["version"]
    with pytest.raises(DescriptorError, match="releases.json"):
        D.open_package("9.9.9", repo=ROOT)


def test_a_broken_releases_json_is_the_packages_own_error(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "releases.json").write_text('{"releases": [{"version": "0.1.0"}]}', encoding="utf-8")
    with pytest.raises(DescriptorError, match="releases.json.*RELEASING"):
        D.open_package("0.1.0", repo=tmp_path)
    (tmp_path / "releases.json").write_text('{"releases": [{"version": "0.1.0", "commit": "0000000"}]}', encoding="utf-8")
    with pytest.raises(DescriptorError, match="does not hold"):
        D.open_package("v0.1.0", repo=tmp_path)


def _doc_diff_commands() -> list[str]:
    """The `chokepoint-data diff` lines of the README and RELEASING that name git refs."""
    lines = []
    for doc in ("README.md", "docs/RELEASING.md"):
        for line in (ROOT / doc).read_text(encoding="utf-8").splitlines():
            command = line.lstrip("$ ").split("#")[0].strip()
            if command.startswith("chokepoint-data diff ") and "datapackage.json" not in command:
                lines.append(command)
    return lines


def test_the_docs_diff_commands_run_on_a_fresh_clone(tmp_path):
    """A clone has branch main and no tags: every diff command the README and RELEASING show runs
    there (``$PREV`` as RELEASING computes it), with the clone's own code."""
    _require_history()
    commands = _doc_diff_commands()
    assert any("v0.2.0 HEAD" in c for c in commands) and any("$PREV" in c for c in commands)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-tags", str(ROOT), str(clone)], check=True)
    assert subprocess.run(["git", "-C", str(clone), "tag"], capture_output=True, text=True).stdout == ""
    releases = json.loads((clone / "releases.json").read_text(encoding="utf-8"))["releases"]
    env = {**os.environ, "PYTHONPATH": str(clone), "PREV": releases[-1]["version"]}
    for command in sorted(set(commands)):
        argv = [a.strip('"') for a in command.split()[1:]]
        argv = [env["PREV"] if a == "$PREV" else a for a in argv]
        res = subprocess.run([sys.executable, "-m", "chokepoint_data", *argv], cwd=clone, env=env,
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, f"{command}: {res.stderr}"
        assert "Traceback" not in res.stderr
