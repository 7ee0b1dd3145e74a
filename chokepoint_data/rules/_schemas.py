"""The bridge: Table Schema (the declaration) -> typed frames, Arrow types and pandera schemas.

One table at a time. Table Schema says what a column is; this module turns that into
(1) a coercion from text or loosely typed frames to the canonical pandas dtypes, column by
column, recording every cell that does not fit (``_coerce``), (2) the Arrow type a column
is written as, and (3) the checks of types, required, unique, enum, minimum, maximum,
pattern, maxLength, primary key and foreign keys, as vectorised functions (``CheckSpec``)
that both a pandera schema and the package's own runner (``_validate``) execute. Rules
Table Schema cannot say live in ``_invariants``.
"""

from __future__ import annotations

import functools
import weakref
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa_arrow
import pyarrow.compute as pc

from ._columns import SharedCodes, _arrow_chunks, _bool, _per_distinct, _repeated, group_codes, isin, pandas_dtype
from ..store._present import constraints_of as _constraints, field_kind as _kind

if TYPE_CHECKING:  # pragma: no cover
    import pandera.pandas as pa
    from ._failures import Failures

__all__ = [
    "CheckInfo",
    "Registry",
    "arrow_type",
    "arrow_schema",
    "coerce_frame",
    "key_text",
    "pandera_schema",
]



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


def coerce_frame(
    table: str, schema: Mapping[str, Any], frame: Any
) -> "tuple[pd.DataFrame, Failures]":
    """Turn ``frame`` into the canonical typed frame of ``schema``; see ``_coerce.coerce_frame``."""
    from ._coerce import coerce_frame as coerce

    return coerce(table, schema, frame)


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


class CheckSpec:
    """One rule as a vectorised function: ``fn(series)`` (``on="column"``) or ``fn(frame)``
    (``on="frame"``) returns one boolean per row, False where the row breaks the rule.

    The same specs feed the pandera schema (``pandera_schema``) and the package's own lean
    runner (``_validate.check_frames``), so both enforce exactly the same rules.
    """

    __slots__ = ("fn", "table", "rule", "column", "message", "on")

    def __init__(self, fn: Callable[[Any], Any], table: str, rule: str, message: str,
                 column: str | None, on: str) -> None:
        self.fn, self.table, self.rule, self.column, self.message, self.on = fn, table, rule, column, message, on

    @property
    def error(self) -> str:
        return f"[{self.table}] {self.rule}{'/' + self.column if self.column else ''}: {self.message}"

    def to_pandera(self) -> "pa.Check":
        import pandera.pandas as pa

        return pa.Check(self.fn, name=self.rule, error=self.error)


class Registry:
    """Maps each check's error text back to our rule, column and message."""

    def __init__(self) -> None:
        self._by_error: dict[str, CheckInfo] = {}

    def spec(self, fn: Callable[[Any], Any], *, table: str, rule: str, message: str,
             column: str | None = None, on: str = "frame") -> CheckSpec:
        spec = CheckSpec(fn, table, rule, message, column, on)
        self._by_error[spec.error] = CheckInfo(rule, column, message)
        return spec

    def check(
        self,
        fn: Callable[[Any], Any],
        *,
        table: str,
        rule: str,
        message: str,
        column: str | None = None,
    ) -> "pa.Check":
        return self.spec(fn, table=table, rule=rule, message=message, column=column).to_pandera()

    def lookup(self, error: str) -> CheckInfo | None:
        return self._by_error.get(error)


# --- vectorised column checks ------------------------------------------------------------

def _in_enum(s: pd.Series, allowed: list[str]) -> pd.Series:
    return _bool(s.isna().to_numpy() | s.isin(allowed).to_numpy(dtype=bool), s.index)


def _at_least(s: pd.Series, lo: float) -> pd.Series:
    return s.isna() | (s >= lo)


def _at_most(s: pd.Series, hi: float) -> pd.Series:
    return s.isna() | (s <= hi)


def _matches_python(s: pd.Series, rx: re.Pattern[str]) -> np.ndarray:
    return np.fromiter((_is_null(v) or bool(rx.fullmatch(v)) for v in s.tolist()), bool, len(s))


def _matches_fast(s: pd.Series, rx: re.Pattern[str]) -> np.ndarray:
    r"""Python's ``re.fullmatch`` per cell, computed with Arrow's RE2 where the two agree.

    RE2 and Python read ``\s``, ``\d`` and ``\w`` the same way on printable ASCII text,
    so cells of printable ASCII are matched with RE2 and every other cell with Python's
    ``re`` (there are few); a pattern RE2 cannot compile runs in Python throughout.
    """
    arr = _arrow_chunks(s)
    if arr is None:
        return _matches_python(s, rx)
    try:
        fast = pc.match_substring_regex(arr, f"^(?:{rx.pattern})$")
    except pa_arrow.ArrowInvalid:
        return _matches_python(s, rx)
    ok = np.asarray(pc.fill_null(fast, True).to_numpy(), dtype=bool)
    special = np.asarray(pc.fill_null(pc.match_substring_regex(arr, r"[^\x20-\x7e]"), False).to_numpy(), dtype=bool)
    odd = np.flatnonzero(special)
    if len(odd):
        ok[odd] = _matches_python(s.iloc[odd], rx)
    return ok


def _matches(s: pd.Series, rx: re.Pattern[str]) -> pd.Series:
    return _bool(_per_distinct(s, lambda u: _matches_fast(u, rx)), s.index)


def _lengths_ok(s: pd.Series, n: int) -> np.ndarray:
    arr = _arrow_chunks(s)
    if arr is None:
        return (s.isna() | (s.str.len() <= n)).to_numpy(dtype=bool, na_value=True)
    # a cell of at most n bytes has at most n characters: count characters only in longer cells
    nbytes = pc.fill_null(pc.binary_length(arr), 0).to_numpy()
    ok = nbytes <= n
    long = np.flatnonzero(~ok)
    if len(long):
        chars = pc.utf8_length(arr.take(pa_arrow.array(long))).to_numpy()
        ok[long] = chars <= n
    return ok


def _short_enough(s: pd.Series, n: int) -> pd.Series:
    return _bool(_lengths_ok(s, n), s.index)


# --- vectorised frame checks: keys ---------------------------------------------------------

def _repeated_rows(d: pd.DataFrame, cols: list[str], memo: dict[Any, Any] | None,
                   shared: SharedCodes | None = None) -> np.ndarray:
    """``_repeated`` over ``cols``, remembered in ``memo`` for this frame: a single-column
    primary key that is also ``unique`` (sources.source_id) is encoded once, not twice."""
    if memo is None:
        return _repeated(group_codes(d, cols, shared))
    hit = memo.get(tuple(cols))
    if hit is None or hit[0]() is not d:  # a weak reference: a pandera schema keeps its checks alive
        hit = memo[tuple(cols)] = (weakref.ref(d), _repeated(group_codes(d, cols, shared)))
    return hit[1]


def _unique_or_null(d: pd.DataFrame, column: str, memo: dict[Any, Any] | None = None,
                    shared: SharedCodes | None = None) -> pd.Series:
    repeated = _repeated_rows(d, [column], memo, shared)
    return _bool(~(d[column].notna().to_numpy(dtype=bool) & repeated), d.index)


def _unique_rows(d: pd.DataFrame, cols: list[str], memo: dict[Any, Any] | None = None,
                 shared: SharedCodes | None = None) -> pd.Series:
    return _bool(~_repeated_rows(d, cols, memo, shared), d.index)


def _resolves(d: pd.DataFrame, fields: list[str], target: pd.DataFrame | None, ref_fields: list[str]) -> pd.Series:
    """Rows whose ``fields`` are null somewhere, or appear as ``ref_fields`` in ``target`` (hash join)."""
    has_null = d[fields].isna().any(axis=1).to_numpy(dtype=bool)
    if target is None or not set(ref_fields) <= set(target.columns):
        return _bool(has_null, d.index)
    if len(fields) == 1:
        found = isin(d[fields[0]], target[ref_fields[0]])
    else:
        left = pd.MultiIndex.from_frame(d[fields].astype(object))
        right = pd.MultiIndex.from_frame(target[ref_fields].dropna().astype(object))
        found = left.isin(right)
    return _bool(has_null | found, d.index)


# The constraints checked by one function with one argument: (constraint, check, the check's
# argument, message); a pattern is compiled first. Order is the order failures are reported in.
_BOUND_RULES = (
    ("minimum", _at_least, "lo", "must be >= {}"),
    ("maximum", _at_most, "hi", "must be <= {}"),
    ("pattern", _matches, "rx", "must match {}"),
    ("maxLength", _short_enough, "n", "must be at most {} characters"),
)


def _column_checks(table: str, field: Mapping[str, Any], reg: Registry) -> list[CheckSpec]:
    name = field["name"]
    c = _constraints(field)
    checks: list[CheckSpec] = []
    enum = c.get("enum")
    if enum is not None:
        allowed = list(enum)
        checks.append(reg.spec(functools.partial(_in_enum, allowed=allowed), table=table, rule="enum", column=name,
                               message=f"must be one of: {', '.join(map(str, allowed))}", on="column"))
    for rule, check, argument, message in _BOUND_RULES:
        if rule in c:
            value = re.compile(c[rule]) if rule == "pattern" else c[rule]
            checks.append(reg.spec(functools.partial(check, **{argument: value}), table=table, rule=rule,
                                   column=name, message=message.format(c[rule]), on="column"))
    return checks


def table_specs(table: str, schema: Mapping[str, Any], *, targets: Mapping[str, pd.DataFrame] | None,
                registry: Registry) -> tuple[dict[str, list[CheckSpec]], list[CheckSpec]]:
    """The Table Schema rules of one table: column checks by column, and frame checks
    (unique fields, primary key, foreign keys when ``targets`` is given)."""
    by_column = {f["name"]: _column_checks(table, f, registry) for f in schema["fields"]}
    checks: list[CheckSpec] = []
    repeated: dict[Any, Any] = {}  # codes shared by the uniqueness checks of one frame
    shared: SharedCodes | None = None
    if targets is not None:
        from ._markets import market_id_codes  # market ids: encoded once for every market rule

        def shared(d: pd.DataFrame, column: str) -> tuple[np.ndarray, int] | None:
            return market_id_codes(targets, table, d, column)

    # uniqueness: single-field `unique` constraints (nulls allowed, as in Table Schema) and the primary key
    for field in schema["fields"]:
        if _constraints(field).get("unique"):
            name = field["name"]
            checks.append(registry.spec(functools.partial(_unique_or_null, column=name, memo=repeated, shared=shared),
                                        table=table, rule="unique", column=name, message="value must be unique in the table"))
    pk = list(schema.get("primaryKey") or [])
    if pk:
        checks.append(registry.spec(functools.partial(_unique_rows, cols=pk, memo=repeated, shared=shared), table=table,
                                    rule="primary_key", message=f"duplicate primary key ({', '.join(pk)})"))
    if targets is not None:
        for fkey in schema.get("foreignKeys", []):
            fields = list(fkey["fields"])
            ref = fkey["reference"]
            ref_table = ref.get("resource") or table
            ref_fields = list(ref["fields"])
            target = targets.get(ref_table)
            rule = f"foreign_key:{','.join(fields)}->{ref_table}.{','.join(ref_fields)}"

            def fk_ok(d: pd.DataFrame, fields: list[str] = fields, ref_fields: list[str] = ref_fields,
                      ref_table: str = ref_table, target: pd.DataFrame | None = target) -> pd.Series:
                from ._markets import market_key_resolves  # market ids: the codes the market rules share

                shared = market_key_resolves(targets, d, fields, ref_table, ref_fields) if targets is not None else None
                if shared is not None:
                    return _bool(shared, d.index)
                return _resolves(d, fields, d if ref_table == table else target, ref_fields)

            checks.append(registry.spec(fk_ok, table=table, rule=rule, column=fields[0] if len(fields) == 1 else None,
                                        message=f"value does not resolve to {ref_table}.{','.join(ref_fields)}"))
    return by_column, checks


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
    by_column, frame_checks = table_specs(table, schema, targets=targets, registry=reg)
    columns = {}
    for field in schema["fields"]:
        c = _constraints(field)
        name = field["name"]
        columns[name] = pa.Column(
            pandas_dtype(field),
            nullable=not c.get("required", False),
            checks=[spec.to_pandera() for spec in by_column[name]],
            required=True,
            coerce=False,
        )
    checks = [spec.to_pandera() for spec in frame_checks]
    checks.extend(extra_checks)
    return pa.DataFrameSchema(columns=columns, checks=checks, strict=True, ordered=False, name=table, coerce=False)
