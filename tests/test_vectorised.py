"""The vectorised rules give what the row-wise ones gave, on random frames.

The row-wise implementations of 0.1 are kept here, verbatim in substance, as the oracle:
coercion cell by cell, foreign keys through Python sets, patterns through ``re``, and the
invariants that looped over rows. Each hypothesis test draws frames (small ones, and
repeated ones long enough to take the "check each distinct value once" path) and
compares the two. Where 0.2 is deliberately stricter (control characters, non-ASCII
digits, numbers that overflow or underflow, dates outside datetime64[ns]), the draws
stay out of those cases; ``test_coerce.py`` covers them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chokepoint_data.rules import _invariants
from chokepoint_data.rules import _columns
from chokepoint_data.rules import _schemas
from chokepoint_data.store import _loader
from chokepoint_data.rules._coerce import coerce_frame

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BIG = 20_001  # the size from which text checks may work on distinct values


# --- the oracle: 0.1's row-wise code ---------------------------------------------------------

def _is_null(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, np.datetime64) and np.isnat(value):
        return True
    return False


_INT_RE = re.compile(r"^[+-]?\d+$")
_NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_cell(kind: str, value: Any) -> tuple[bool, Any]:
    if kind == "string":
        return (True, value) if isinstance(value, str) else (False, None)
    if kind == "integer":
        if isinstance(value, (bool, np.bool_)):
            return False, None
        if isinstance(value, (int, np.integer)):
            return True, int(value)
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return True, int(value)
        if isinstance(value, str) and _INT_RE.match(value):
            return True, int(value)
        return False, None
    if kind == "number":
        if isinstance(value, (bool, np.bool_)):
            return False, None
        if isinstance(value, (int, float, np.integer, np.floating)):
            return (True, float(value)) if math.isfinite(float(value)) else (False, None)
        if isinstance(value, str) and _NUM_RE.match(value):
            return True, float(value)
        return False, None
    if kind == "boolean":
        if isinstance(value, (bool, np.bool_)):
            return True, bool(value)
        if isinstance(value, str) and value in {"true", "True", "TRUE"}:
            return True, True
        if isinstance(value, str) and value in {"false", "False", "FALSE"}:
            return True, False
        return False, None
    if kind == "date":
        if isinstance(value, pd.Timestamp):
            return (True, value.date()) if value == value.normalize() else (False, None)
        if isinstance(value, dt.datetime):
            return False, None
        if isinstance(value, dt.date):
            return True, value
        if isinstance(value, str) and _DATE_RE.match(value):
            try:
                return True, dt.date.fromisoformat(value)
            except ValueError:
                return False, None
        return False, None
    return False, None


def old_coerce(table: str, schema: dict, frame: pd.DataFrame) -> tuple[pd.DataFrame, set[tuple]]:
    failures = set()
    out = {}
    for field in schema["fields"]:
        name, kind = field["name"], field["type"]
        dtype = _schemas.pandas_dtype(field)
        parsed = []
        for label, value in zip(frame.index, frame[name].tolist()):
            if isinstance(value, str) and value == "":
                value = None
            if _is_null(value):
                parsed.append(None)
                continue
            if isinstance(value, str) and value != value.strip():
                failures.add(("whitespace", name, label, value))
            ok, cell = _parse_cell(kind, value)
            if not ok:
                failures.add((f"type:{kind}", name, label, str(value)))
                cell = None
            parsed.append(cell)
        if kind == "date":
            out[name] = pd.to_datetime(pd.Series(parsed, index=frame.index, dtype="object")).astype(dtype)
        else:
            out[name] = pd.Series(pd.array(parsed, dtype=dtype), index=frame.index)
    return pd.DataFrame(out, index=frame.index), failures


def old_matches(s: pd.Series, rx: re.Pattern[str]) -> list[bool]:
    return [_is_null(v) or bool(rx.fullmatch(v)) for v in s.tolist()]


def old_fk(d: pd.DataFrame, fields: list[str], tgt: pd.DataFrame, ref_fields: list[str]) -> list[bool]:
    keys = set(map(tuple, tgt[ref_fields].astype(object).itertuples(index=False, name=None)))
    rows = d[fields].astype(object).itertuples(index=False, name=None)
    return [any(_is_null(v) for v in r) or tuple(r) in keys for r in rows]


def old_no_parent_cycle(d: pd.DataFrame) -> list[bool]:
    parent = {k: p for k, p in zip(d["chokepoint_id"].tolist(), d["parent_id"].tolist()) if isinstance(k, str)}
    out = []
    for key in d["chokepoint_id"].tolist():
        seen, node, ok = set(), key, True
        while isinstance(node, str):
            if node in seen:
                ok = False
                break
            seen.add(node)
            node = parent.get(node)
            if not isinstance(node, str):
                break
        out.append(ok)
    return out


def old_target_after_announcement(policies: pd.DataFrame, d: pd.DataFrame) -> list[bool]:
    announced = {}
    for pid, date in zip(policies["policy_id"].tolist(), policies["announced"].tolist()):
        if isinstance(pid, str) and not pd.isna(date):
            announced[pid] = pd.Timestamp(date).year
    out = []
    for pid, year in zip(d["policy_id"].tolist(), d["target_year"].tolist()):
        start = announced.get(pid) if isinstance(pid, str) else None
        out.append(start is None or pd.isna(year) or int(year) >= start)
    return out


def old_targets_not_lower(d: pd.DataFrame) -> list[bool]:
    ok = pd.Series(True, index=d.index)
    keyed = d.dropna(subset=["target_year", "target_value"])
    for _, group in keyed.groupby(_invariants.TARGET_SERIES, dropna=False, observed=True):
        group = group.sort_values("target_year")
        running = group["target_value"].cummax()
        bad = group["target_value"] < running
        ok.loc[bad[bad].index] = False
    return ok.tolist()


def old_published_not_after_accessed(d: pd.DataFrame) -> list[bool]:
    out = []
    for pub, acc in zip(d["published"].tolist(), d["accessed"].tolist()):
        if not isinstance(pub, str) or pd.isna(acc):
            out.append(True)
            continue
        acc_text = pd.Timestamp(acc).strftime("%Y-%m-%d")
        out.append(pub <= acc_text[: len(pub)])
    return out


def old_locator_words(d: pd.DataFrame) -> list[bool]:
    return (d["locator"].isna() | (d["locator"].str.split().str.len() <= _invariants.MAX_LOCATOR_WORDS)).fillna(True).tolist()


# --- strategies --------------------------------------------------------------------------------

ASCII_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
WORDY = st.text(st.sampled_from(list("ab 中é\u3000\xa0-")), max_size=70)
NONE = st.sampled_from([None, np.nan, pd.NA, ""])


def _number_text(x: float) -> str:
    return repr(x) if abs(x) > 1e-300 or x == 0 else "0"


CELLS = {
    "string": st.one_of(ASCII_TEXT, WORDY, NONE, st.integers(-5, 5), st.floats(-1, 1, allow_nan=False), st.booleans()),
    "integer": st.one_of(st.integers(-10**12, 10**12).map(str), st.integers(0, 999).map(lambda i: f"+{i:04d}"),
                         ASCII_TEXT, NONE, st.integers(-10**12, 10**12), st.booleans(),
                         st.floats(-1e6, 1e6, allow_nan=False).filter(lambda x: x == x), st.sampled_from([" 12", "1,000", "1.0", "12e3"])),
    "number": st.one_of(st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False).map(_number_text),
                        st.sampled_from(["1.", ".5", "+3", "-0.0", "12%", "1,5", "0x10", " 1", "1e5", "00.25", "nan", "inf"]),
                        ASCII_TEXT, NONE, st.integers(-10**9, 10**9), st.floats(-1e9, 1e9, allow_nan=False), st.booleans()),
    "boolean": st.one_of(st.sampled_from(["true", "True", "TRUE", "false", "False", "FALSE", "yes", "1", "t", " true"]),
                         st.booleans(), NONE, st.integers(0, 1)),
    "date": st.one_of(st.dates(dt.date(1700, 1, 1), dt.date(2200, 12, 31)).map(str),
                      st.sampled_from(["2023-02-29", "2024-02-29", "2020-13-01", "2020-1-1", "2020-01-00", "20200101", " 2020-01-01"]),
                      st.dates(dt.date(1700, 1, 1), dt.date(2200, 12, 31)),
                      st.datetimes(dt.datetime(1700, 1, 1), dt.datetime(2200, 1, 1)).map(pd.Timestamp),
                      ASCII_TEXT, NONE),
}
SCHEMA = {"fields": [{"name": k, "type": k} for k in CELLS], "primaryKey": []}


@st.composite
def loose_frames(draw, big: bool = False):
    n = draw(st.integers(1, 30))
    cols = {k: draw(st.lists(cells, min_size=n, max_size=n)) for k, cells in CELLS.items()}
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in cols.items()})
    if big:
        frame = pd.concat([frame] * (BIG // n + 1), ignore_index=True)
    return frame


def _same(new_typed: pd.DataFrame, old_typed: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(new_typed, old_typed, check_exact=True)


@SETTINGS
@given(loose_frames())
def test_coercion_matches_the_cell_by_cell_oracle(frame):
    typed, failures = coerce_frame("t", SCHEMA, frame)
    old_typed, old_failures = old_coerce("t", SCHEMA, frame)
    _same(typed, old_typed)
    assert {(f.rule, f.column, f.row, f.value) for f in failures} == old_failures


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(loose_frames(big=True))
def test_coercion_of_long_repetitive_columns_matches_the_oracle(frame):
    typed, failures = coerce_frame("t", SCHEMA, frame)
    old_typed, old_failures = old_coerce("t", SCHEMA, frame)
    _same(typed, old_typed)
    assert {(f.rule, f.column, f.row, f.value) for f in failures} == old_failures


@SETTINGS
@given(loose_frames())
def test_coercion_of_typed_and_arrow_columns_matches_text(frame):
    """A column handed over typed (pandas nullable, or Arrow) gives what its text gives."""
    typed, first = coerce_frame("t", SCHEMA, frame)
    typed.attrs = {}
    kept = {(f.rule, f.row) for f in first if f.rule == "whitespace" and f.column == "string"}  # text is kept as given
    again, failures = coerce_frame("t", SCHEMA, typed)
    assert {(f.rule, f.row) for f in failures} == kept
    _same(again, typed)
    import pyarrow as pa

    from_arrow, failures = coerce_frame("t", SCHEMA, pa.Table.from_pandas(typed, preserve_index=False))
    assert {(f.rule, f.row) for f in failures} == kept
    _same(from_arrow, typed.reset_index(drop=True))


# --- the checks --------------------------------------------------------------------------------

def _text(values: list) -> pd.Series:
    return pd.Series(pd.array(values, dtype=pd.StringDtype()))


PATTERNS = sorted({f["constraints"]["pattern"] for s in ("sources", "chokepoints", "policies", "indicators")
                   for f in _loader.table_schema(s)["fields"]
                   if "pattern" in f.get("constraints", {})})
PATTERN_TEXT = st.one_of(st.none(), st.text(st.sampled_from(list("az09-AZ:/.hpst \t\u3000中é٣")), max_size=20),
                         st.sampled_from(["https://a.b/c", "http://x", "abc-def", "2024-05", "2024-13", "CHN", "zh", "a--b"]))


@SETTINGS
@given(st.sampled_from(PATTERNS), st.lists(PATTERN_TEXT, max_size=30))
def test_pattern_matches_python_re(pattern, values):
    rx = re.compile(pattern)
    for vals in ([*values], [*values] * (BIG // max(1, len(values)) + 1) if len(values) > 20 else []):
        s = _text(vals)
        assert _schemas._matches(s, rx).tolist() == old_matches(s, rx)


@SETTINGS
@given(st.lists(st.one_of(st.none(), st.text(st.sampled_from(list("ab中é😀 ")), max_size=12)), max_size=30),
       st.integers(0, 10))
def test_max_length_counts_characters(values, n):
    for vals in ([*values], [*values] * (BIG // max(1, len(values)) + 1) if len(values) > 20 else []):
        s = _text(vals)
        old = (s.isna() | (s.str.len() <= n)).fillna(True).tolist()
        assert _schemas._short_enough(s, n).tolist() == old


KEYS = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]))


@SETTINGS
@given(st.integers(1, 2), st.lists(st.tuples(KEYS, KEYS), max_size=25), st.lists(st.tuples(KEYS, KEYS), max_size=10))
def test_foreign_keys_resolve_as_python_sets_say(width, rows, targets):
    cols = ["x", "y"][:width]
    d = pd.DataFrame({c: _text([r[i] for r in rows]) for i, c in enumerate(cols)})
    t = pd.DataFrame({c: _text([r[i] for r in targets]) for i, c in enumerate(cols)})
    assert _schemas._resolves(d, cols, t, cols).tolist() == old_fk(d, cols, t, cols)


@SETTINGS
@given(st.lists(st.tuples(KEYS, st.one_of(st.none(), st.integers(1, 3))), max_size=30))
def test_uniqueness_and_group_codes_match_pandas(rows):
    d = pd.DataFrame({"x": _text([r[0] for r in rows]), "y": pd.array([r[1] for r in rows], dtype="Int64")})
    assert _schemas._unique_rows(d, ["x", "y"]).tolist() == (~d.duplicated(subset=["x", "y"], keep=False)).tolist()
    assert _schemas._unique_or_null(d, "x").tolist() == (~(d["x"].notna() & d["x"].duplicated(keep=False))).tolist()
    codes = _columns.group_codes(d, ["x", "y"])
    keys = list(zip(d["x"].astype(object).where(d["x"].notna(), None), d["y"].astype(object).where(d["y"].notna(), None)))
    for i in range(len(d)):
        for j in range(len(d)):
            assert (codes[i] == codes[j]) == (keys[i] == keys[j])


IDS = st.one_of(st.none(), st.sampled_from(list("abcdef")))


@SETTINGS
@given(st.lists(st.tuples(IDS, st.one_of(IDS, st.just("zz"))), max_size=12))
def test_parent_cycles_match_walking_the_chain(rows):
    d = pd.DataFrame({"chokepoint_id": _text([r[0] for r in rows]), "parent_id": _text([r[1] for r in rows])})
    assert _invariants._no_parent_cycle(d).tolist() == old_no_parent_cycle(d)


YEAR = st.one_of(st.none(), st.integers(1995, 2035))


@SETTINGS
@given(st.lists(st.tuples(IDS, st.one_of(st.none(), st.dates(dt.date(1995, 1, 1), dt.date(2035, 1, 1)))), max_size=8),
       st.lists(st.tuples(IDS, YEAR), max_size=15))
def test_target_after_announcement_matches_the_loop(policies, targets):
    p = pd.DataFrame({"policy_id": _text([r[0] for r in policies]),
                      "announced": pd.to_datetime(pd.Series([r[1] for r in policies], dtype=object)).astype("datetime64[ns]")})
    d = pd.DataFrame({"policy_id": _text([r[0] for r in targets]), "target_year": pd.array([r[1] for r in targets], dtype="Int64")})
    assert _invariants._target_after_announcement({"policies": p})(d).tolist() == old_target_after_announcement(p, d)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["p", "q"]), st.sampled_from(["s", None]), YEAR,
                          st.one_of(st.none(), st.floats(0, 1))), max_size=15))
def test_targets_not_lower_matches_the_group_loop(rows):
    d = pd.DataFrame({
        "policy_id": _text([r[0] for r in rows]), "scope": _text([r[1] for r in rows]),
        "chokepoint_id": _text([None] * len(rows)), "metric": _text(["m"] * len(rows)), "unit": _text(["share"] * len(rows)),
        "target_year": pd.array([r[2] for r in rows], dtype="Int64"), "target_value": pd.array([r[3] for r in rows], dtype="Float64"),
    })
    keyed = d.dropna(subset=["target_year", "target_value"])
    if keyed.duplicated(subset=[*_invariants.TARGET_SERIES, "target_year"]).any():
        return  # two targets of one series for one year: the old loop's answer depended on sort order
    assert _invariants._targets_not_lower(d).tolist() == old_targets_not_lower(d)


@SETTINGS
@given(st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(["2020", "2020-05", "2020-05-17", "2021-01", "2019-12-31", "x", ""])),
                          st.one_of(st.none(), st.dates(dt.date(2019, 12, 1), dt.date(2021, 2, 1)))), max_size=20))
def test_published_not_after_accessed_matches_the_loop(rows):
    d = pd.DataFrame({"published": _text([r[0] for r in rows]),
                      "accessed": pd.to_datetime(pd.Series([r[1] for r in rows], dtype=object)).astype("datetime64[ns]")})
    assert _invariants._published_not_after_accessed(d).tolist() == old_published_not_after_accessed(d)


WORDS = st.lists(st.sampled_from(["w", "wörd", "中文", "x"]), max_size=30).flatmap(
    lambda ws: st.sampled_from([" ", "\u3000", "\t", "  ", "\xa0"]).map(lambda sep: sep.join(ws)))


@SETTINGS
@given(st.lists(st.one_of(st.none(), WORDS), max_size=20))
def test_locator_words_match_str_split(values):
    for vals in ([*values], [*values] * (BIG // max(1, len(values)) + 1) if len(values) > 15 else []):
        d = pd.DataFrame({"locator": _text(vals)})
        assert _invariants._locator_words(d).tolist() == old_locator_words(d)


@SETTINGS
@given(st.lists(st.one_of(st.none(), st.sampled_from(["CHN", "USA", "ZZZ", "chn", "", "NLD", "XKX"])), max_size=20))
def test_country_codes_match_the_set(values):
    s = _text(values)
    codes = _invariants._iso3_codes()
    assert _invariants._valid_iso3(s).tolist() == [v is None or v in codes for v in values]


def test_the_oracle_itself_catches_what_it_should():
    """A guard against an oracle that agrees with anything."""
    d = pd.DataFrame({"chokepoint_id": _text(["a", "b"]), "parent_id": _text(["b", "a"])})
    assert old_no_parent_cycle(d) == [False, False]
    frame = pd.DataFrame({"number": pd.Series(["12%", "0.5"], dtype=object)})
    _, failures = old_coerce("t", {"fields": [{"name": "number", "type": "number"}]}, frame)
    assert failures == {("type:number", "number", 0, "12%")}


@pytest.mark.parametrize("value", ["a b", "ab"])
def test_whitespace_list_is_pythons(value):
    from chokepoint_data.rules._text import WHITESPACE

    assert WHITESPACE == "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def old_market_id_is_key(d: pd.DataFrame) -> list[bool]:
    parts = [d[c].astype("string") for c in _invariants.MARKET_KEY]
    expected = parts[0].str.cat(parts[1:], sep=":")
    return (d["market_id"].isna() | expected.isna() | (d["market_id"] == expected)).fillna(True).astype(bool).tolist()


PART = st.one_of(st.none(), st.sampled_from(["a", "b", "a:b"]))


@SETTINGS
@given(st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(["a:2020:a:a:a:a", "a:2020:b:a:a:a", "x", ""])),
                          PART, st.one_of(st.none(), st.sampled_from([2020, 2021])), PART, PART, PART, PART), max_size=15))
def test_market_id_is_key_matches_text_concatenation(rows):
    cols = ["market_id", *_invariants.MARKET_KEY]
    d = pd.DataFrame({c: (pd.array([r[i] for r in rows], dtype="Int64") if c == "year" else _text([r[i] for r in rows]))
                      for i, c in enumerate(cols)})
    assert _invariants._market_id_is_key(d).tolist() == old_market_id_is_key(d)
