"""Hostile text, numbers and dates of any size, and every frame type validate() takes.

Each case is refused by the build (from the curation CSV) and by ``validate()`` with the
table, row, key and column, as one of the package's own errors, never a pandas or Arrow
exception.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import chokepoint_data as cd
from chokepoint_data import BuildError, ValidationError
from chokepoint_data.rules._text import MULTILINE
from chokepoint_data.build import build


def _edit(src: Path, table: str, row: int, column: str, value: str) -> int:
    """Set one cell of curation/<table>.csv (0-based data row); returns its CSV line number."""
    path = src / "curation" / f"{table}.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    rows[row + 1][rows[0].index(column)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return row + 2


def _build_failures(src: Path) -> list:
    with pytest.raises(BuildError) as err:
        build(src)
    return list(err.value.failures)


def _one(failures, table, column, line):
    """The failures on one cell. (A cell holding a line break ends on a later line than it
    starts; the row is then the line where the record ends, so those cases check the key.)"""
    hits = [f for f in failures if f.table == f"curation/{table}.csv" and f.column == column and (line is None or f.row == line)]
    assert hits, [str(f) for f in failures][:10]
    return hits


# --- control characters -------------------------------------------------------------------

@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x07", "\x7f", "\x85", "\x9b"], ids=["NUL", "ESC", "BEL", "DEL", "NEL", "CSI"])
def test_build_refuses_control_characters(source_copy, char):
    line = _edit(source_copy, "chokepoints", 0, "name_en", f"Lith{char}ography")
    hits = _one(_build_failures(source_copy), "chokepoints", "name_en", line)
    assert hits[0].rule == "control_character" and f"U+{ord(char):04X}" in hits[0].message
    assert hits[0].key and hits[0].key.startswith("chokepoint_id=")


def test_tab_and_newline_only_in_free_text(source_copy):
    _edit(source_copy, "market_shares", 0, "note", "first line\nsecond line\twith a tab")
    build(source_copy)  # note is free text: allowed
    _edit(source_copy, "market_shares", 0, "locator", "page 3\npage 4")
    hits = _one(_build_failures(source_copy), "market_shares", "locator", None)
    assert hits[0].key.startswith("market_id=") and ", holder=" in hits[0].key  # the first row's key
    assert [h.rule for h in hits] == ["control_character"] and "U+000A" in hits[0].message


def test_multiline_columns_are_free_text_columns(schemas):
    for name, sch in schemas.items():
        for field in sch["fields"]:
            if field["name"] in MULTILINE:
                c = field.get("constraints", {})
                assert field["type"] == "string" and not ({"enum", "pattern"} & set(c)), (name, field["name"])


def test_validate_refuses_control_characters():
    shares = cd.load("market_shares")
    shares["holder"] = shares["holder"].astype(object)
    shares.loc[shares.index[3], "holder"] = "asml\x00"
    shares.loc[shares.index[5], "note"] = "windows line\r\nend"
    with pytest.raises(ValidationError) as err:
        cd.validate({"market_shares": shares})
    hits = [f for f in err.value.failures if f.rule == "control_character"]
    assert [(f.row, f.column) for f in hits] == [(3, "holder"), (5, "note")]
    assert "NUL" in hits[0].message and "U+000D CR" in hits[1].message


# --- numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text,rule", [("1e400", "number:finite"), ("-1e400", "number:finite"), ("1e-400", "number:underflow"),
                                       ("inf", "type:number"), ("nan", "type:number"), ("Infinity", "type:number"),
                                       ("٠٫٥", "type:number"), ("０.５", "type:number"), ("0.5%", "type:number")])
def test_build_refuses_numbers_that_are_not_finite_plain_decimals(source_copy, text, rule):
    line = _edit(source_copy, "market_shares", 1, "share", text)
    failures = _build_failures(source_copy)
    hits = _one(failures, "market_shares", "share", line)
    assert [h.rule for h in hits] == [rule] and hits[0].value == text
    assert not [f for f in failures if f.rule == "required"], "a cell that did not parse is not also 'missing'"


def test_zero_written_any_way_is_zero():
    frame = pd.DataFrame({"share": pd.Series(["0", "0.0", "-0", "0e-400", ".0", "00.000"], dtype=object)})
    from chokepoint_data.rules._coerce import coerce_frame

    typed, failures = coerce_frame("t", {"fields": [{"name": "share", "type": "number"}]}, frame)
    assert failures == [] and typed["share"].tolist() == [0.0] * 6


@pytest.mark.parametrize("text", ["٢٠٢٤", "２０２４", "2O24", "2,024", "+2024.0", "99999999999999999999"])
def test_integers_are_ascii_digits_in_range(source_copy, text):
    line = _edit(source_copy, "assessments", 1, "year", text)
    hits = _one(_build_failures(source_copy), "assessments", "year", line)
    assert hits[0].rule in {"type:integer", "integer:range"} and hits[0].value == text


def test_percent_gets_a_hint_and_no_second_failure():
    shares = cd.load("market_shares")
    shares["share"] = shares["share"].astype(object)
    shares.loc[shares.index[0], "share"] = "33%"
    with pytest.raises(ValidationError) as err:
        cd.validate({"market_shares": shares})
    on_cell = [f for f in err.value.failures if f.row == 0 and f.column == "share"]
    assert len(on_cell) == 1 and on_cell[0].rule == "type:number"
    assert "shares are fractions: 33% is 0.33" in on_cell[0].message
    assert on_cell[0].key and "holder=" in on_cell[0].key


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_validate_refuses_infinite_floats(bad):
    shares = cd.load("market_shares")
    shares.loc[shares.index[2], "share"] = bad
    with pytest.raises(ValidationError) as err:
        cd.validate({"market_shares": shares})
    assert [(f.rule, f.row, f.column) for f in err.value.failures if f.table == "market_shares"] == [("number:finite", 2, "share")]


def test_nan_in_arrow_is_not_a_number_but_pandas_nan_is_missing():
    shares = cd.load("market_shares")
    table = pa.Table.from_pandas(shares, preserve_index=False)
    share = table.column("share").to_pylist()
    share[4] = float("nan")
    table = table.set_column(table.column_names.index("share"), "share", pa.array(share, pa.float64()))
    with pytest.raises(ValidationError) as err:
        cd.validate({"market_shares": table})
    assert [(f.rule, f.row) for f in err.value.failures if f.table == "market_shares"] == [("number:finite", 4)]
    plain = shares.astype({"share": "float64"})
    plain.loc[4, "share"] = np.nan
    with pytest.raises(ValidationError) as err:
        cd.validate({"market_shares": plain})
    assert [(f.rule, f.row) for f in err.value.failures if f.table == "market_shares"] == [("required", 4)]


# --- dates -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["3024-01-01", "1600-01-01", "2262-04-12", "1677-09-21", "9999-12-31"])
def test_build_refuses_dates_outside_the_stored_range(source_copy, text):
    line = _edit(source_copy, "sources", 2, "accessed", text)
    hits = _one(_build_failures(source_copy), "sources", "accessed", line)
    assert [h.rule for h in hits] == ["date:range"] and hits[0].key.startswith("source_id=")


@pytest.mark.parametrize("text", ["2262-04-11", "1677-09-22"])
def test_dates_at_the_edges_of_the_range_are_kept(text):
    from chokepoint_data.rules._coerce import coerce_frame

    typed, failures = coerce_frame("t", {"fields": [{"name": "d", "type": "date"}]},
                                   pd.DataFrame({"d": pd.Series([text], dtype=object)}))
    assert failures == [] and typed["d"].iloc[0] == pd.Timestamp(text)


@pytest.mark.parametrize("make", [
    lambda: pa.array([np.datetime64("3024-01-01", "s")] * 2, pa.timestamp("s")),
    lambda: pa.array([dt.date(1600, 1, 1)] * 2, pa.date32()),
], ids=["timestamp-s", "date32"])
def test_validate_refuses_typed_dates_outside_the_range(make):
    sources = pa.Table.from_pandas(cd.load("sources"), preserve_index=False)
    column = sources.column("accessed").combine_chunks()
    bad = pa.concat_arrays([make().cast(pa.timestamp("s")), column.slice(2).cast(pa.timestamp("s"))])
    sources = sources.set_column(sources.column_names.index("accessed"), "accessed", bad)
    with pytest.raises(ValidationError) as err:
        cd.validate({"sources": sources})
    assert {(f.rule, f.row, f.column) for f in err.value.failures} == {("date:range", 0, "accessed"), ("date:range", 1, "accessed")}


def test_a_time_of_day_is_not_a_date():
    policies = cd.load("policies")
    policies.loc[0, "announced"] = pd.Timestamp("2020-01-01 10:30")
    with pytest.raises(ValidationError) as err:
        cd.validate({"policies": policies})
    assert [(f.rule, f.row, f.value) for f in err.value.failures] == [("type:date", 0, "2020-01-01 10:30:00")]


@pytest.mark.parametrize("timed", [pd.Timestamp("2000-01-01 00:00:00.000001"), dt.datetime(2000, 1, 1, 5)])
def test_a_time_of_day_among_plain_dates_is_not_dropped(timed):
    """An object column of datetime.date cells and one date-time: Arrow reads such a column
    as dates and would cut the time off; the date-time must be refused, not truncated."""
    policies = cd.load("policies")
    announced = policies["announced"].dt.date.astype(object)
    announced.iloc[1] = timed
    policies["announced"] = announced
    with pytest.raises(ValidationError) as err:
        cd.validate({"policies": policies})
    assert [(f.rule, f.row) for f in err.value.failures] == [("type:date", 1)]


# --- frame types ---------------------------------------------------------------------------------

def test_validate_accepts_pyarrow_and_polars_frames():
    pl = pytest.importorskip("polars")
    shares = cd.load("market_shares")
    expected = cd.validate({"market_shares": shares})["market_shares"]
    for frame in (cd.load("market_shares", backend="pyarrow"), cd.load("market_shares", backend="polars"),
                  cd.load("market_shares", backend="polars").lazy()):
        got = cd.validate({"market_shares": frame})["market_shares"]
        pd.testing.assert_frame_equal(got, expected)
    bad = cd.load("market_shares", backend="polars").with_columns(pl.lit(-0.5).alias("share"))
    with pytest.raises(ValidationError) as err:
        cd.validate({"market_shares": bad.lazy()})
    assert {f.rule for f in err.value.failures} >= {"minimum"} and err.value.failures[0].row == 0


@pytest.mark.parametrize("given", [[{"a": 1}], {"source_id": ["x"]}, np.zeros((2, 2)), "market_shares.csv"],
                         ids=["list", "dict", "ndarray", "str"])
def test_validate_names_what_it_accepts(given):
    with pytest.raises(TypeError, match="pandas DataFrame, a polars DataFrame or LazyFrame, or a pyarrow Table"):
        cd.validate({"market_shares": given})


def test_validate_wants_a_mapping():
    with pytest.raises(TypeError, match="mapping of table name"):
        cd.validate([cd.load("market_shares")])  # type: ignore[arg-type]


# --- large reports ---------------------------------------------------------------------------------

def test_a_large_report_counts_and_shows_the_first_fifty():
    shares = cd.load("market_shares")
    big = pd.concat([shares] * 100, ignore_index=True)  # 32,800 rows: every key repeats
    big["share"] = pd.Series(["n/a"] * len(big), dtype=object)
    with pytest.raises(ValidationError) as err:
        cd.validate({"market_shares": big})
    failures = err.value.failures
    assert sum(f.rule == "type:number" for f in failures) == len(big)
    assert sum(f.rule == "primary_key" for f in failures) == len(big)
    assert not any(f.rule == "required" for f in failures)
    lines = str(err.value).splitlines()
    assert lines[0] == f"validation failed with {len(failures)} problem(s):"
    assert len(lines) < 60
    assert f"and {len(failures) - 50} more" in str(err.value)
    assert "market_shares: primary_key: " in str(err.value)


def test_failure_is_a_small_immutable_value():
    from chokepoint_data import Failure

    a = Failure("t", "rule", "message", column="c", row=3, key="k=1", value="v")
    b = Failure("t", "rule", "message", "c", 3, "k=1", "v")
    assert a == b and hash(a) == hash(b) and a != Failure("t", "rule", "message")
    assert str(a) == "t, row 3, [k=1], column 'c': rule: message (value 'v')"
    assert "row=3" in repr(a)
    with pytest.raises(AttributeError):
        a.rule = "other"  # type: ignore[misc]
    assert not hasattr(a, "__dict__")


def test_failures_read_like_a_tuple_of_failure():
    """validate() keeps failures column-wise and makes Failure objects on reading: indexing,
    negative indexing, slicing, iteration, equality and the counts must be a tuple's."""
    shares = cd.load("market_shares")
    broken = shares.copy()
    broken.loc[[3, 7], "holder"] = "bad\x1bholder"
    broken.loc[[5], "share"] = 7.0
    with pytest.raises(ValidationError) as err:
        cd.validate({"market_shares": broken})
    failures = err.value.failures
    plain = tuple(failures)
    assert len(plain) == len(failures) > 3 and failures == plain and failures == list(plain)
    assert [failures[i] for i in range(-len(plain), len(plain))] == list(plain) * 2
    assert failures[1:4] == plain[1:4] and failures[::-1] == plain[::-1]
    with pytest.raises(IndexError):
        failures[len(plain)]
    counted: dict = {}
    for f in plain:
        counted[(f.table, f.rule)] = counted.get((f.table, f.rule), 0) + 1
    assert failures.counts() == counted and err.value.rules() == {rule for _, rule in counted}
    control = [f for f in plain if f.rule == "control_character"]
    assert [(f.row, f.value) for f in control] == [(3, "bad\x1bholder"), (7, "bad\x1bholder")]
    share = [f for f in plain if f.column == "share" and f.rule == "share_range" or f.rule == "maximum"]
    assert share and all(f.value == "7.0" and f.row == 5 for f in share)


def test_control_characters_are_found_by_code_point():
    """The RE2 class that finds cells with a control character flags exactly CONTROL: every
    code point below U+0300 inside a cell, with tab and newline let through where allowed."""
    from chokepoint_data.rules import _text

    chars = [chr(c) for c in range(0x300)]
    cells = pa.array([f"ab{c}cd" for c in chars], type=pa.large_string())
    _, ctrl = _text.text_flags(cells, "")
    assert {chars[i] for i in np.flatnonzero(ctrl)} == set(_text.CONTROL)
    _, ctrl = _text.text_flags(cells, "\t\n")
    assert {chars[i] for i in np.flatnonzero(ctrl)} == set(_text.CONTROL) - {"\t", "\n"}


def test_long_text_in_chunks_is_checked_in_place():
    """A long-text column in several chunks (a Parquet file with row groups) is checked chunk
    by chunk without being joined: failures still name the right rows, and the typed column
    holds the same text."""
    from chokepoint_data.rules import _coerce

    sources = cd.load("sources")
    titles = [f"{t} " + "x" * (2 * _coerce.LONG_TEXT_BYTES) + "." for t in sources["title"].tolist()]
    bad = len(titles) - 3
    titles[bad] = "a title\x07 " + titles[bad]
    table = pa.Table.from_pandas(sources, preserve_index=False)
    third = len(titles) // 3
    chunked = pa.chunked_array([pa.array(titles[:third], pa.large_string()), pa.array(titles[third:2 * third], pa.large_string()),
                                pa.array(titles[2 * third:], pa.large_string())])
    table = table.set_column(table.column_names.index("title"), "title", chunked)
    from chokepoint_data.store._loader import table_schema

    typed, failures = _coerce.coerce_frame("sources", table_schema("sources"), table)
    assert [(f.rule, f.row, f.value) for f in failures] == [("control_character", bad, titles[bad])]
    assert typed["title"].tolist()[:bad] == titles[:bad] and typed["title"].tolist()[bad + 1:] == titles[bad + 1:]
    if typed["title"].dtype.storage == "pyarrow":  # pandas 2.x stores text as Python objects: nothing to keep
        assert pa.array(typed["title"].array).num_chunks == 3  # not joined: no copy


def test_failures_keep_the_rest_of_the_tuple_protocol_and_the_error_pickles():
    """What callers did with the tuple 0.2.0 gave: index, count, +, hash; a wrong index type
    is a TypeError; and a ValidationError (or BuildError) survives pickling with its failures
    (in 0.2.0 it did not unpickle at all)."""
    import pickle

    from chokepoint_data import BuildError

    shares = cd.load("market_shares")
    shares.loc[0:3, "holder"] = "zzz"
    with pytest.raises(ValidationError) as err:
        cd.validate({"market_shares": shares})
    failures = err.value.failures
    plain = tuple(failures)
    assert failures.index(plain[2]) == 2 and failures.count(plain[0]) == 1
    assert failures + () == plain and () + failures == plain and hash(failures) == hash(plain)
    with pytest.raises(TypeError):
        failures["a"]
    for error in (err.value, BuildError(plain[:2])):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and tuple(again.failures) == tuple(error.failures)
        assert str(again) == str(error)


_CHUNK_CASES = {
    # table, column, cell text of row i, {row: broken text}, the failures those rows must give
    "locator": ("indicators", "locator", lambda i, pad: f"{pad} {i}",
                {12_000: "y" * 500, 25_000: " ".join(["w"] * 60)},
                {("maxLength", 12_000), ("locator_words", 25_000)}),
    "url": ("sources", "url", lambda i, pad: f"https://example.org/{pad}/{i}",
            {12_000: "https://example.org/a b", 25_000: "https://example.org/\u00a0x", 26_000: "ftp://x.org/y"},
            {("pattern", 12_000), ("pattern", 25_000), ("pattern", 26_000)}),
}


@pytest.mark.parametrize("distinct", [True, False])
@pytest.mark.parametrize("case", sorted(_CHUNK_CASES))
def test_rules_read_long_text_in_chunks_as_they_read_it_joined(case, distinct):
    """Long text kept in its chunks is read by the column rules (pattern, maxLength, the
    per-value rules) chunk by chunk, without joining it: a frame of three chunks reports
    exactly what the same frame in one chunk reports, rows counted across the chunks. With
    few distinct values the rules check each value once (the dictionary path, which must
    give every chunk the same dictionary); with all values distinct, cell by cell; a
    non-ASCII cell goes to Python's re, by its row in the whole column."""
    from chokepoint_data.rules import _coerce

    table_name, column_name, text, broken, expected = _CHUNK_CASES[case]
    n = 30_000  # past the size where repeated values are checked once
    frame = cd.load(table_name).sample(n, replace=True, random_state=0).reset_index(drop=True)
    pad = "p" + "x" * (2 * _coerce.LONG_TEXT_BYTES)
    cells = [text(i % 50 if distinct else i, pad) for i in range(n)]
    for at, cell in broken.items():
        cells[at] = cell + pad
    frame[column_name] = cells
    table = pa.Table.from_pandas(frame, preserve_index=False)
    column = table.column(column_name).combine_chunks()
    thirds = [column.slice(0, 10_000), column.slice(10_000, 10_000), column.slice(20_000)]
    at = table.column_names.index(column_name)

    def found(chunks):
        with pytest.raises(cd.ValidationError) as err:
            cd.validate({table_name: table.set_column(at, column_name, pa.chunked_array(chunks))})
        return {(f.rule, f.row) for f in err.value.failures if f.column == column_name}

    got = found(thirds)
    assert got == found([column])
    assert expected <= got and got - expected <= {("unique", r) for r in range(n)}, got - expected
