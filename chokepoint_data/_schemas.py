"""The bridge: Table Schema (the declaration) -> typed frames, Arrow types and pandera schemas.

One table at a time. Table Schema says what a column is; this module turns that into
(1) a coercion from text or loosely typed frames to the canonical pandas dtypes, cell by
cell, recording every cell that does not fit, (2) the Arrow type a column is written as,
and (3) a pandera schema that checks types, required, unique, enum, minimum, maximum,
pattern, maxLength, primary key and foreign keys. Rules Table Schema cannot say live in
``_invariants``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa_arrow

from ._errors import Failure

if TYPE_CHECKING:  # pragma: no cover
    import pandera.pandas as pa

__all__ = [
    "CheckInfo",
    "Registry",
    "pandas_dtype",
    "arrow_type",
    "arrow_schema",
    "coerce_frame",
    "key_text",
    "pandera_schema",
    "to_presentation",
]

_INT_RE = re.compile(r"^[+-]?\d+$")
_NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


def _kind(field: Mapping[str, Any]) -> str:
    return str(field.get("type", "string"))


def _constraints(field: Mapping[str, Any]) -> Mapping[str, Any]:
    return field.get("constraints", {}) or {}


def enum_of(field: Mapping[str, Any]) -> list[str] | None:
    enum = _constraints(field).get("enum")
    return list(enum) if enum is not None else None


def pandas_dtype(field: Mapping[str, Any], *, categorical: bool = False) -> Any:
    """Canonical pandas dtype of a Table Schema field.

    With ``categorical=True`` an enumerated string field becomes a CategoricalDtype
    (ordered where the schema says ``categoriesOrdered``); the validation dtype is the
    plain string dtype so that an unknown category is reported rather than turned into NA.
    """
    kind = _kind(field)
    if kind == "string":
        enum = enum_of(field)
        if categorical and enum is not None:
            return pd.CategoricalDtype(enum, ordered=bool(field.get("categoriesOrdered", False)))
        return pd.StringDtype()
    if kind == "integer":
        return pd.Int64Dtype()
    if kind == "number":
        return pd.Float64Dtype()
    if kind == "boolean":
        return pd.BooleanDtype()
    if kind == "date":
        return np.dtype("datetime64[ns]")
    raise ValueError(f"unsupported Table Schema type {kind!r} for field {field.get('name')!r}")


def arrow_type(field: Mapping[str, Any]) -> pa_arrow.DataType:
    """Arrow type a field is written to Parquet as."""
    return {
        "string": pa_arrow.string(),
        "integer": pa_arrow.int64(),
        "number": pa_arrow.float64(),
        "boolean": pa_arrow.bool_(),
        "date": pa_arrow.date32(),
    }[_kind(field)]


def arrow_schema(schema: Mapping[str, Any]) -> pa_arrow.Schema:
    return pa_arrow.schema(
        [
            pa_arrow.field(f["name"], arrow_type(f), nullable=not _constraints(f).get("required", False))
            for f in schema["fields"]
        ]
    )


def _is_null(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, np.datetime64) and np.isnat(value):
        return True
    return False


def _parse_cell(kind: str, value: Any) -> tuple[bool, Any]:
    """(ok, parsed) for one non-null cell. Text is parsed strictly; no guessing."""
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
        if isinstance(value, str) and value in _TRUE:
            return True, True
        if isinstance(value, str) and value in _FALSE:
            return True, False
        return False, None
    if kind == "date":
        if isinstance(value, pd.Timestamp):
            ok = value == value.normalize()
            return (True, value.date()) if ok else (False, None)
        if isinstance(value, _dt.datetime):
            return (False, None)
        if isinstance(value, _dt.date):
            return True, value
        if isinstance(value, np.datetime64):
            return _parse_cell("date", pd.Timestamp(value))
        if isinstance(value, str) and _DATE_RE.match(value):
            try:
                return True, _dt.date.fromisoformat(value)
            except ValueError:
                return False, None
        return False, None
    return False, None


_EXPECTED = {
    "string": "text",
    "integer": "a whole number (digits only, no separators)",
    "number": "a plain decimal number (no %, no thousands separators; shares as fractions)",
    "boolean": "true or false",
    "date": "an ISO date YYYY-MM-DD",
}


def coerce_frame(
    table: str, schema: Mapping[str, Any], frame: pd.DataFrame
) -> tuple[pd.DataFrame, list[Failure]]:
    """Turn ``frame`` into the canonical typed frame of ``schema``.

    Never changes ``frame``. Cells that do not parse become null in the result and are
    reported; missing columns are reported and filled with nulls (so every other rule can
    still run); extra columns are reported and dropped. Text cells with leading or trailing
    white space are reported. The result keeps ``frame``'s index.
    """
    failures: list[Failure] = []
    names = [f["name"] for f in schema["fields"]]
    present = [str(c) for c in frame.columns]
    for col in present:
        if col not in names:
            failures.append(Failure(table, "columns:extra", f"column {col!r} is not in the table schema (expected: {', '.join(names)})", column=col))
    seen: set[str] = set()
    for col in present:
        if col in seen:
            failures.append(Failure(table, "columns:duplicate", f"column {col!r} appears more than once", column=col))
        seen.add(col)
    out: dict[str, pd.Series] = {}
    for field in schema["fields"]:
        name, kind = field["name"], _kind(field)
        dtype = pandas_dtype(field)
        if name not in seen:
            failures.append(Failure(table, "columns:missing", f"required column {name!r} is missing", column=name))
            if kind == "date":
                out[name] = pd.Series(pd.NaT, index=frame.index, dtype=dtype)
            else:
                out[name] = pd.Series(pd.array([None] * len(frame), dtype=dtype), index=frame.index)
            continue
        source = frame.loc[:, [c for c in frame.columns if str(c) == name][0]]
        if isinstance(source, pd.DataFrame):
            source = source.iloc[:, 0]
        parsed: list[Any] = []
        for label, value in zip(frame.index, source.tolist()):
            if isinstance(value, str) and value == "":
                value = None
            if _is_null(value):
                parsed.append(None)
                continue
            if isinstance(value, str) and value != value.strip():
                failures.append(Failure(table, "whitespace", "text has leading or trailing white space", column=name, row=label, value=value))
            ok, cell = _parse_cell(kind, value)
            if not ok:
                failures.append(Failure(table, f"type:{kind}", f"expected {_EXPECTED[kind]}", column=name, row=label, value=str(value)))
                cell = None
            parsed.append(cell)
        if kind == "date":
            series = pd.to_datetime(pd.Series(parsed, index=frame.index, dtype="object")).astype(dtype)
        else:
            series = pd.Series(pd.array(parsed, dtype=dtype), index=frame.index)
        out[name] = series
    typed = pd.DataFrame(out, index=frame.index)
    return typed, failures


def to_presentation(schema: Mapping[str, Any], typed: pd.DataFrame) -> pd.DataFrame:
    """Typed frame -> the frame users get: enumerations as categoricals."""
    result = typed.copy()
    for field in schema["fields"]:
        if _kind(field) == "string" and enum_of(field) is not None:
            result[field["name"]] = result[field["name"]].astype(pandas_dtype(field, categorical=True))
    return result


def key_text(schema: Mapping[str, Any], frame: pd.DataFrame, label: Any) -> str | None:
    """'col=value, ...' for the primary key of the row labelled ``label``, if readable."""
    pk = schema.get("primaryKey") or []
    if not pk or label is None:
        return None
    try:
        row = frame.loc[label]
    except (KeyError, TypeError):
        return None
    if isinstance(row, pd.DataFrame):
        row = row.iloc[0]
    parts = []
    for col in pk:
        value = row.get(col) if hasattr(row, "get") else None
        parts.append(f"{col}={'' if _is_null(value) else value}")
    return ", ".join(parts)


@dataclass(frozen=True)
class CheckInfo:
    rule: str
    column: str | None
    message: str


class Registry:
    """Maps each pandera check's error text back to our rule, column and message."""

    def __init__(self) -> None:
        self._by_error: dict[str, CheckInfo] = {}

    def check(
        self,
        fn: Callable[[Any], Any],
        *,
        table: str,
        rule: str,
        message: str,
        column: str | None = None,
    ) -> "pa.Check":
        import pandera.pandas as pa

        error = f"[{table}] {rule}{'/' + column if column else ''}: {message}"
        self._by_error[error] = CheckInfo(rule, column, message)
        return pa.Check(fn, name=rule, error=error)

    def lookup(self, error: str) -> CheckInfo | None:
        return self._by_error.get(error)


def _in_enum(s: pd.Series, allowed: list[str]) -> pd.Series:
    return s.isna() | s.isin(allowed)


def _at_least(s: pd.Series, lo: float) -> pd.Series:
    return s.isna() | (s >= lo)


def _at_most(s: pd.Series, hi: float) -> pd.Series:
    return s.isna() | (s <= hi)


def _matches(s: pd.Series, rx: re.Pattern[str]) -> pd.Series:
    return s.map(lambda v: _is_null(v) or bool(rx.fullmatch(v))).astype(bool)


def _short_enough(s: pd.Series, n: int) -> pd.Series:
    return s.isna() | (s.str.len() <= n)


def _unique_or_null(d: pd.DataFrame, column: str) -> pd.Series:
    return ~(d[column].notna() & d[column].duplicated(keep=False))


def _unique_rows(d: pd.DataFrame, cols: list[str]) -> pd.Series:
    return ~d.duplicated(subset=cols, keep=False)


def _column_checks(table: str, field: Mapping[str, Any], reg: Registry) -> "list[pa.Check]":
    name = field["name"]
    c = _constraints(field)
    checks: list[pa.Check] = []
    enum = c.get("enum")
    if enum is not None:
        allowed = list(enum)
        checks.append(reg.check(functools.partial(_in_enum, allowed=allowed), table=table, rule="enum", column=name,
                                message=f"must be one of: {', '.join(map(str, allowed))}"))
    if "minimum" in c:
        lo = c["minimum"]
        checks.append(reg.check(functools.partial(_at_least, lo=lo), table=table, rule="minimum", column=name, message=f"must be >= {lo}"))
    if "maximum" in c:
        hi = c["maximum"]
        checks.append(reg.check(functools.partial(_at_most, hi=hi), table=table, rule="maximum", column=name, message=f"must be <= {hi}"))
    if "pattern" in c:
        pattern = c["pattern"]
        rx = re.compile(pattern)
        checks.append(reg.check(functools.partial(_matches, rx=rx),
                                table=table, rule="pattern", column=name, message=f"must match {pattern}"))
    if "maxLength" in c:
        n = c["maxLength"]
        checks.append(reg.check(functools.partial(_short_enough, n=n), table=table, rule="maxLength", column=name, message=f"must be at most {n} characters"))
    return checks


def pandera_schema(
    table: str,
    schema: Mapping[str, Any],
    *,
    targets: Mapping[str, pd.DataFrame] | None = None,
    extra_checks: "Iterable[pa.Check]" = (),
    registry: Registry | None = None,
) -> "pa.DataFrameSchema":
    """The pandera schema of one table, built from its Table Schema.

    ``targets`` maps table name -> typed frame for resolving foreign keys; without it the
    foreign-key checks are left out (a single table cannot know its neighbours).
    ``extra_checks`` are added as DataFrame-level checks (the invariants).
    """
    import pandera.pandas as pa

    reg = registry or Registry()
    columns = {}
    for field in schema["fields"]:
        c = _constraints(field)
        name = field["name"]
        columns[name] = pa.Column(
            pandas_dtype(field),
            nullable=not c.get("required", False),
            checks=_column_checks(table, field, reg),
            required=True,
            coerce=False,
        )
    checks: list[pa.Check] = []
    # uniqueness: single-field `unique` constraints (nulls allowed, as in Table Schema) and the primary key
    for field in schema["fields"]:
        if _constraints(field).get("unique"):
            name = field["name"]
            checks.append(reg.check(functools.partial(_unique_or_null, column=name),
                                    table=table, rule="unique", column=name, message="value must be unique in the table"))
    pk = list(schema.get("primaryKey") or [])
    if pk:
        checks.append(reg.check(functools.partial(_unique_rows, cols=pk), table=table, rule="primary_key",
                                message=f"duplicate primary key ({', '.join(pk)})"))
    if targets is not None:
        for fkey in schema.get("foreignKeys", []):
            fields = list(fkey["fields"])
            ref = fkey["reference"]
            ref_table = ref.get("resource") or table
            ref_fields = list(ref["fields"])
            target = targets.get(ref_table)
            rule = f"foreign_key:{','.join(fields)}->{ref_table}.{','.join(ref_fields)}"

            def fk_ok(d: pd.DataFrame, fields=fields, ref_fields=ref_fields, ref_table=ref_table, target=target) -> pd.Series:
                tgt = d if ref_table == table else target
                if tgt is None or not set(ref_fields) <= set(tgt.columns):
                    return pd.Series(d[fields].isna().any(axis=1), index=d.index)
                keys = set(map(tuple, tgt[ref_fields].astype(object).itertuples(index=False, name=None)))
                rows = d[fields].astype(object).itertuples(index=False, name=None)
                return pd.Series([any(_is_null(v) for v in r) or tuple(r) in keys for r in rows], index=d.index, dtype=bool)

            checks.append(reg.check(fk_ok, table=table, rule=rule, column=fields[0] if len(fields) == 1 else None,
                                    message=f"value does not resolve to {ref_table}.{','.join(ref_fields)}"))
    checks.extend(extra_checks)
    return pa.DataFrameSchema(columns=columns, checks=checks, strict=True, ordered=False, name=table, coerce=False)
