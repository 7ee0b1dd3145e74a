"""Parsing: one Arrow array -> the Arrow type of a Table Schema kind, every bad cell reported.

Text cells are parsed strictly with Arrow and numpy kernels (integers are ASCII digits with
an optional sign; numbers plain finite decimals, a non-zero literal that would underflow to 0
refused; booleans true/false; dates ISO ``YYYY-MM-DD`` within ``datetime64[ns]``); typed
cells are converted where the kind allows it. What failed is collected in an ``_Out``, which
``_coerce`` turns into ``Failures``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._text import np_mask as _np_mask

__all__ = ["EXPECTED", "DATE_MIN", "DATE_MAX", "ZONED"]

EXPECTED = {
    "string": "text",
    "integer": "a whole number (digits only, no separators)",
    "number": "a plain decimal number (no %, no thousands separators; shares as fractions)",
    "boolean": "true or false",
    "date": "an ISO date YYYY-MM-DD",
}
#: Why a zone-aware timestamp is refused in a date column (one rule, for columns and cells).
ZONED = ("a timestamp with a time zone names an instant, not a calendar day (its day depends on the zone); "
         "give the day as YYYY-MM-DD (or a date, or a timestamp without a zone at midnight)")
#: Whole days that datetime64[ns] holds.
DATE_MIN = np.datetime64("1677-09-22", "D")
DATE_MAX = np.datetime64("2262-04-11", "D")

# Python's str.isspace() characters (tests/test_coerce.py checks this list against Python).
_TRUE = ["true", "True", "TRUE"]
_FALSE = ["false", "False", "FALSE"]
_INT_RX = r"^[+-]?[0-9]+$"
_NUM_RX = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_ZERO_RX = r"^[+-]?(0+(\.0*)?|\.0+)([eE][+-]?[0-9]+)?$"
_DATE_RX = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_PERCENT = re.compile(r"\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*%\s*", re.ASCII)
_INT_PY = re.compile(_INT_RX, re.ASCII)
_NUM_PY = re.compile(_NUM_RX, re.ASCII)
_ZERO_PY = re.compile(_ZERO_RX, re.ASCII)
_DATE_PY = re.compile(_DATE_RX, re.ASCII)
# string_view arrived in pyarrow 16; the declared floor is 15, where no column can have that type
_TEXT_TYPES = tuple(f for f in (pa.types.is_string, pa.types.is_large_string,
                                getattr(pa.types, "is_string_view", None)) if f is not None)


class _Out:
    """What coercing one column found: (rule, positions, values, message(s), nulled) per problem.

    ``nulled`` marks problems whose cells are null in the typed result because they did not parse.
    """

    def __init__(self) -> None:
        self.problems: list[tuple[str, np.ndarray, list[str], Any, bool]] = []

    def add(self, rule: str, positions: Any, values: list[str], message: Any, *, nulls: bool = False) -> None:
        if len(positions):
            self.problems.append((rule, np.asarray(positions, dtype=np.int64), values, message, nulls))

    def unparsed(self) -> np.ndarray:
        parts = [p for _, p, _, _, nulled in self.problems if nulled]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def _texts(a: pa.Array, positions: np.ndarray) -> list[str]:
    return [str(v) for v in a.take(pa.array(positions, type=pa.int64())).to_pylist()]


def _is_text(t: pa.DataType) -> bool:
    return any(f(t) for f in _TEXT_TYPES)


def _percent_hint(value: str) -> str | None:
    m = _PERCENT.fullmatch(value)
    if not m:
        return None
    try:
        fraction = Decimal(m.group(1)) / 100
    except InvalidOperation:  # pragma: no cover - the pattern only lets decimals through
        return None
    text = format(fraction.normalize(), "f")
    return f"{EXPECTED['number']}; {value.strip()} looks like a percentage, and shares are fractions: {value.strip()} is {text}"


def _type_failure(kind: str, a: pa.Array, pos: np.ndarray, out: _Out) -> None:
    values = _texts(a, pos)
    if kind == "number":
        messages: Any = [(_percent_hint(v) or f"expected {EXPECTED[kind]}") for v in values]
        messages = [m if m.startswith("expected") else f"expected {m}" for m in messages]
    else:
        messages = f"expected {EXPECTED[kind]}"
    out.add(f"type:{kind}", pos, values, messages, nulls=True)


def _from_text(kind: str, a: pa.Array, present: np.ndarray, out: _Out) -> pa.Array:
    """Parse non-null, non-empty text cells (``present``) as ``kind``; nulls elsewhere."""
    if kind == "integer":
        ok = present & _np_mask(pc.match_substring_regex(a, _INT_RX))
        digits = pc.binary_length(a).to_numpy(zero_copy_only=False)
        small = ok & (np.nan_to_num(digits, nan=0) <= 18)
        big = np.flatnonzero(ok & ~small)
        vals = pc.cast(pc.if_else(pa.array(small), pc.utf8_ltrim(a, characters="+"), None), pa.int64())
        result = pc.fill_null(vals, 0).to_numpy(zero_copy_only=False).copy()
        valid = small.copy()
        out_of_range = []
        for p, text in zip(big, _texts(a, big)):
            v = int(text)
            if -(2**63) <= v < 2**63:
                result[p], valid[p] = v, True
            else:
                out_of_range.append(p)
        _type_failure(kind, a, np.flatnonzero(present & ~ok), out)
        pos = np.asarray(out_of_range, dtype=np.int64)
        out.add("integer:range", pos, _texts(a, pos), "the number is out of the range of a 64-bit integer", nulls=True)
        return pa.array(result, type=pa.int64(), mask=~valid)
    if kind == "number":
        ok = present & _np_mask(pc.match_substring_regex(a, _NUM_RX))
        vals = pc.cast(pc.if_else(pa.array(ok), a, None), pa.float64())
        x = pc.fill_null(vals, 0.0).to_numpy(zero_copy_only=False)
        overflow = ok & ~np.isfinite(x)
        underflow = ok & (x == 0) & ~_np_mask(pc.match_substring_regex(a, _ZERO_RX))
        _type_failure(kind, a, np.flatnonzero(present & ~ok), out)
        pos = np.flatnonzero(overflow)
        out.add("number:finite", pos, _texts(a, pos), "the number is too large for a 64-bit float (it would become infinity)", nulls=True)
        pos = np.flatnonzero(underflow)
        out.add("number:underflow", pos, _texts(a, pos), "a non-zero number too small for a 64-bit float (it would become 0)", nulls=True)
        return pa.array(x, type=pa.float64(), mask=~(ok & ~overflow & ~underflow))
    if kind == "boolean":
        t = present & _np_mask(pc.is_in(a, value_set=pa.array(_TRUE)))
        f = present & _np_mask(pc.is_in(a, value_set=pa.array(_FALSE)))
        _type_failure(kind, a, np.flatnonzero(present & ~t & ~f), out)
        return pa.array(t, type=pa.bool_(), mask=~(t | f))
    if kind == "date":
        ok = present & _np_mask(pc.match_substring_regex(a, _DATE_RX))
        safe = pc.if_else(pa.array(ok), a, "1970-01-01")
        y = pc.cast(pc.utf8_slice_codeunits(safe, 0, 4), pa.int64()).to_numpy(zero_copy_only=False)
        m = pc.cast(pc.utf8_slice_codeunits(safe, 5, 7), pa.int64()).to_numpy(zero_copy_only=False)
        d = pc.cast(pc.utf8_slice_codeunits(safe, 8, 10), pa.int64()).to_numpy(zero_copy_only=False)
        leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
        month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
        mm = np.clip(m, 0, 12)
        days_in = month_days[mm] + ((mm == 2) & leap)
        ok &= (y >= 1) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= days_in)
        _type_failure(kind, a, np.flatnonzero(present & ~ok), out)
        day = (np.where(ok, y - 1970, 0) * 12 + np.where(ok, m - 1, 0)).astype("datetime64[M]").astype("datetime64[D]")
        day = day + np.where(ok, d - 1, 0).astype("timedelta64[D]")
        return _dates_in_range(day, ok, a, out)
    # string: only empty cells change (to null)
    empty = present ^ _np_mask(pc.is_valid(a))
    return pc.if_else(pa.array(empty), pa.scalar(None, a.type), a) if empty.any() else a


def _dates_in_range(day: np.ndarray, ok: np.ndarray, given: pa.Array, out: _Out) -> pa.Array:
    """Days (datetime64[D]) -> timestamp[ns]; days outside datetime64[ns] are refused."""
    outside = ok & ((day < DATE_MIN) | (day > DATE_MAX))
    pos = np.flatnonzero(outside)
    out.add("date:range", pos, _texts(given, pos),
            f"date outside {DATE_MIN}..{DATE_MAX}, the range of the datetime64[ns] dates this package stores",
            nulls=True)
    good = ok & ~outside
    ns = np.where(good, day, np.datetime64("1970-01-01", "D")).astype("datetime64[ns]")
    return pa.array(ns, type=pa.timestamp("ns"), mask=~good)


# --- typed values ------------------------------------------------------------------------

def _from_typed(kind: str, a: pa.Array, out: _Out) -> pa.Array:
    """Convert a typed (non-text) Arrow array; cells of another kind are type failures."""
    t = a.type
    n = len(a)
    valid = _np_mask(pc.is_valid(a))
    if pa.types.is_null(t):
        return pa.nulls(n, _ARROW[kind])
    is_int = pa.types.is_integer(t)
    is_float = pa.types.is_floating(t) or pa.types.is_decimal(t)
    if kind == "integer" and (is_int or is_float):
        if is_int:
            if pa.types.is_unsigned_integer(t):
                too_big = valid & _np_mask(pc.greater(a, pa.scalar(2**63 - 1, pa.uint64())))
                pos = np.flatnonzero(too_big)
                out.add("integer:range", pos, _texts(a, pos), "the number is out of the range of a 64-bit integer", nulls=True)
                a = pc.if_else(pa.array(too_big), pa.scalar(None, t), a)
            return a.cast(pa.int64())
        x = pc.fill_null(a.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(x) & (np.floor(x) == x) & (np.abs(x) < 2.0**63)
        _type_failure(kind, a, np.flatnonzero(valid & ~whole), out)
        return pa.array(np.where(whole, x, 0).astype(np.int64), type=pa.int64(), mask=~(valid & whole))
    if kind == "number" and (is_int or is_float):
        x = pc.fill_null(a.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        bad = valid & ~np.isfinite(x)
        pos = np.flatnonzero(bad)
        out.add("number:finite", pos, _texts(a, pos), "a number must be finite (not infinity or NaN)", nulls=True)
        return pa.array(np.where(bad, 0.0, x), type=pa.float64(), mask=~(valid & ~bad))
    if kind == "boolean" and pa.types.is_boolean(t):
        return a
    if kind == "date" and pa.types.is_timestamp(t) and t.tz is not None:
        pos = np.flatnonzero(valid)
        out.add("type:date", pos, _texts(a, pos), ZONED, nulls=True)
        return pa.nulls(n, _ARROW[kind])
    if kind == "date" and (pa.types.is_date(t) or pa.types.is_timestamp(t)):
        if pa.types.is_timestamp(t):
            us = a.cast(pa.timestamp(t.unit, None)).cast(pa.int64())
            per_day = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}[t.unit]
            raw = pc.fill_null(us, 0).to_numpy(zero_copy_only=False)
            midnight = raw % per_day == 0
            _type_failure(kind, a, np.flatnonzero(valid & ~midnight), out)
            day = (raw // per_day).astype("datetime64[D]")
            return _dates_in_range(day, valid & midnight, a, out)
        days = pc.fill_null(a.cast(pa.date32()).cast(pa.int32()), 0).to_numpy(zero_copy_only=False)
        return _dates_in_range(days.astype("datetime64[D]"), valid, a, out)
    if kind == "string" and pa.types.is_dictionary(t):  # pragma: no cover - dictionaries are decoded earlier
        return a.cast(pa.large_string())
    _type_failure(kind, a, np.flatnonzero(valid), out)
    return pa.nulls(n, _ARROW[kind])


_ARROW = {"string": pa.large_string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_(),
          "date": pa.timestamp("ns")}
