"""append() refuses what validate() refuses, with the same messages, and takes what it takes."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import polars as pl
import pytest

import chokepoint_data as cd

NY = dt.timezone(dt.timedelta(hours=-4))  # New York in September, without tz data
NEW = {"chokepoint_id": "euv-lithography", "year": 2018, "status": "dependent",
       "rationale": "Illustration only: not a real assessment.", "source_id": "eto-2025-chip-explorer-provision",
       "confidence": "high"}


def shipped_row(table: str, **changes) -> dict:
    row = {k: (None if pd.isna(v) else v) for k, v in cd.load(table).iloc[0].items()}
    row.update(changes)
    return row


def failures_on(call, column):
    with pytest.raises(cd.ValidationError) as err:
        call()
    return sorted((f.rule, f.message, f.value) for f in err.value.failures if f.column == column)


CASES = [
    ("indicators", "value", "1e-400", {"year": 2031}),
    ("indicators", "value", True, {"year": 2031}),
    ("indicators", "value", 10**400, {"year": 2031}),
    ("indicators", "year", True, {}),
    ("policies", "announced", "2024-1-1", {"policy_id": "zz-new", "effective": None}),
    ("policies", "announced", pd.Timestamp("2014-09-26 20:00", tz=NY), {"policy_id": "zz-new", "effective": None}),
    ("policies", "announced", pd.Timestamp("2014-09-26", tz=NY), {"policy_id": "zz-new", "effective": None}),
    ("policies", "announced", dt.datetime(2014, 9, 26, tzinfo=NY), {"policy_id": "zz-new", "effective": None}),
    ("companies", "name_en", "a\ud800b", {"company_id": "zz-new"}),
]


@pytest.mark.parametrize(("table", "column", "value", "changes"), CASES, ids=lambda v: repr(v)[:24])
def test_append_refuses_what_validate_refuses_with_the_same_messages(table, column, value, changes):
    row = shipped_row(table, **changes, **{column: value})
    by_append = failures_on(lambda: cd.append(table, [row]), column)
    by_validate = failures_on(lambda: cd.validate({table: pd.DataFrame([row], dtype=object)}), column)
    assert by_append and by_append == by_validate


@pytest.mark.parametrize("zoned", [True, False])
def test_one_rule_for_zone_aware_timestamps_in_cells_and_columns(zoned):
    day = pd.Timestamp("2014-09-26", tz=NY if zoned else None)
    frame = pd.DataFrame([shipped_row("policies", policy_id="zz-new", effective=None)], dtype=object)
    frame["announced"] = pd.Series([day])  # a typed column (datetime64[ns, tz] or datetime64[ns])
    cell = [shipped_row("policies", policy_id="zz-new", effective=None, announced=day)]
    for rows in (frame, cell, pl.from_pandas(frame)):
        if zoned:
            found = failures_on(lambda: cd.append("policies", rows), "announced")
            assert [(r, "time zone" in m) for r, m, _ in found] == [("type:date", True)]
        else:
            assert cd.append("policies", rows)["announced"].iloc[-1] == pd.Timestamp("2014-09-26")


def test_append_takes_a_lazyframe_and_a_generator_as_validate_takes_frames():
    n = len(cd.load("assessments")) + 1
    assert len(cd.append("assessments", pl.DataFrame([NEW]).lazy())) == n
    assert len(cd.append("assessments", (r for r in [NEW]))) == n


@pytest.mark.parametrize(("name", "rows", "said"), [
    ("assessments", 5, "not int"),
    ("assessments", "text", "not str"),
    ("assessments", [NEW, 5], "found a int"),
    (5, [NEW], "name must be a table name"),
])
def test_append_refuses_other_arguments_with_its_own_error(name, rows, said):
    with pytest.raises(cd.ArgumentError, match=said):
        cd.append(name, rows)


@pytest.mark.parametrize(("column", "text", "refused"), [
    ("name_en", "ACM\u202eResearch", True),   # a right-to-left override: refused everywhere
    ("name_en", "ACM\u2067Research", True),   # an isolate
    ("name_en", "A\u200bB", True),            # a zero-width space in a name
    ("name_en", "Ali\u200cReza", False),      # ZWNJ: Persian needs it in names
    ("company_id", "zz\u200dnew", True),      # no joiner in an id
    ("company_id", "zz\u00adnew", True),      # nor a soft hyphen
])
def test_invisible_characters_in_ids_and_names(column, text, refused):
    row = shipped_row("companies", company_id="zz-new")
    row[column] = text
    if refused:
        found = failures_on(lambda: cd.append("companies", [row]), column)
        invisible = [m for r, m, _ in found if r == "invisible_character"]
        assert len(invisible) == 1 and "U+" in invisible[0]  # (an id may break its pattern too)
    else:
        assert cd.append("companies", [row])[column].iloc[-1] == text


def test_build_refuses_a_direction_override_in_a_name(source_copy):
    from chokepoint_data.release.build import build

    path = source_copy / "curation" / "companies.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    head, first = lines[0].split(","), lines[1]
    at = head.index("name_en")
    cells = first.split(",")
    assert cells[at] and '"' not in first  # a plain first row, so a comma split is exact
    cells[at] = cells[at][:2] + "\u202e" + cells[at][2:]
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(cd.BuildError) as err:
        build(source_copy)
    assert any(f.rule == "invisible_character" and f.column == "name_en" for f in err.value.failures)
