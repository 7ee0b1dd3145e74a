"""Coercion: a given frame (pandas, or Arrow) -> the canonical typed pandas frame of a Table Schema.

Column by column and vectorised. Each column is looked at as an Arrow array (no copy where
pandas already holds Arrow or numpy data), parsed with Arrow and numpy kernels, and the bad
cells are found by comparing what failed to convert with what was given. Only the cells of
an object column that are neither text nor a plain typed value are looked at one by one.

Strict on purpose, and the same for text and typed input (the parsing itself is ``_parse``): integers are ASCII digits with an
optional sign; numbers are plain decimals (no %, no thousands separators, no ``inf`` or
``nan``), finite, and a non-zero literal must not underflow to 0; booleans are true/false;
dates are ISO ``YYYY-MM-DD`` within the range of ``datetime64[ns]`` (a timestamp with a time zone is
refused, as a cell or a column: it names an instant, not a day). Empty text is null.
Text must not start or end with white space, and must not hold control characters (tab and
newline are allowed in the free-text columns of ``MULTILINE``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._failures import Failure, Failures
from ._keys import key_texts
from ._parse import _ARROW, DATE_MAX, DATE_MIN, EXPECTED, ZONED, _from_text, _from_typed, _is_text, _Out, _texts
from ._columns import pandas_dtype
from ._text import (CONTROL, MULTILINE, NAME_COLUMNS, barred_invisible, control_names, invisible_flags,
                    invisible_names, is_id_column, np_mask as _np_mask, text_flags)

__all__ = ["UNPARSED", "coerce_frame", "EXPECTED", "DATE_MIN", "DATE_MAX"]

#: ``typed.attrs`` key listing, per column, the positions of cells that failed to parse (and
#: are null in the typed frame for that reason), so ``required`` is not reported twice.
UNPARSED = "chokepoint_data.unparsed"


def _text_checks(a: pa.Array, name: str, out: _Out, *, check_control: bool) -> np.ndarray:
    """Report white space and control characters; return the mask of empty cells."""
    allow = "\t\n" if name in MULTILINE else ""
    n = len(a)
    dictionary = None
    if n > 20_000:
        probe = a.slice(0, 10_000)
        if pc.count_distinct(probe).as_py() < 2_500:
            dictionary = pc.dictionary_encode(a)
    if dictionary is not None:
        uniques, codes = dictionary.dictionary, dictionary.indices
        ws_u, ctrl_u = text_flags(uniques, allow)
        empty_u = _np_mask(pc.equal(uniques, ""))
        idx = pc.fill_null(codes, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        take = np.where(idx >= 0, idx, 0)
        known = idx >= 0
        ws = known & ws_u[take] if len(uniques) else np.zeros(n, bool)
        ctrl = known & ctrl_u[take] if len(uniques) else np.zeros(n, bool)
        empty = known & empty_u[take] if len(uniques) else np.zeros(n, bool)
    else:
        ws, ctrl = text_flags(a, allow)
        empty = _np_mask(pc.equal(a, ""))
    pos = np.flatnonzero(ws & ~empty)
    out.add("whitespace", pos, _texts(a, pos), "text has leading or trailing white space")
    if check_control:
        pos = np.flatnonzero(ctrl)
        values = _texts(a, pos)
        where = "in any column" if allow else f"here; tab and newline only in the free-text columns ({', '.join(sorted(MULTILINE))})"
        barred, said = CONTROL.difference(allow), {}  # one message per set of characters found
        messages = []
        for v in values:
            found = frozenset(barred.intersection(v))
            if found not in said:
                said[found] = f"text holds a control character ({control_names(v, allow)}); control characters are not allowed {where}"
            messages.append(said[found])
        out.add("control_character", pos, values, messages)
        barred = barred_invisible(name)
        pos = np.flatnonzero(invisible_flags(a, barred))
        values = _texts(a, pos)
        kind_of = "an id" if is_id_column(name) else "a name" if name in NAME_COLUMNS else "text"
        allowed = " but U+200C and U+200D, which some scripts need" if kind_of == "a name" else ""
        out.add("invisible_character", pos, values,
                [f"text holds an invisible or direction-control character ({invisible_names(v, barred)}), "
                 f"which can make it look like other text; {kind_of} may hold none{allowed}: remove it" for v in values])
    return empty


#: Text columns whose cells average more bytes than this (free text: titles, notes, quotes)
#: stay in the chunks they came in (a Parquet file gives one per row group), so that checking
#: them does not copy them; short text (ids, codes) is joined into one array, which the rules
#: that hash it read many times.
LONG_TEXT_BYTES = 64


def _convert_chunks(kind: str, name: str, a: pa.ChunkedArray, out: _Out) -> pa.ChunkedArray:
    """``_convert`` chunk by chunk, positions of problems counted from the column's start."""
    results, start = [], 0
    for chunk in a.chunks:
        found = _Out()
        results.append(_convert(kind, name, chunk, found).cast(pa.large_string()))
        for rule, positions, values, message, nulled in found.problems:
            out.add(rule, positions + start, values, message, nulls=nulled)
        start += len(chunk)
    return pa.chunked_array(results, type=pa.large_string())


def _convert(kind: str, name: str, a: pa.Array, out: _Out) -> pa.Array:
    """One Arrow column -> the Arrow type of ``kind``, reporting every bad cell."""
    if isinstance(a, pa.ChunkedArray):
        if (kind == "string" and a.num_chunks > 1 and _is_text(a.type)
                and a.nbytes > (LONG_TEXT_BYTES + 8) * max(1, len(a))):
            return _convert_chunks(kind, name, a, out)
        a = a.combine_chunks() if a.num_chunks != 1 else a.chunk(0)
    if pa.types.is_dictionary(a.type):
        return _convert_dictionary(kind, name, a, out)
    if _is_text(a.type):
        if not pa.types.is_large_string(a.type):
            a = a.cast(pa.large_string())
        empty = _text_checks(a, name, out, check_control=kind == "string")
        present = _np_mask(pc.is_valid(a)) & ~empty
        return _from_text(kind, a, present, out)
    return _from_typed(kind, a, out)


def _convert_dictionary(kind: str, name: str, a: pa.DictionaryArray, out: _Out) -> pa.Array:
    """Check each distinct value once, then spread the result over the rows."""
    inner = _Out()
    converted = _convert(kind, name, a.dictionary, inner)
    codes = pc.fill_null(a.indices.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)
    for rule, positions, values, message, nulled in inner.problems:
        rows = np.flatnonzero(np.isin(codes, positions))
        at = codes[rows].tolist()
        value_of = dict(zip(positions.tolist(), values))
        if isinstance(message, list):
            message_of = dict(zip(positions.tolist(), message))
            message = [message_of[c] for c in at]
        out.add(rule, rows, [value_of[c] for c in at], message, nulls=nulled)
    return pc.take(converted, pa.array(np.where(codes >= 0, codes, 0), mask=codes < 0))


# --- pandas and object columns -------------------------------------------------------------

def _parse_object_cell(kind: str, value: Any) -> tuple[bool, Any]:
    """(ok, value) for one non-null, non-text Python object of an object column."""
    if isinstance(value, (bool, np.bool_)):
        return (True, bool(value)) if kind == "boolean" else (False, None)
    if kind in ("integer", "number") and isinstance(value, (int, float, np.integer, np.floating)):
        try:
            x = float(value)
        except OverflowError:  # an int past a 64-bit float's range
            return False, None
        if kind == "number":
            return (True, x) if np.isfinite(x) else (False, None)
        if isinstance(value, (int, np.integer)) and -(2**63) <= int(value) < 2**63:
            return True, int(value)
        return (True, int(x)) if np.isfinite(x) and x.is_integer() and abs(x) < 2.0**63 else (False, None)
    if kind == "date":
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return False, ZONED
        if isinstance(value, (pd.Timestamp, np.datetime64)):
            value = pd.Timestamp(value)
            return (True, value.date()) if value == value.normalize() else (False, None)
        if isinstance(value, dt.datetime):
            return (True, value.date()) if value.time() == dt.time(0) else (False, None)
        if isinstance(value, dt.date):
            return True, value
    return False, None


def _object_column(kind: str, name: str, values: np.ndarray, out: _Out) -> pa.Array:
    """An object column of mixed Python values: text through Arrow, the rest cell by cell."""
    n = len(values)
    is_null = np.asarray(pd.isna(values), dtype=bool)
    is_str = np.fromiter((isinstance(v, str) for v in values), bool, n)
    if is_str.any():  # a lone surrogate ("a\ud800b") is not Unicode text: Arrow cannot hold it
        broken = [p for p in np.flatnonzero(is_str).tolist() if not _encodes(values[p])]
        if broken:
            out.add("text:unicode", broken, [ascii(values[p]) for p in broken],
                    "text holds a lone surrogate (half of a UTF-16 pair), which is not a character; "
                    "decode the source text correctly (e.g. with errors='strict') and give it again", nulls=True)
            values = values.copy()
            values[broken] = None
            is_str[broken] = False
            is_null[broken] = True
    text = pa.array(_only(values, is_str), type=pa.large_string(), from_pandas=True)
    from_text = _convert(kind, name, text, out)
    others = np.flatnonzero(~is_null & ~is_str)
    if not len(others):
        return from_text
    parsed: list[Any] = from_text.to_pylist()
    bad, outside, zoned = [], [], []
    for p in others.tolist():
        ok, v = _parse_object_cell(kind, values[p])
        if v is ZONED:
            zoned.append(p)
            ok, v = False, None
        elif kind == "date" and ok:
            day = np.datetime64(v, "D")
            if not DATE_MIN <= day <= DATE_MAX:
                outside.append(p)
                ok, v = False, None
            else:
                v = day.astype("datetime64[ns]")
        elif not ok:
            bad.append(p)
        parsed[p] = v if ok else None
    out.add(f"type:{kind}", bad, [str(values[p]) for p in bad], f"expected {EXPECTED[kind]}", nulls=True)
    out.add("type:date", zoned, [str(values[p]) for p in zoned], ZONED, nulls=True)
    out.add("date:range", outside, [str(values[p]) for p in outside],
            f"date outside {DATE_MIN}..{DATE_MAX}, the range of the datetime64[ns] dates this package stores", nulls=True)
    if kind == "date":
        return pa.array([None if v is None else np.datetime64(v, "ns") for v in parsed], type=pa.timestamp("ns"))
    return pa.array(parsed, type=_ARROW[kind])


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _only(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``values`` with None wherever ``keep`` is False (an object array)."""
    out = np.asarray(values, dtype=object).copy()
    out[~keep] = None
    return out


def _series_to_arrow(s: pd.Series) -> pa.Array | np.ndarray:
    """A pandas column as an Arrow array where that is cheap; an object ndarray otherwise."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        try:
            dictionary = pa.array(cats.to_numpy(dtype=object) if cats.dtype == object else cats.array, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            return np.asarray(s.astype(object), dtype=object)
        codes = s.cat.codes.to_numpy()
        return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), dictionary)
    if isinstance(dtype, np.dtype):
        if dtype.kind in "iub":
            return pa.array(s.to_numpy())
        if dtype.kind == "f":  # pandas' NaN is a missing value
            return pa.array(s.to_numpy(), from_pandas=True)
        if dtype.kind == "M":
            return pa.array(s.to_numpy(), from_pandas=True)
        values = s.to_numpy(dtype=object)
        inferred = pd.api.types.infer_dtype(values, skipna=True)
        if inferred in ("string", "empty"):
            try:
                return pa.array(values, type=pa.large_string(), from_pandas=True)
            except (pa.ArrowException, TypeError, ValueError):
                return values
        if inferred in ("date", "datetime") and any(getattr(v, "tzinfo", None) is not None for v in values):
            return values  # zone-aware cells: Arrow would move them to UTC; cell by cell they are refused
        if inferred == "date" and any(isinstance(v, dt.datetime) for v in values):
            # dates mixed with date-times (a datetime is a date): Arrow would read them all as
            # dates and drop the time of day, so they go cell by cell, where a time is refused
            return values
        if inferred in ("integer", "floating", "boolean", "date", "datetime", "datetime64"):  # not mixed: 0 stays "0"
            try:
                return pa.array(values, from_pandas=True)
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                return values
        return values
    try:  # pandas extension arrays (string, Int64, Float64, boolean, ArrowDtype) know their Arrow form
        arr = pa.array(s.array)
    except (pa.ArrowException, TypeError, ValueError, NotImplementedError):
        return np.asarray(s.astype(object), dtype=object)
    if pa.types.is_floating(arr.type):  # a NaN stored in Float64 is missing, as elsewhere in pandas
        arr = pc.if_else(pc.is_nan(arr), pa.scalar(None, arr.type), arr)
    return arr


def _column(kind: str, name: str, source: pa.Array | pa.ChunkedArray | np.ndarray, out: _Out) -> pa.Array:
    if isinstance(source, np.ndarray):
        return _object_column(kind, name, source, out)
    return _convert(kind, name, source, out)


def _to_pandas(kind: str, field: Mapping[str, Any], a: pa.Array, index: pd.Index) -> pd.Series:
    dtype = pandas_dtype(field)
    if kind == "string":
        if pa.types.is_null(a.type):
            a = pa.nulls(len(a), pa.large_string())
        series = pd.Series(pd.arrays.ArrowStringArray(a.cast(pa.large_string())), index=index, copy=False)
        # the storage load() gives in this pandas: pyarrow in pandas 3, python in pandas 2.x
        return series if series.dtype == dtype else series.astype(dtype)
    if kind == "date":
        return pd.Series(a.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False), index=index, dtype=dtype, copy=False)
    mask = _np_mask(pc.is_null(a))
    target = {"integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}[kind]
    fill = {"integer": 0, "number": 0.0, "boolean": False}[kind]
    values = pc.fill_null(a.cast(target), fill).to_numpy(zero_copy_only=False)
    if kind == "integer":
        arr: Any = pd.arrays.IntegerArray(values.astype(np.int64, copy=False), mask)
    elif kind == "number":
        arr = pd.arrays.FloatingArray(values.astype(np.float64, copy=False), mask)
    else:
        arr = pd.arrays.BooleanArray(values.astype(bool, copy=False), mask)
    return pd.Series(arr, index=index, copy=False)


# --- the frame -----------------------------------------------------------------------------

def _source_columns(frame: Any) -> tuple[list[str], Any, pd.Index]:
    """Column names, a getter (position -> Arrow array or object ndarray) and the row labels."""
    if isinstance(frame, pa.Table):
        return list(frame.column_names), frame.column, pd.RangeIndex(frame.num_rows)
    if isinstance(frame, pd.DataFrame):
        return [str(c) for c in frame.columns], lambda i: _series_to_arrow(frame.iloc[:, i]), frame.index
    raise TypeError(f"expected a pandas DataFrame or a pyarrow Table, not {type(frame).__name__}")


def coerce_frame(table: str, schema: Mapping[str, Any], frame: Any) -> tuple[pd.DataFrame, Failures]:
    """Turn ``frame`` (a pandas DataFrame or a pyarrow Table) into the canonical typed frame.

    Never changes ``frame``. Cells that do not parse become null in the result and are
    reported (and listed in ``result.attrs[UNPARSED]`` so that ``required`` is not reported
    for them again); missing columns are reported and filled with nulls (so every other
    rule can still run); extra columns are reported and dropped. The result keeps
    ``frame``'s index (a pyarrow Table gets 0..n-1).
    """
    failures = Failures()
    names = [f["name"] for f in schema["fields"]]
    present, get, index = _source_columns(frame)
    for col in present:
        if col not in names:
            failures.append(Failure(table, "columns:extra", f"column {col!r} is not in the table schema (expected: {', '.join(names)})", column=col))
    seen: set[str] = set()
    for col in present:
        if col in seen:
            failures.append(Failure(table, "columns:duplicate", f"column {col!r} appears more than once", column=col))
        seen.add(col)
    n = len(index)
    typed: dict[str, pd.Series] = {}
    found: list[tuple[str, _Out]] = []
    for field in schema["fields"]:
        name, kind = field["name"], str(field.get("type", "string"))
        if name not in seen:
            message = (f"required column {name!r} is missing" if (field.get("constraints") or {}).get("required")
                       else f"column {name!r} is missing (optional columns may be empty but must be present)")
            failures.append(Failure(table, "columns:missing", message, column=name))
            typed[name] = _to_pandas(kind, field, pa.nulls(n, _ARROW[kind]), index)
            continue
        out = _Out()
        typed[name] = _to_pandas(kind, field, _column(kind, name, get(present.index(name)), out), index)
        found.append((name, out))
    result = pd.DataFrame(typed, index=index, copy=False)
    pk = [c for c in (schema.get("primaryKey") or [])]
    given: dict[str, dict[int, str]] = {}
    for name, out in found:
        if name in pk:
            for _, positions, values, _, nulled in out.problems:
                if nulled:
                    given.setdefault(name, {}).update(zip(positions.tolist(), values))
    unparsed: dict[str, np.ndarray] = {}
    for name, out in found:
        if not out.problems:
            continue
        # one block per run of one rule, row by row as a reader goes through the file (one
        # block per column where a column breaks one rule): no Failure object per bad cell
        positions = np.concatenate([p for _, p, *_ in out.problems])
        problem = np.repeat(np.arange(len(out.problems)), [len(p) for _, p, *_ in out.problems])
        order = np.argsort(positions, kind="stable")
        positions, problem = positions[order], problem[order]
        values = [v for _, _, vs, *_ in out.problems for v in vs]
        messages = [m for _, p, _, msg, _ in out.problems for m in (msg if isinstance(msg, list) else [msg] * len(p))]
        values, messages = [values[i] for i in order.tolist()], [messages[i] for i in order.tolist()]
        labels = index.take(positions).tolist()
        keys = key_texts(pk, result, positions, given, arrow=True)
        starts = [0, *(np.flatnonzero(np.diff(problem)) + 1).tolist(), len(positions)]
        for start, end in zip(starts, starts[1:]):
            rule, _, _, message, _ = out.problems[problem[start]]
            if not isinstance(message, str):  # one message per cell
                message = messages[start:end]
            failures.add(table, rule, message, name, labels[start:end], keys[start:end], values[start:end])
        bad = out.unparsed()
        if len(bad):
            unparsed[name] = bad
    if unparsed:  # plain lists: attrs travel (into Arrow metadata, for one) and must stay JSON
        result.attrs[UNPARSED] = {name: positions.tolist() for name, positions in unparsed.items()}
    return result, failures
