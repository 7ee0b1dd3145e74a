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
