"""validate(): Table Schema rules, foreign keys and invariants over a set of frames, one report."""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd
import pandera.pandas as pa

from ._errors import Failure, UnknownTableError, ValidationError
from ._invariants import invariant_checks
from ._schemas import Registry, coerce_frame, key_text, pandera_schema

__all__ = ["check_frames", "validate"]

_BUILTIN_RULES = {
    "not_nullable": ("required", "a value is required"),
    "column_in_schema": ("columns:extra", "column is not in the table schema"),
    "column_in_dataframe": ("columns:missing", "column is missing"),
}


def _translate(table: str, schema: Mapping[str, Any], frame: pd.DataFrame, labels: list[Any],
               cases: pd.DataFrame, registry: Registry) -> list[Failure]:
    failures: list[Failure] = []
    seen: set[tuple] = set()
    for case in cases.to_dict("records"):
        error = str(case.get("check"))
        info = registry.lookup(error)
        pos = case.get("index")
        pos = None if pos is None or (isinstance(pos, float) and pd.isna(pos)) else int(pos)
        if info is not None:
            rule, column, message = info.rule, info.column, info.message
        else:
            base = error.split("(")[0]
            rule, message = _BUILTIN_RULES.get(base, (base, error))
            column = case.get("column") if isinstance(case.get("column"), str) else None
        if column is None and case.get("schema_context") == "Column":
            column = case.get("column")
        dedupe = (rule, column, pos)
        if dedupe in seen:
            continue
        seen.add(dedupe)
        value = None
        if column is not None and pos is not None and column in frame.columns:
            cell = frame[column].iloc[pos]
            value = None if pd.isna(cell) else str(cell)
        elif info is None and case.get("failure_case") is not None:
            value = str(case.get("failure_case"))
        failures.append(Failure(
            table=table, rule=rule, message=message, column=column,
            row=labels[pos] if pos is not None else None,
            key=key_text(schema, frame, pos) if pos is not None else None,
            value=value,
        ))
    return failures


def check_frames(typed: Mapping[str, pd.DataFrame], schemas: Mapping[str, Mapping[str, Any]],
                 *, lazy: bool = True) -> list[Failure]:
    """Run every schema rule, foreign key and invariant over typed frames; return the failures.

    ``typed`` must hold canonical typed frames (see ``_schemas.coerce_frame``) for every table
    in ``schemas``. Row labels in the failures are the frames' own index labels.
    """
    positional = {name: df.reset_index(drop=True) for name, df in typed.items()}
    failures: list[Failure] = []
    for name, schema in schemas.items():
        frame = positional[name]
        labels = list(typed[name].index)
        registry = Registry()
        pschema = pandera_schema(name, schema, targets=positional, registry=registry,
                                 extra_checks=invariant_checks(name, positional, registry))
        try:
            pschema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            failures += _translate(name, schema, frame, labels, exc.failure_cases, registry)
        if failures and not lazy:
            return failures[:1]
    return failures


def validate(tables: Mapping[str, Any] | None = None, *, lazy: bool = True) -> dict[str, pd.DataFrame]:
    """Check tables against every rule of the data package.

    Parameters
    ----------
    tables : mapping of table name to pandas DataFrame, optional
        Frames to check: the whole set, or some tables (the others are taken from the
        shipped data, so foreign keys resolve), changed or extended. Frames are never
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
        Listing every failure: table, row, primary key, column and rule.
    UnknownTableError
        A key of ``tables`` is not a table of the package.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> shares = cd.load("market_shares")
    >>> _ = cd.validate({"market_shares": shares})
    """
    from . import _loader

    schemas = {name: _loader.table_schema(name) for name in _loader.list_tables()}
    failures: list[Failure] = []
    typed: dict[str, pd.DataFrame] = {}
    given = dict(tables or {})
    for name in given:
        if name not in schemas:
            _loader.table_schema(name)  # raises UnknownTableError with close names
    for name, schema in schemas.items():
        if name in given:
            frame = given[name]
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(f"validate(): table {name!r} must be a pandas DataFrame, not {type(frame).__name__}")
            coerced, problems = coerce_frame(name, schema, frame)
            failures += problems
            typed[name] = coerced
        else:
            typed[name] = _loader.typed_frame(name)
    from ._explain import explain  # nearest ids, computed sums, percentage hints

    if failures and not lazy:
        raise ValidationError(explain(failures[:1], typed))
    failures += check_frames(typed, schemas, lazy=lazy)
    if failures:
        raise ValidationError(explain(failures, typed))
    return {name: _loader.present(name, df) for name, df in typed.items()}
