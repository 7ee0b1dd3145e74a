"""Malformed curated input: one build run lists every problem by file, row, column and rule."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from chokepoint_data import BuildError
from chokepoint_data.build import build


def _lines(src: Path, table: str) -> list[str]:
    return (src / "curation" / f"{table}.csv").read_text(encoding="utf-8").split("\n")


def _write(src: Path, table: str, lines: list[str]) -> None:
    (src / "curation" / f"{table}.csv").write_text("\n".join(lines), encoding="utf-8")


def _set_cell(src: Path, table: str, line_no: int, column: str, value: str) -> None:
    """Set one cell of a simple (unquoted) row; picks rows without quotes to stay simple."""
    import csv
    import io

    lines = _lines(src, table)
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[line_no - 1]]))
    row[header.index(column)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(row)
    lines[line_no - 1] = buf.getvalue()
    _write(src, table, lines)


def test_every_problem_is_listed_in_one_run(source_copy):
    src = source_copy
    build(src)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.rglob("*.parquet")}
    # 1. text where a number belongs
    _set_cell(src, "market_shares", 2, "share", "12%")
    # 2. a bad date
    _set_cell(src, "sources", 3, "accessed", "2026-02-30")
    # 3. stray white space
    _set_cell(src, "indicators", 2, "geo", " CHN")
    # 4. unknown category
    _set_cell(src, "indicators", 3, "metric", "vibes")
    # 5. dangling foreign key
    _set_cell(src, "assessments", 2, "chokepoint_id", "no-such-chokepoint")
    # 6. a duplicate key
    lines = _lines(src, "company_chokepoints")
    _write(src, "company_chokepoints", lines[:2] + [lines[1]] + lines[2:])
    # 7. extra column
    lines = _lines(src, "companies")
    _write(src, "companies", [lines[0] + ",website"] + [ln + "," if ln else ln for ln in lines[1:]])
    # 8. renamed column (missing + extra)
    lines = _lines(src, "policy_chokepoints")
    _write(src, "policy_chokepoints", [lines[0].replace("note", "notes")] + lines[1:])
    # 9. byte-order mark
    path = src / "curation" / "policies.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    # 10. an empty file
    (src / "curation" / "policy_targets.csv").write_text("")
    # 11. a ragged row
    lines = _lines(src, "chokepoints")
    _write(src, "chokepoints", lines + ["orphan-row,too,few"])

    with pytest.raises(BuildError) as err:
        build(src)
    got = {(f.table, f.rule, f.column, f.row) for f in err.value.failures}
    expected = [
        ("curation/market_shares.csv", "type:number", "share", 2),
        ("curation/sources.csv", "type:date", "accessed", 3),
        ("curation/indicators.csv", "whitespace", "geo", 2),
        ("curation/indicators.csv", "foreign_key:metric->metrics.metric_id", "metric", 3),
        ("curation/assessments.csv", "foreign_key:chokepoint_id->chokepoints.chokepoint_id", "chokepoint_id", 2),
        ("curation/company_chokepoints.csv", "primary_key", None, 2),
        ("curation/company_chokepoints.csv", "primary_key", None, 3),
        ("curation/companies.csv", "columns:extra", "website", None),
        ("curation/policy_chokepoints.csv", "columns:missing", "note", None),
        ("curation/policy_chokepoints.csv", "columns:extra", "notes", None),
        ("curation/policies.csv", "file:bom", None, None),
        ("curation/policy_targets.csv", "file:empty", None, None),
    ]
    for item in expected:
        assert item in got, f"{item} not reported; got {sorted(map(str, got))[:40]}"
    assert any(f.table == "curation/chokepoints.csv" and f.rule == "file:ragged" for f in err.value.failures)
    message = str(err.value)
    assert "curation/market_shares.csv, row 2" in message and "'12%'" in message
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.rglob("*.parquet")}
    assert after == before


def test_market_over_one_in_curation_is_refused(source_copy):
    """Shares of a market over 1, found from the CSV, named by file and key."""
    import pandas as pd

    path = source_copy / "curation" / "market_shares.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    first = df.iloc[0]
    same = df["market_id"] == first["market_id"]
    df.loc[same, "share"] = "0.9"
    if same.sum() < 2:
        extra = first.copy()
        extra["holder"] = "other"
        df = pd.concat([df, extra.to_frame().T])
    df.to_csv(path, index=False)
    with pytest.raises(BuildError) as err:
        build(source_copy)
    hits = [f for f in err.value.failures if f.rule == "market_share_sum"]
    assert hits and all(f.table == "curation/market_shares.csv" for f in hits)
    assert f"market_id={first['market_id']}" in hits[0].key


def test_missing_schema_or_curation_file(source_copy):
    (source_copy / "curation" / "indicators.csv").unlink()
    with pytest.raises(BuildError) as err:
        build(source_copy)
    assert ("curation/indicators.csv", "file:missing") in {(f.table, f.rule) for f in err.value.failures}
    (source_copy / "schemas" / "indicators.json").write_text("{not json")
    with pytest.raises(BuildError, match="schema:invalid"):
        build(source_copy)


# --- Schema files that are valid JSON but wrong: BuildError naming the file (issue 12) ----------


def _edit_schema(src: Path, table: str, edit) -> None:
    import json

    path = src / "schemas" / f"{table}.json"
    sch = json.loads(path.read_text())
    sch = edit(sch) or sch
    path.write_text(json.dumps(sch))


def _field(sch, name):
    return next(f for f in sch["fields"] if f["name"] == name)


SCHEMA_BREAKS = {
    "bad regex": (lambda s: _field(s, "source_id")["constraints"].__setitem__("pattern", "([a-z"), "source_id", "regular expression"),
    "unknown type": (lambda s: _field(s, "title").__setitem__("type", "text"), "title", "unknown type"),
    "no fields": (lambda s: (s.pop("fields"), None)[1], None, "no 'fields'"),
    "fields not a list": (lambda s: s.__setitem__("fields", {"a": 1}), None, "no 'fields'"),
    "not an object": (lambda s: [1, 2], None, "not a JSON object"),
    "field without name": (lambda s: s["fields"].append({"type": "string"}), None, "'name'"),
    "field twice": (lambda s: s["fields"].append(dict(_field(s, "title"))), "title", "twice"),
    "constraints not object": (lambda s: _field(s, "title").__setitem__("constraints", ["required"]), "title", "not an object"),
    "enum not strings": (lambda s: _field(s, "kind")["constraints"].__setitem__("enum", [1, 2]), "kind", "enum"),
    "unknown constraint": (lambda s: _field(s, "title")["constraints"].__setitem__("requird", True), "title", "unknown constraint"),
    "primary key unknown": (lambda s: s.__setitem__("primaryKey", ["nope"]), "nope", "primaryKey"),
    "foreign key to nowhere": (lambda s: s.__setitem__("foreignKeys", [{"fields": ["title"], "reference": {"resource": "nowhere", "fields": ["x"]}}]),
                               "title", "not a table"),
    "foreign key malformed": (lambda s: s.__setitem__("foreignKeys", [{"fields": ["title"]}]), None, "foreign key 0"),
}


@pytest.mark.parametrize("case", sorted(SCHEMA_BREAKS))
def test_wrong_schema_is_a_build_error_naming_the_file(source_copy, case):
    edit, column, words = SCHEMA_BREAKS[case]
    _edit_schema(source_copy, "sources", edit)
    with pytest.raises(BuildError) as err:
        build(source_copy)
    hits = [f for f in err.value.failures if f.table == "schemas/sources.json" and words in f.message]
    assert hits, str(err.value)
    assert hits[0].column == column
    assert not (source_copy / "datapackage.json").exists()


# --- CSV errors that point at the cause (issue 12) ---------------------------------------------


def test_unclosed_quote_is_reported_where_it_opens(source_copy):
    lines = _lines(source_copy, "companies")
    lines[4] = lines[4].replace(",", ',"', 1)  # line 5 opens a quote that is never closed
    _write(source_copy, "companies", lines)
    with pytest.raises(BuildError) as err:
        build(source_copy)
    (f,) = [f for f in err.value.failures if f.table == "curation/companies.csv"]
    assert f.rule == "file:unclosed_quote" and f.row == 5 and "line 5" in f.message


def test_undecodable_byte_is_reported_with_line_and_column_once(source_copy):
    path = source_copy / "curation" / "companies.csv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = b"ab\xff" + lines[2][3:]
    lines[6] = lines[6] + b"\xfe\xfe"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(BuildError) as err:
        build(source_copy)
    found = [f for f in err.value.failures if f.table == "curation/companies.csv"]
    assert len(found) == 1  # no follow-on flood
    assert found[0].rule == "file:encoding" and found[0].row == 3
    assert "line 3, column 3" in found[0].message and "more undecodable" in found[0].message


def test_cell_over_the_csv_field_limit_is_named_too_large(source_copy):
    import csv

    lines = _lines(source_copy, "companies")
    lines[3] = lines[3] + "x" * (csv.field_size_limit() + 10)
    _write(source_copy, "companies", lines)
    with pytest.raises(BuildError) as err:
        build(source_copy)
    (f,) = [f for f in err.value.failures if f.table == "curation/companies.csv"]
    assert f.rule == "file:cell_too_large" and f.row == 4 and "field limit" in f.message


def test_curation_file_that_is_a_folder_is_reported(source_copy):
    path = source_copy / "curation" / "companies.csv"
    path.unlink()
    path.mkdir()
    with pytest.raises(BuildError) as err:
        build(source_copy)
    (f,) = [f for f in err.value.failures if f.table == "curation/companies.csv"]
    assert f.rule == "file:unreadable"


def test_schema_file_that_is_a_folder_is_reported(source_copy):
    path = source_copy / "schemas" / "companies.json"
    path.unlink()
    path.mkdir()
    with pytest.raises(BuildError) as err:
        build(source_copy)
    assert [f.rule for f in err.value.failures] == ["schema:unreadable"]
    assert "companies.json" in str(err.value)
