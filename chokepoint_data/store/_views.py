"""Labelled views: the names a reader needs, next to each id.

``labelled(name, frame, tables)`` returns a copy of ``frame`` with columns inserted right
after each id column: the choke point's English name and direction, the company's name and
country, the holder's name (company or country), the policy's name, country names for ISO
3166 codes, and the cited source's publisher, publication date and kind. The row's own grade
is its ``confidence`` column, which every fact table already carries. Nothing is dropped or
reordered; the id columns stay as they are, so a labelled frame still joins like the plain one.

Which columns get which labels is read from the column names, so a table that gains an id
column (``market_id``, say) is labelled without touching this module's callers.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["labelled", "sql_views", "sql_view_columns", "LazyTables", "country_name", "country_names",
           "REST_OF_MARKET_LABEL"]

#: What a ``holder`` of ``other`` (the rest of the market) is called in a labelled view.
REST_OF_MARKET_LABEL = "rest of market"

# id column -> (referenced table, key column, [(label column suffix, source column)])
_SOURCE_LABELS = [("publisher", "publisher"), ("published", "published"), ("kind", "kind")]
_CHOKEPOINT_LABELS = [("name", "name_en"), ("direction", "direction")]
_COMPANY_LABELS = [("name", "name_en"), ("country", "country")]
_POLICY_LABELS = [("name", "name_en")]

#: (table owning the column or None for any table, column) -> (target table, key, labels, prefix)
_RULES: dict[tuple[str | None, str], tuple[str, str, list[tuple[str, str]], str]] = {
    (None, "chokepoint_id"): ("chokepoints", "chokepoint_id", _CHOKEPOINT_LABELS, "chokepoint"),
    ("chokepoints", "parent_id"): ("chokepoints", "chokepoint_id", [("name", "name_en")], "parent"),
    (None, "company_id"): ("companies", "company_id", _COMPANY_LABELS, "company"),
    (None, "policy_id"): ("policies", "policy_id", _POLICY_LABELS, "policy"),
    ("policies", "parent_id"): ("policies", "policy_id", [("name", "name_en")], "parent"),
    ("policies", "responds_to"): ("policies", "policy_id", [("name", "name_en")], "responds_to"),
    (None, "metric"): ("metrics", "metric_id", [("name", "name"), ("basis", "basis")], "metric"),
    (None, "source_id"): ("sources", "source_id", _SOURCE_LABELS, "source"),
    (None, "achieved_source_id"): ("sources", "source_id", _SOURCE_LABELS, "achieved_source"),
    (None, "end_source_id"): ("sources", "source_id", _SOURCE_LABELS, "end_source"),
    (None, "listed_by"): ("sources", "source_id", _SOURCE_LABELS, "listed_by"),
}


def _rule(name: str, column: str) -> tuple[str, str, list[tuple[str, str]], str] | None:
    """How ``column`` of table ``name`` is labelled: a rule of ``_RULES``, or for any other
    ``<what>_source_id`` column (``suspension_source_id``, ...) the source's labels as ``<what>_source_*``."""
    rule = _RULES.get((name, column)) or _RULES.get((None, column))
    if rule is None and column.endswith("_source_id"):
        rule = ("sources", "source_id", _SOURCE_LABELS, column[: -len("_id")])
    return rule


#: ISO 3166-1 alpha-3 columns -> the label column holding the country's name
_COUNTRY_COLUMNS = {"country": "country_name", "jurisdiction": "jurisdiction_name", "geo": "geo_name"}
#: A table's own key is not labelled in that table (chokepoints.chokepoint_id has name_en already).
_OWN_KEY = {"chokepoints": "chokepoint_id", "companies": "company_id", "policies": "policy_id", "sources": "source_id",
            "metrics": "metric_id", "markets": "market_id"}
#: Columns a ``market_id`` brings in from ``markets`` (issue 7) when the frame lacks them.
_MARKET_COLUMNS = ("chokepoint_id", "year", "scope", "basis", "breakdown", "source_id")


@functools.lru_cache(maxsize=None)
def country_name(code: str) -> str | None:
    """The short English name of an ISO 3166-1 alpha-3 code, or None if it is not one.

    Uses pycountry's common name where it has one (``KOR`` -> ``South Korea``,
    ``TWN`` -> ``Taiwan``), else its name.

    Examples
    --------
    >>> country_name("KOR"), country_name("NLD"), country_name("XXX")
    ('South Korea', 'Netherlands', None)
    """
    import pycountry

    found = pycountry.countries.get(alpha_3=code) if isinstance(code, str) and len(code) == 3 else None
    if found is None:
        return None
    return str(getattr(found, "common_name", None) or found.name)


class LazyTables(Mapping[str, "pd.DataFrame"]):
    """A read-only mapping of table name -> frame that loads each table on first access."""

    def __init__(self, names: list[str], load: Callable[[str], "pd.DataFrame"]) -> None:
        self._names = list(names)
        self._load = load
        self._cache: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> "pd.DataFrame":
        if name not in self._names:
            raise KeyError(name)
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _lookup(target: "pd.DataFrame", key: str, column: str) -> dict[Any, Any]:
    keys = target[key].astype(object).tolist()
    values = target[column].tolist()
    return dict(zip(keys, values))


def _insert_after(frame: "pd.DataFrame", after: str, new: list[tuple[str, "pd.Series"]]) -> None:
    pos = list(frame.columns).index(after) + 1
    for offset, (col, series) in enumerate(new):
        if col in frame.columns:
            continue
        frame.insert(pos + offset, col, series)


def _map(ids: "pd.Series", table: dict[Any, Any], like: "pd.Series") -> "pd.Series":
    """ids -> values, keeping the dtype of the looked-up column (string, category, date)."""
    import pandas as pd

    mapped = ids.astype(object).map(lambda v: table.get(v) if isinstance(v, str) else None)
    dtype = like.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical(mapped.where(mapped.notna(), None), dtype=dtype), index=ids.index)
    if str(dtype).startswith("datetime"):
        return pd.to_datetime(mapped).astype(dtype)
    return mapped.astype(dtype)


def _holder_names(frame: "pd.DataFrame", companies: "pd.DataFrame | None") -> tuple["pd.Series", "pd.Series"]:
    import pandas as pd

    names = _lookup(companies, "company_id", "name_en") if companies is not None else {}
    countries = _lookup(companies, "company_id", "country") if companies is not None else {}
    breakdown = frame["breakdown"].astype(object).tolist() if "breakdown" in frame.columns else [None] * len(frame)
    out_name: list[str | None] = []
    out_country: list[str | None] = []
    for kind, holder in zip(breakdown, frame["holder"].astype(object).tolist()):
        if not isinstance(holder, str):
            out_name.append(None)
            out_country.append(None)
        elif holder == "other":
            out_name.append(REST_OF_MARKET_LABEL)
            out_country.append(None)
        elif kind == "country" or (kind is None and holder not in names and country_name(holder)):
            out_name.append(country_name(holder))
            out_country.append(holder)
        else:
            out_name.append(names.get(holder))
            out_country.append(countries.get(holder))
    return (pd.Series(out_name, index=frame.index, dtype="string"),
            pd.Series(out_country, index=frame.index, dtype="string"))


def labelled(name: str, frame: "pd.DataFrame", tables: Mapping[str, "pd.DataFrame"]) -> "pd.DataFrame":
    """``frame`` (a table named ``name``, or a slice of it) with names next to its ids.

    Parameters
    ----------
    name : str
        The table ``frame`` comes from; decides which id columns are the table's own key.
    frame : pandas.DataFrame
        The table as ``load(name)`` returns it, or rows and columns of it.
    tables : mapping of str to pandas.DataFrame
        The tables ids resolve into (``chokepoints``, ``companies``, ``policies``,
        ``sources``, and ``markets`` where the frame has a ``market_id``).

    Returns
    -------
    pandas.DataFrame
        A new frame: every original column, in order, with label columns inserted after
        each id: ``chokepoint_name``/``chokepoint_direction``, ``company_name``/
        ``company_country``, ``holder_name``/``holder_country``, ``policy_name``,
        ``metric_name``/``metric_basis`` (location or headquarters),
        ``source_publisher``/``source_published``/``source_kind`` (and the same for
        ``achieved_source_id`` and ``listed_by``), ``country_name`` and the like for ISO
        codes. An id that does not resolve gets an empty label, never an error.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> shares = cd.load("market_shares", labels=True)
    >>> euv = shares[shares.chokepoint_id == "euv-lithography"]
    >>> print(euv[["holder", "holder_name", "holder_country", "share", "year"]].head(2).to_string(index=False))
    holder holder_name holder_country  share  year
      asml        ASML            NLD    1.0  2019
       NLD Netherlands            NLD    1.0  2019
    >>> euv["source_publisher"].iloc[0]
    'Georgetown CSET / Emerging Technology Observatory'
    """
    import pandas as pd

    out = frame.copy()
    if "market_id" in out.columns and "markets" in tables and name != "markets":
        markets = tables["markets"]
        bring = [c for c in _MARKET_COLUMNS if c in markets.columns and c not in out.columns]
        if bring:
            joined = out[["market_id"]].merge(markets[["market_id", *bring]], on="market_id", how="left")
            joined.index = out.index
            _insert_after(out, "market_id", [(c, joined[c]) for c in bring])
    for column in list(out.columns):
        if column == _OWN_KEY.get(name):
            continue
        rule = _rule(name, column)
        if rule is not None:
            target_name, key, labels, prefix = rule
            if target_name not in tables:
                continue
            target = tables[target_name]
            new = [(f"{prefix}_{suffix}", _map(out[column], _lookup(target, key, src), target[src]))
                   for suffix, src in labels]
            _insert_after(out, column, new)
        elif column == "holder":
            holder_name, holder_country = _holder_names(out, tables.get("companies"))
            _insert_after(out, column, [("holder_name", holder_name), ("holder_country", holder_country)])
        elif column in _COUNTRY_COLUMNS:
            values = out[column].astype(object).map(lambda v: country_name(v) if isinstance(v, str) else None)
            _insert_after(out, column, [(_COUNTRY_COLUMNS[column], values.astype(pd.StringDtype()))])
    return out


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def sql_views(schemas: Mapping[str, Mapping[str, Any]], countries: Mapping[str, str] | None = None) -> dict[str, str]:
    """The labelled views as SQL: ``{"<table>_labelled": "SELECT ..."}`` for every table with ids.

    The same columns as ``labelled()``, with the same names, places and values, written as
    LEFT JOINs and CASE expressions that SQLite and DuckDB both run; then one more column,
    ``licence``: the licences the row carries (our curation's and each cited source's, as
    ``row_licence_text`` computes them), joined by ", ". SQL has no ISO 3166 list, so country
    names come from ``countries`` (code -> name, see ``country_names``: the codes the exported
    rows hold); a code it lacks gets an empty name, as ``country_name`` gives one it does not know.
    ``schemas`` maps table name -> Table Schema.

    Examples
    --------
    >>> from chokepoint_data.store import _loader
    >>> views = sql_views({n: _loader.table_schema(n) for n in _loader.list_tables()}, {"NLD": "Netherlands"})
    >>> sorted(views)[:2]
    ['assessments_labelled', 'chokepoints_labelled']
    >>> "LEFT JOIN" in views["assessments_labelled"], "'Netherlands'" in views["companies_labelled"]
    (True, True)
    """
    return {view: select for view, (select, _) in _sql_views(schemas, countries or {}).items()}


def sql_view_columns(schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """The column names of each view of ``sql_views()``, in order."""
    return {view: columns for view, (_, columns) in _sql_views(schemas, {}).items()}


def country_names(frames: Mapping[str, "pd.DataFrame"]) -> dict[str, str]:
    """Code -> short English name of every ISO 3166-1 alpha-3 code in the country columns of
    ``frames`` (``country``, ``jurisdiction``, ``geo``, a market share's ``holder``)."""
    found: dict[str, str] = {}
    for frame in frames.values():
        for column in [*_COUNTRY_COLUMNS, "holder"]:
            if column in frame.columns:
                for code in set(frame[column].dropna().astype(str).tolist()):
                    label = country_name(code)
                    if label is not None:
                        found[code] = label
    return dict(sorted(found.items()))


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _country_case(expr: str, countries: Mapping[str, str]) -> str:
    if not countries:
        return "CAST(NULL AS VARCHAR)"
    return f"CASE {expr} " + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in countries.items()) + " END"


def _licence_sql(source_aliases: list[str], schemas: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The ``licence`` column: every licence of the sources enum that the row carries, in sorted order."""
    from ._licences import CURATION_LICENCE

    if "sources" not in schemas:
        return None
    field = next((f for f in schemas["sources"]["fields"] if f["name"] == "licence"), None)
    if field is None:
        return None
    known = sorted({CURATION_LICENCE, *((field.get("constraints") or {}).get("enum") or [])})
    cited = ", ".join(f"{a}.{_q('licence')}" for a in source_aliases)
    parts = [f"', {lic}'" if lic == CURATION_LICENCE or not cited
             else f"CASE WHEN {_lit(lic)} IN ({cited}) THEN ', {lic}' ELSE '' END"
             for lic in known if lic == CURATION_LICENCE or cited]
    return f"substr({' || '.join(parts)}, 3) AS {_q('licence')}"


def _sql_views(schemas: Mapping[str, Mapping[str, Any]], countries: Mapping[str, str]) -> dict[str, tuple[str, list[str]]]:
    views: dict[str, tuple[str, list[str]]] = {}
    for name, schema in schemas.items():
        names: list[str] = []
        select: list[str] = []
        joins: list[str] = []
        sources: list[str] = []  # aliases of the joins into sources: what the row cites
        labelled_any = False
        fields = [f["name"] for f in schema["fields"]]
        columns: list[tuple[str, str]] = []  # (column name, SQL expression)
        for column in fields:
            columns.append((column, f"t.{_q(column)}"))
            if column == "market_id" and name != "markets" and "markets" in schemas:
                market_fields = [f["name"] for f in schemas["markets"]["fields"]]
                joins.append(f"LEFT JOIN {_q('markets')} AS mk ON mk.{_q('market_id')} = t.{_q('market_id')}")
                columns += [(c, f"mk.{_q(c)}") for c in _MARKET_COLUMNS if c in market_fields and c not in fields]
        exprs = dict(columns)
        for column, expr in columns:
            select.append(expr if expr == f"t.{_q(column)}" else f"{expr} AS {_q(column)}")
            names.append(column)
            if column == _OWN_KEY.get(name):
                continue
            rule = _rule(name, column)
            if rule is not None and rule[0] in schemas:
                target, key, labels, prefix = rule
                alias = f"j{len(joins)}"
                joins.append(f"LEFT JOIN {_q(target)} AS {alias} ON {alias}.{_q(key)} = {expr}")
                select += [f"{alias}.{_q(src)} AS {_q(f'{prefix}_{suffix}')}" for suffix, src in labels]
                names += [f"{prefix}_{suffix}" for suffix, _ in labels]
                if target == "sources":
                    sources.append(alias)
                labelled_any = True
            elif column == "holder" and "companies" in schemas:
                alias = f"j{len(joins)}"
                joins.append(f"LEFT JOIN {_q('companies')} AS {alias} ON {alias}.{_q('company_id')} = {expr}")
                kind = exprs.get("breakdown", "NULL")
                named = _country_case(expr, countries)
                as_country = (f"{kind} = 'country' OR ({kind} IS NULL AND {alias}.{_q('company_id')} IS NULL "
                              f"AND {named} IS NOT NULL)")
                select.append(f"CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} = 'other' THEN '{REST_OF_MARKET_LABEL}' "
                              f"WHEN {as_country} THEN {named} ELSE {alias}.{_q('name_en')} END AS {_q('holder_name')}")
                select.append(f"CASE WHEN {expr} IS NULL OR {expr} = 'other' THEN NULL "
                              f"WHEN {as_country} THEN {expr} ELSE {alias}.{_q('country')} END AS {_q('holder_country')}")
                names += ["holder_name", "holder_country"]
                labelled_any = True
            elif column in _COUNTRY_COLUMNS:
                select.append(f"{_country_case(expr, countries)} AS {_q(_COUNTRY_COLUMNS[column])}")
                names.append(_COUNTRY_COLUMNS[column])
                labelled_any = True
        licence = _licence_sql(sources, schemas)
        if labelled_any and licence is not None and "licence" not in fields:
            select.append(licence)
            names.append("licence")
        if labelled_any:
            views[f"{name}_labelled"] = (f"SELECT {', '.join(select)} FROM {_q(name)} AS t {' '.join(joins)}", names)
    return views
