"""load / load_all / list_tables / describe: descriptor -> pyarrow, pandas or polars.

The loader checks each file's sha256 against the packaged descriptor on every load and
never runs pandera (``validate()`` does that on request).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, overload

from . import _descriptor
from .._errors import IntegrityError, check_choice, check_flag

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa_arrow

__all__ = [
    "Backend",
    "load",
    "load_all",
    "list_tables",
    "describe",
    "datapackage",
    "table_schema",
    "typed_frame",
    "present",
    "sources_for",
]

Backend = Literal["pandas", "pyarrow", "polars"]
_BACKENDS = ("pandas", "pyarrow", "polars")
_lock = threading.Lock()
_arrow_cache: dict[tuple[str, str, str], "pa_arrow.Table"] = {}
_mask_cache: dict[tuple[str, ...], dict[str, Any]] = {}


def list_tables() -> list[str]:
    """Names of the tables in the data package, in descriptor order.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> cd.list_tables()[:3]
    ['sources', 'chokepoints', 'assessments']
    """
    return _descriptor.table_names()


def datapackage() -> dict[str, Any]:
    """The packaged Frictionless Data Package v2 descriptor, as a dict (a fresh copy)."""
    return _descriptor.read_descriptor()


def table_schema(name: str) -> dict[str, Any]:
    """The Table Schema (a dict) of table ``name``, as declared in ``schemas/<name>.json``."""
    return _descriptor.resource(name)["schema"]


def _arrow(name: str) -> "pa_arrow.Table":
    import pyarrow as pa_arrow
    import pyarrow.parquet as pq

    data, res = _descriptor.read_verified(name)
    # the enums are part of the key: the enum check below holds for this descriptor only
    key = (name, res["hash"], repr([(f.get("constraints") or {}).get("enum") for f in res["schema"]["fields"]]))
    with _lock:
        cached = _arrow_cache.get(key)
    if cached is not None:
        return cached
    try:
        table = pq.read_table(pa_arrow.BufferReader(data))
    except (pa_arrow.ArrowException, OSError, ValueError) as exc:
        raise IntegrityError(res["path"], res["hash"][7:], res["hash"][7:], f"it matches its hash but is not readable Parquet: {exc}") from None
    expected = [f["name"] for f in res["schema"]["fields"]]
    if table.column_names != expected:
        raise IntegrityError(res["path"], res["hash"][7:], res["hash"][7:],
                             f"its columns {table.column_names} differ from the descriptor's {expected}")
    _check_enums(res, table)
    with _lock:
        _arrow_cache[key] = table
    return table


def _check_enums(res: dict[str, Any], table: "pa_arrow.Table") -> None:
    """Every value of an enumerated column is one the descriptor lists (else the descriptor
    and the file disagree, and categoricals would silently turn the value into NA)."""
    from .._errors import DescriptorError

    for field in res["schema"]["fields"]:
        enum = (field.get("constraints") or {}).get("enum")
        if enum is None:
            continue
        extra = sorted(set(table.column(field["name"]).unique().to_pylist()) - set(enum) - {None}, key=str)
        if extra:
            raise DescriptorError(
                f"resource {res['name']!r}, column {field['name']!r}: the file holds {', '.join(map(repr, extra[:5]))}, "
                f"which the descriptor's enum does not list; the descriptor and the data disagree")


def typed_frame(name: str) -> "pd.DataFrame":
    """The canonical typed pandas frame (enumerations as plain strings) of a shipped table."""
    import pandas as pd
    import pyarrow as pa_arrow

    mapping = {
        pa_arrow.string(): pd.StringDtype(),
        pa_arrow.large_string(): pd.StringDtype(),
        pa_arrow.int64(): pd.Int64Dtype(),
        pa_arrow.float64(): pd.Float64Dtype(),
        pa_arrow.bool_(): pd.BooleanDtype(),
    }
    frame = _arrow(name).to_pandas(types_mapper=mapping.get, date_as_object=False)
    for field in table_schema(name)["fields"]:
        if field["type"] == "date":
            frame[field["name"]] = frame[field["name"]].astype("datetime64[ns]")
    return frame


def present(name: str, typed: "pd.DataFrame") -> "pd.DataFrame":
    from ._present import to_presentation

    return to_presentation(table_schema(name), typed)


@overload
def load(name: str, *, backend: Literal["pandas"] = "pandas", labels: bool = False,
         commercial_only: bool = False) -> "pd.DataFrame": ...
@overload
def load(name: str, *, backend: Literal["pyarrow"], labels: bool = False, commercial_only: bool = False) -> "pa_arrow.Table": ...
@overload
def load(name: str, *, backend: Literal["polars"], labels: bool = False, commercial_only: bool = False) -> Any: ...


def load(name: str, *, backend: Backend = "pandas", labels: bool = False, commercial_only: bool = False) -> Any:
    """Load one table.

    Parameters
    ----------
    name : str
        Table name; see ``list_tables()``.
    backend : {"pandas", "pyarrow", "polars"}, default "pandas"
        pandas gives typed columns: enumerations as categoricals (ordered for
        ``confidence`` and ``status``), nullable ``Int64``/``Float64``/``boolean``,
        ``string`` text and ``datetime64[ns]`` dates. pyarrow gives the stored
        ``pyarrow.Table``; polars a ``polars.DataFrame`` (needs polars installed).
    labels : bool, default False
        Add, next to each id, the names a reader needs: choke point name and direction,
        company name and country, holder name, policy name, country names, and the
        cited source's publisher, publication date and kind (see ``_views.labelled``).
        The plain table is unchanged without it.
    commercial_only : bool, default False
        Drop the rows that cite a source whose licence forbids commercial use (the ETO
        Supply Chain Explorer data, CC BY-NC 4.0; see ``sources.licence``), and every row
        that points at one (a market or a claim goes whole): the subset of all tables is a
        whole package that passes ``validate()`` (docs/METHOD.md, "Licences"). What is left
        may be used commercially with attribution. The rows kept are renumbered from 0
        (pandas).

    Returns
    -------
    pandas.DataFrame, pyarrow.Table or polars.DataFrame
        A fresh object: changing it never changes what another call returns.

    Raises
    ------
    UnknownTableError
        ``name`` is not a table; the message lists the closest names.
    IntegrityError
        The shipped file is missing or its sha256 differs from the descriptor.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> shares = cd.load("market_shares")
    >>> str(shares["share"].dtype)
    'Float64'
    >>> len(cd.load("market_shares", commercial_only=True)) < len(shares)
    True
    """
    check_choice("load", "backend", backend, _BACKENDS)
    check_flag("load", "labels", labels)
    check_flag("load", "commercial_only", commercial_only)
    if labels:
        return _labelled(name, backend, commercial_only)
    keep = _commercial_mask(name) if commercial_only else None
    if backend == "pyarrow":
        return _arrow(name) if keep is None else _arrow(name).filter(_arrow_mask(keep))
    if backend == "polars":
        table = _arrow(name) if keep is None else _arrow(name).filter(_arrow_mask(keep))
        pl = _polars()
        return pl.from_arrow(table)
    typed = typed_frame(name)
    if keep is not None:
        typed = typed[keep].reset_index(drop=True)
    return present(name, typed)


def _labelled(name: str, backend: Backend, commercial_only: bool) -> Any:
    from ._views import LazyTables, labelled

    frame = labelled(name, load(name, commercial_only=commercial_only), LazyTables(list_tables(), load))
    if backend == "pyarrow":
        import pyarrow as pa_arrow

        return pa_arrow.Table.from_pandas(frame, preserve_index=False)
    if backend == "polars":
        return _polars().from_pandas(frame)
    return frame


def _polars() -> Any:
    """polars, imported after pyarrow (and pyarrow.parquet).

    With polars 2.1 and pyarrow 26, a process that imported polars before pyarrow and read
    Parquet with pyarrow could abort at exit ("terminate called without an active
    exception", exit code 134) in about one run in four; importing pyarrow first avoids it
    (``tests/test_loader_polars_exit.py`` runs it 20 times).
    """
    import pyarrow  # noqa: F401 - first, see above
    import pyarrow.parquet  # noqa: F401

    try:
        import polars as pl
    except ImportError:  # pragma: no cover - depends on the environment
        from .._errors import MissingExtraError

        raise MissingExtraError("backend='polars'", "polars", "polars") from None
    return pl


def _arrow_mask(keep: Any) -> Any:
    import pyarrow as pa_arrow

    return pa_arrow.array(list(map(bool, keep)), type=pa_arrow.bool_())


def _commercial_mask(name: str) -> Any:
    """Boolean numpy array: True for the rows of ``name`` a commercial user may take."""
    table_schema(name)  # UnknownTableError first
    return _commercial_masks()[name]


def _commercial_masks() -> dict[str, Any]:
    """Per table, the rows a commercial user may take (see ``_licences.commercial_masks``)."""
    from ._licences import commercial_masks

    key = tuple(_descriptor.resource(t)["hash"] for t in list_tables())
    with _lock:
        cached = _mask_cache.get(key)
    if cached is None:
        names = list_tables()
        cached = commercial_masks({t: typed_frame(t) for t in names}, {t: table_schema(t) for t in names})
        with _lock:
            _mask_cache[key] = cached
    return cached


def load_all(*, backend: Backend = "pandas", commercial_only: bool = False) -> dict[str, Any]:
    """Every table, as ``{name: table}``, in descriptor order (options as for ``load``)."""
    check_choice("load_all", "backend", backend, _BACKENDS)
    check_flag("load_all", "commercial_only", commercial_only)
    return {name: load(name, backend=backend, commercial_only=commercial_only) for name in list_tables()}


def describe(name: str) -> "pd.DataFrame":
    """The data dictionary of one table: one row per column.

    Columns: ``column``, ``type``, ``required``, ``unique``, ``primary_key``, ``values``
    (allowed values or range), ``references`` (foreign key target) and ``description``.
    """
    import pandas as pd

    sch = table_schema(name)
    pk = set(sch.get("primaryKey") or [])
    refs = {}
    for fkey in sch.get("foreignKeys", []):
        for f, r in zip(fkey["fields"], fkey["reference"]["fields"]):
            refs[f] = f"{fkey['reference'].get('resource') or name}.{r}"
    rows = []
    for field in sch["fields"]:
        c = field.get("constraints", {})
        values = ""
        if "enum" in c:
            values = ", ".join(map(str, c["enum"]))
        elif "minimum" in c or "maximum" in c:
            values = f"[{c.get('minimum', '')}, {c.get('maximum', '')}]"
        elif "pattern" in c:
            values = f"pattern {c['pattern']}"
        rows.append({
            "column": field["name"], "type": field["type"], "required": bool(c.get("required", False)),
            "unique": bool(c.get("unique", False)), "primary_key": field["name"] in pk,
            "values": values, "references": refs.get(field["name"], ""), "description": field.get("description", ""),
        })
    return pd.DataFrame(rows).astype({"column": "string", "type": "string", "values": "string", "references": "string", "description": "string"})


def sources_for(frame: Any) -> "pd.DataFrame":
    """The rows of ``sources`` cited by ``frame`` (any table, or a slice of one).

    Every column that cites a source counts (``source_id``, ``listed_by``,
    ``achieved_source_id``, ``end_source_id``, ...); for market shares, the source of each
    row's market. ``frame`` may be a pandas or polars DataFrame or a pyarrow Table.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> shares = cd.load("market_shares")
    >>> cited = cd.sources_for(shares.head(3))
    >>> list(cited.columns[:3])
    ['source_id', 'title', 'publisher']
    """
    from .._errors import ArgumentError
    from ._licences import source_columns

    frame = _as_pandas(frame, "sources_for(frame)")
    columns: set[str] = set()
    schemas = {t: table_schema(t) for t in list_tables()}
    for sch in schemas.values():
        columns |= set(source_columns(sch))
    ids: set[str] = set()
    for col in sorted(columns):
        if col in frame.columns:
            ids |= {v for v in frame[col].astype(object).tolist() if isinstance(v, str)}
    if "market_id" in frame.columns and "markets" in schemas:
        markets = typed_frame("markets").set_index("market_id")["source_id"].astype(object)
        ids |= {v for v in frame["market_id"].astype(object).map(markets).tolist() if isinstance(v, str)}
    if not ids and not (columns & set(map(str, frame.columns))) and "market_id" not in frame.columns:
        raise ArgumentError(f"sources_for(frame): the frame has no column that cites a source "
                            f"(one of: {', '.join(sorted(columns | {'market_id'}))}); pass rows of a table that has one")
    src = load("sources")
    return src[src["source_id"].isin(sorted(ids))].reset_index(drop=True)


def _as_pandas(frame: Any, what: str) -> "pd.DataFrame":
    """A pandas view of a pandas, polars or pyarrow frame; the package's own error otherwise."""
    import pandas as pd

    from .._errors import ArgumentError

    if isinstance(frame, pd.DataFrame):
        return frame
    module = type(frame).__module__.split(".")[0]
    if module == "polars" and hasattr(frame, "to_arrow"):
        if hasattr(frame, "collect") and not hasattr(frame, "to_pandas"):
            frame = frame.collect()
        return frame.to_arrow().to_pandas()
    if module == "polars" and hasattr(frame, "collect"):
        return frame.collect().to_arrow().to_pandas()
    if module == "pyarrow" and hasattr(frame, "to_pandas"):
        return frame.to_pandas()
    raise ArgumentError(f"{what}: expected a pandas or polars DataFrame or a pyarrow Table, not {type(frame).__name__}")
