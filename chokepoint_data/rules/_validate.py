"""validate(): Table Schema rules, foreign keys and invariants over a set of frames, one report.

The rules are vectorised check functions (``_schemas.CheckSpec``); ``cd.schema(name)`` hands
the same functions to pandera, and ``check_frames`` runs them itself: every check sees the
whole column or frame once, and only the rows that fail become ``Failure`` objects, so the
cost of a report grows with the number of bad cells, not with the size of the frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from ._coerce import UNPARSED, coerce_frame
from .._errors import ArgumentError, ValidationError, check_flag
from ._failures import Failure, Failures
from ._keys import key_texts
from ._invariants import READS, invariant_reads, invariant_specs
from ._markets import FrameSet
from ._columns import as_arrow_text, pandas_dtype
from ._schemas import CheckSpec, Registry, table_specs

if TYPE_CHECKING:  # pragma: no cover
    import pandera.pandas as pa
    import pyarrow as pa_arrow

__all__ = ["check_frames", "validate", "schema", "ACCEPTED"]

ACCEPTED = "a pandas DataFrame, a polars DataFrame or LazyFrame, or a pyarrow Table"


def _dtype_ok(field: Mapping[str, Any], dtype: Any) -> bool:
    expected = pandas_dtype(field)
    if isinstance(expected, pd.StringDtype):
        return isinstance(dtype, pd.StringDtype)
    return bool(dtype == expected)


def _failing(spec: CheckSpec, obj: Any, n: int) -> tuple[np.ndarray | None, str | None]:
    """Positions where the check says False, or the error that stopped it from running."""
    try:
        result = spec.fn(obj)
    except Exception as exc:  # noqa: BLE001 - a check that cannot run is reported, not raised
        return None, f"could not be checked: {type(exc).__name__}: {exc}"
    if isinstance(result, (bool, np.bool_)):
        ok = np.full(n, bool(result))
    elif isinstance(result, pd.Series) and result.dtype != bool:
        ok = result.to_numpy(dtype=bool, na_value=False)
    else:
        ok = np.asarray(result, dtype=bool)
    return np.flatnonzero(~ok), None


def _value_text(value: Any) -> str | None:
    """A cell as the text a Failure shows (None for a null)."""
    return None if pd.isna(value) else str(value)


class _LazyKeys:
    """The primary-key text of failing rows, made on first reading: the key cells are taken
    when the failure is found, the text (the larger cost, with a million failures) only if
    someone reads a key."""

    def __init__(self, pk: list[str], cells: pd.DataFrame) -> None:
        self.pk, self.cells, self.n = pk, cells, len(cells)
        self._texts: Any = None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        if self._texts is None:
            self._texts = key_texts(self.pk, self.cells, np.arange(self.n), arrow=True)
            self.cells = pd.DataFrame()  # the text is made: the cells are no longer needed
        return self._texts[i]


class _Report:
    """Collects (rule, column, message, positions) as blocks of ``Failures``: lists of rows,
    keys and values, no Failure objects (they are made when read)."""

    def __init__(self, table: str, schema: Mapping[str, Any], frame: pd.DataFrame, labels: pd.Index) -> None:
        self.table, self.schema, self.frame, self.labels = table, schema, frame, labels
        self.failures = Failures()
        self._seen: dict[tuple[str, str | None], np.ndarray] = {}

    def add(self, rule: str, column: str | None, message: str, positions: np.ndarray | None) -> None:
        if positions is None:
            self.failures.append(Failure(self.table, rule, message, column=column))
            return
        if not len(positions):
            return
        key = (rule, column)
        if key in self._seen:  # one failure per rule, column and row, as pandera reports it
            positions = np.setdiff1d(positions, self._seen[key], assume_unique=False)
            self._seen[key] = np.union1d(self._seen[key], positions)
        else:
            self._seen[key] = positions
        if not len(positions):
            return
        labels = self.labels.take(positions).tolist()
        pk = list(self.schema.get("primaryKey") or [])
        keys: Any = _LazyKeys(pk, self.frame[pk].take(positions)) if pk else [None] * len(positions)
        convert = None
        if column is not None and column in self.frame.columns:
            cells = self.frame[column].take(positions)
            if isinstance(cells.dtype, pd.StringDtype):
                values: Any = as_arrow_text(cells)  # text as it is, nulls as None, read when a Failure is made
            else:
                values, convert = cells.tolist(), _value_text
        else:
            values = [None] * len(positions)
        self.failures.add(self.table, rule, message, column, labels, keys, values, convert)


def _reads_any(spec: CheckSpec, tables: set[str]) -> bool:
    """Whether a frame check of a table reads one of ``tables`` (a foreign key into one, or an
    invariant that declares it in ``_invariants.READS``)."""
    if spec.rule.startswith("foreign_key:"):
        return spec.rule.split("->", 1)[1].split(".", 1)[0] in tables
    reads = set(READS.get(spec.rule, ()))
    return "*" in reads or bool(reads & tables)


def _check_table(name: str, schema: Mapping[str, Any], frame: pd.DataFrame, labels: pd.Index,
                 frames: Mapping[str, pd.DataFrame], unparsed: Mapping[str, np.ndarray],
                 only_reading: set[str] | None = None) -> Failures:
    """Every rule of one table; with ``only_reading`` (a shipped table, valid on its own), only
    the rules that read one of those tables: nothing else about it can have changed."""
    report = _Report(name, schema, frame, labels)
    registry = Registry()
    by_column, frame_checks = table_specs(name, schema, targets=frames, registry=registry)
    if only_reading is not None:
        for spec in frame_checks + invariant_specs(name, frames, registry):
            if _reads_any(spec, only_reading):
                positions, error = _failing(spec, frame, len(frame))
                report.add(spec.rule, spec.column, error or spec.message, positions)
        return report.failures
    names = [f["name"] for f in schema["fields"]]
    n = len(frame)
    for col in frame.columns:
        if col not in names:
            report.add("columns:extra", str(col), "column is not in the table schema", None)
    for field in schema["fields"]:
        col = field["name"]
        if col not in frame.columns:
            report.add("columns:missing", col, "column is missing", None)
            continue
        series = frame[col]
        if not _dtype_ok(field, series.dtype):
            report.add("dtype", col, f"expected {pandas_dtype(field)}, got {series.dtype}", None)
            continue
        if field.get("constraints", {}).get("required"):
            missing = np.flatnonzero(series.isna().to_numpy(dtype=bool))
            if col in unparsed:  # already reported as a cell that did not parse
                missing = np.setdiff1d(missing, unparsed[col])
            report.add("required", col, "a value is required", missing)
        for spec in by_column[col]:
            positions, error = _failing(spec, series, n)
            report.add(spec.rule, spec.column, error or spec.message, positions)
    for spec in frame_checks + invariant_specs(name, frames, registry):
        positions, error = _failing(spec, frame, n)
        report.add(spec.rule, spec.column, error or spec.message, positions)
    return report.failures


def check_frames(typed: Mapping[str, pd.DataFrame], schemas: Mapping[str, Mapping[str, Any]],
                 *, lazy: bool = True, given: set[str] | None = None) -> Failures:
    """Run every schema rule, foreign key and invariant over typed frames; return the failures.

    ``typed`` must hold canonical typed frames (see ``_schemas.coerce_frame``) for every table
    in ``schemas``. Row labels in the failures are the frames' own index labels. With
    ``given``, a table not in it is taken as the valid shipped table, and only its rules that
    read a table in ``given`` run.
    """
    positional = FrameSet()  # the market rules share their key codes through its memo
    for name, df in typed.items():
        frame = df.reset_index(drop=True)
        frame.attrs = {}
        positional[name] = frame
    failures = Failures()
    for name, schema in schemas.items():
        unparsed = typed[name].attrs.get(UNPARSED, {})
        only = None if given is None or name in given else given
        failures.extend(_check_table(name, schema, positional[name], typed[name].index, positional, unparsed, only))
        if failures and not lazy:
            return Failures(failures[:1])
    return failures


def _as_frame(name: str, frame: Any) -> "pd.DataFrame | pa_arrow.Table":
    """pandas as it is; polars (eager or lazy) and pyarrow as an Arrow table, no Python objects."""
    if isinstance(frame, pd.DataFrame):
        return frame
    module = type(frame).__module__.split(".")[0]
    if module == "pyarrow":
        import pyarrow as pa_arrow

        if isinstance(frame, pa_arrow.Table):
            return frame
        if isinstance(frame, pa_arrow.RecordBatch):
            return pa_arrow.Table.from_batches([frame])
    if module == "polars":
        import polars as pl

        if isinstance(frame, pl.LazyFrame):
            frame = frame.collect()
        if isinstance(frame, pl.DataFrame):
            return frame.to_arrow()
    raise ArgumentError(f"validate(): table {name!r} must be {ACCEPTED}, not {type(frame).__module__}.{type(frame).__qualname__}")


def _reads(name: str, schema: Mapping[str, Any]) -> set[str]:
    """Every table the rules of ``name`` read besides itself: foreign-key targets and what
    its invariants read (``_invariants.READS``); all tables where a rule reads any."""
    from ..store import _loader

    reads = {fk["reference"].get("resource") or name for fk in schema.get("foreignKeys", [])} | invariant_reads(name)
    return set(_loader.list_tables()) if "*" in reads else reads - {name}


def validate(tables: Mapping[str, Any] | None = None, *, lazy: bool = True) -> dict[str, pd.DataFrame]:
    """Check tables against every rule of the data package.

    Parameters
    ----------
    tables : mapping of table name to a frame, optional
        Frames to check: the whole set, or some tables (the others are taken from the
        shipped data, so foreign keys resolve), changed or extended. Each frame may be a
        pandas DataFrame, a polars DataFrame or LazyFrame, or a pyarrow Table; they are read
        column by column through Arrow, never copied into Python objects, and never
        modified. ``None`` checks the shipped data.
    lazy : bool, default True
        Collect every failure (True) or stop at the first table that fails (False).

    Returns
    -------
    dict of str to DataFrame
        The validated tables, typed as ``load()`` types them.

    Raises
    ------
    ValidationError
        Listing every failure: table, row, primary key, column and rule. The message shows
        the first ``ValidationError.MAX_SHOWN`` and counts the rest; ``failures`` holds all.
    UnknownTableError
        A key of ``tables`` is not a table of the package.
    TypeError
        ``tables`` is not a mapping, or a frame is of a type not listed above.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> shares = cd.load("market_shares")
    >>> _ = cd.validate({"market_shares": shares})
    """
    from ..store import _loader

    check_flag("validate", "lazy", lazy)
    if tables is not None and not isinstance(tables, Mapping):
        raise ArgumentError(f"validate(): tables must be a mapping of table name to {ACCEPTED} (or None), "
                        f"not {type(tables).__name__}")
    schemas = {name: _loader.table_schema(name) for name in _loader.list_tables()}
    failures = Failures()
    typed: dict[str, pd.DataFrame] = {}
    given = dict(tables or {})
    for name in given:
        if name not in schemas:
            _loader.table_schema(name)  # raises UnknownTableError with close names
    for name, schema in schemas.items():
        if name in given:
            coerced, problems = coerce_frame(name, schema, _as_frame(name, given[name]))
            failures.extend(problems)
            typed[name] = coerced
        else:
            typed[name] = _loader.typed_frame(name)
    from ._explain import explain  # nearest ids, computed sums, percentage hints

    if tables is not None:  # a shipped table is checked again only if it reads a table given, and
        # then only the rules that read one (check_frames(given=...))
        schemas = {name: schema for name, schema in schemas.items() if name in given or _reads(name, schema) & set(given)}

    if failures and not lazy:
        raise ValidationError(explain(failures[:1], typed))
    failures.extend(check_frames(typed, schemas, lazy=lazy, given=None if tables is None else set(given)))
    if failures:
        raise ValidationError(explain(failures, typed))
    return {name: _loader.present(name, df) for name, df in typed.items()}


def schema(name: str) -> "pa.DataFrameSchema":
    """The pandera schema of table ``name``: Table Schema rules, foreign keys into the
    shipped tables, and the package's invariants. It validates typed frames as
    ``load()`` returns them (enumeration columns as text or categoricals).
    """
    from ._invariants import invariant_checks
    from ._schemas import pandera_schema
    from ..store._loader import list_tables, table_schema, typed_frame

    targets = {t: typed_frame(t) for t in list_tables()}
    registry = Registry()
    return pandera_schema(name, table_schema(name), targets=targets, registry=registry,
                          extra_checks=invariant_checks(name, targets, registry))
