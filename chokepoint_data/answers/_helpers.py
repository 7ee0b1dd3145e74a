"""Helpers for the common questions: timeline(), targets(), append().

Answers are computed from the shipped tables at call time and never stored: our arithmetic
(a gap, an order) is not data. Every row of an answer names the source it comes from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from .._errors import ArgumentError, UnknownIdError, ValidationError
from ..rules._explain import nearest_ids

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["timeline", "targets", "append", "TIMELINE_KINDS"]

#: The kinds of fact in a timeline, in the order they are listed within one date.
TIMELINE_KINDS = ("policy", "assessment", "indicator", "market_share")


def _tables(*names: str) -> dict[str, "pd.DataFrame"]:
    from ..store import _loader

    return {n: _loader.load(n) for n in names}


def timeline(chokepoint_id: str) -> "pd.DataFrame":
    """Every dated fact about one choke point, in date order, each with its source.

    Parameters
    ----------
    chokepoint_id : str
        A ``chokepoints.chokepoint_id``.

    Returns
    -------
    pandas.DataFrame
        One row per fact: ``year``, ``date`` (a policy's announcement, or its end, which is a
        row of its own; empty for facts dated by year only), ``kind`` (policy, assessment,
        indicator, market_share),
        ``fact`` (the fact in words), ``value`` and ``unit`` (where it is a number),
        ``confidence``, ``source_id``, ``source_publisher``, ``source_published`` and
        ``source_url``. Sorted by year, then date, then kind in the order above.
        Disagreeing sources keep their own rows.

    Raises
    ------
    UnknownIdError
        ``chokepoint_id`` is not in ``chokepoints``; the message names the closest ids.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> t = cd.timeline("lithography-machines")
    >>> sorted(set(t["kind"]))
    ['assessment', 'indicator', 'market_share', 'policy']
    >>> bool(t["year"].is_monotonic_increasing)
    True
    """
    import pandas as pd

    from ..store._views import country_name

    if not isinstance(chokepoint_id, str):
        raise ArgumentError(f"timeline(): chokepoint_id must be an id (a str), not {type(chokepoint_id).__name__}")
    t = _tables("chokepoints", "assessments", "market_shares", "indicators", "policies", "policy_chokepoints",
                "sources", "companies")
    known = t["chokepoints"]["chokepoint_id"].astype(object).tolist()
    if chokepoint_id not in known:
        raise UnknownIdError("chokepoint_id", chokepoint_id, nearest_ids(chokepoint_id, known))
    rows: list[dict[str, Any]] = []

    a = t["assessments"][t["assessments"]["chokepoint_id"] == chokepoint_id]
    for r in a.itertuples(index=False):
        rows.append({"year": r.year, "date": pd.NaT, "kind": "assessment", "fact": f"status: {r.status}",
                     "value": None, "unit": None, "confidence": r.confidence, "source_id": r.source_id})

    shares = t["market_shares"]
    if "market_id" in shares.columns and "chokepoint_id" not in shares.columns:  # issue 7 layout
        markets = _tables("markets")["markets"]
        shares = shares.merge(markets.drop(columns=[c for c in ("confidence", "note") if c in markets.columns]),
                              on="market_id", how="left")
    names = dict(zip(t["companies"]["company_id"].astype(object), t["companies"]["name_en"].astype(object)))
    s = shares[shares["chokepoint_id"] == chokepoint_id]
    for r in s.itertuples(index=False):
        holder = "rest of market" if r.holder == "other" else (
            country_name(r.holder) if r.breakdown == "country" else names.get(r.holder, r.holder))
        rows.append({"year": r.year, "date": pd.NaT, "kind": "market_share",
                     "fact": f"{holder}: share of {r.scope} market ({r.basis}, by {r.breakdown})",
                     "value": r.share, "unit": "share", "confidence": r.confidence, "source_id": r.source_id})

    i = t["indicators"][t["indicators"]["chokepoint_id"] == chokepoint_id]
    for r in i.itertuples(index=False):
        forecast = " (forecast)" if r.is_forecast is True else ""
        scope = getattr(r, "product_scope", None)
        scope = f" [{scope}]" if isinstance(scope, str) else ""
        rows.append({"year": r.year, "date": pd.NaT, "kind": "indicator", "fact": f"{r.metric}, {r.geo}{scope}{forecast}",
                     "value": r.value, "unit": r.unit, "confidence": r.confidence, "source_id": r.source_id})

    links = t["policy_chokepoints"][t["policy_chokepoints"]["chokepoint_id"] == chokepoint_id]
    pol = t["policies"][t["policies"]["policy_id"].isin(links["policy_id"].astype(object).tolist())]
    for r in pol.itertuples(index=False):
        effective = f"; effective {r.effective:%Y-%m-%d}" if pd.notna(r.effective) and r.effective != r.announced else ""
        rows.append({"year": r.announced.year if pd.notna(r.announced) else None, "date": r.announced,
                     "kind": "policy", "fact": f"{r.kind}: {r.name_en} ({r.jurisdiction}){effective}",
                     "value": None, "unit": None, "confidence": r.confidence, "source_id": r.source_id})
        ended = getattr(r, "ended", None)
        if ended is not None and pd.notna(ended):  # issue 7: a policy's end is a dated fact of its own
            how = getattr(r, "end_kind", None)
            rows.append({"year": ended.year, "date": ended, "kind": "policy",
                         "fact": f"{'ended' if pd.isna(how) else how}: {r.name_en} ({r.jurisdiction})",
                         "value": None, "unit": None, "confidence": r.confidence,
                         "source_id": getattr(r, "end_source_id", None) or r.source_id})
        start = getattr(r, "suspended_from", None)
        if start is not None and pd.notna(start):  # a suspension is not an end: it has a span of its own
            until = getattr(r, "suspended_until", None)
            span = "no end date stated" if until is None or pd.isna(until) else f"through {until:%Y-%m-%d}"
            source = getattr(r, "suspension_source_id", None)
            rows.append({"year": start.year, "date": start, "kind": "policy",
                         "fact": f"suspended ({span}): {r.name_en} ({r.jurisdiction})",
                         "value": None, "unit": None, "confidence": r.confidence,
                         "source_id": source if isinstance(source, str) else r.source_id})

    out = pd.DataFrame(rows, columns=["year", "date", "kind", "fact", "value", "unit", "confidence", "source_id"])
    out = out.astype({"year": "Int64", "date": "datetime64[ns]", "kind": pd.CategoricalDtype(list(TIMELINE_KINDS), ordered=True),
                      "fact": "string", "value": "Float64", "unit": "string", "source_id": "string"})
    out["confidence"] = pd.Categorical(out["confidence"].astype(object), dtype=t["assessments"]["confidence"].dtype)
    src = t["sources"].set_index("source_id")
    ids = out["source_id"].astype(object)
    out["source_publisher"] = ids.map(src["publisher"]).astype("string")
    out["source_published"] = ids.map(src["published"]).astype("string")
    out["source_url"] = ids.map(src["url"]).astype("string")
    out = out.sort_values(["year", "date", "kind", "fact", "source_id"], kind="mergesort", na_position="last")
    return out.reset_index(drop=True)


def targets(*, policy_id: str | None = None) -> "pd.DataFrame":
    """Each quantified policy target next to what was achieved, with the gap and both sources.

    Parameters
    ----------
    policy_id : str, optional
        Keep one policy's targets (e.g. ``"mic2025"``); default all.

    Returns
    -------
    pandas.DataFrame
        One row per target: ``policy_id``, ``policy_name``, ``scope``, ``chokepoint_id``,
        ``metric``, ``unit``, ``target_value``, ``target_year``, ``achieved_value``,
        ``achieved_year``, ``gap`` (achieved minus target, in ``unit``; negative is a
        shortfall; empty where no achieved value is sourced), ``met`` (True when achieved
        reaches the target; False when it falls short in or after the target year; empty
        while it is too early to say or nothing is sourced), then the target's source and
        the achieved value's source (``source_*``, ``achieved_source_*``: id, publisher,
        published, url) and the row's ``confidence``.

    Raises
    ------
    UnknownIdError
        ``policy_id`` has no targets; the message names the closest policy ids.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> t = cd.targets(policy_id="mic2025")
    >>> robots = t[t["chokepoint_id"].eq("industrial-robots").fillna(False)]
    >>> print(robots[["target_year", "target_value", "achieved_value", "achieved_year", "gap", "met"]].to_string(index=False))
     target_year  target_value  achieved_value  achieved_year    gap   met
            2020           0.5            0.39           2020  -0.11 False
            2025           0.7           0.585           2024 -0.115  <NA>
    """
    import pandas as pd

    if policy_id is not None and not isinstance(policy_id, str):
        raise ArgumentError(f"targets(): policy_id must be an id (a str) or None, not {type(policy_id).__name__}")
    t = _tables("policy_targets", "policies", "sources")
    pt = t["policy_targets"]
    if policy_id is not None:
        known = pt["policy_id"].astype(object).unique().tolist()
        if policy_id not in known:
            raise UnknownIdError("policy_id", policy_id, nearest_ids(policy_id, known))
        pt = pt[pt["policy_id"] == policy_id]
    names = dict(zip(t["policies"]["policy_id"].astype(object), t["policies"]["name_en"].astype(object)))
    out = pt[["policy_id", "scope", "chokepoint_id", "metric", "unit", "target_value", "target_year",
              "achieved_value", "achieved_year"]].copy()
    out.insert(1, "policy_name", out["policy_id"].astype(object).map(names).astype("string"))
    out["gap"] = (out["achieved_value"] - out["target_value"]).round(6)
    reached = out["achieved_value"] >= out["target_value"]
    judged = out["achieved_year"] >= out["target_year"]
    met = pd.Series(pd.NA, index=out.index, dtype="boolean")
    met[reached.fillna(False).astype(bool)] = True
    met[(~reached & judged).fillna(False).astype(bool)] = False
    out["met"] = met
    src = t["sources"].set_index("source_id")
    for prefix, col in (("source", "source_id"), ("achieved_source", "achieved_source_id")):
        ids = pt[col].astype(object)
        out[f"{prefix}_id"] = pt[col]
        out[f"{prefix}_publisher"] = ids.map(src["publisher"]).astype("string")
        out[f"{prefix}_published"] = ids.map(src["published"]).astype("string")
        out[f"{prefix}_url"] = ids.map(src["url"]).astype("string")
    out["confidence"] = pt["confidence"]
    return out.sort_values(["policy_id", "target_year", "scope"], kind="mergesort").reset_index(drop=True)


def _as_pandas(rows: Any) -> "pd.DataFrame":
    """The new rows as a pandas frame, values as given (nothing converted: validation decides)."""
    import pandas as pd

    from ..rules._validate import _as_frame

    if isinstance(rows, pd.DataFrame):
        return rows.copy()
    if isinstance(rows, Mapping):
        return pd.DataFrame([dict(rows)], dtype=object)
    if type(rows).__module__.split(".")[0] in ("polars", "pyarrow"):
        return _as_frame("rows", rows).to_pandas()
    if isinstance(rows, Iterable) and not isinstance(rows, (str, bytes, bytearray)):
        items = list(rows)  # a list, a tuple or a generator of dicts
        if all(isinstance(r, Mapping) for r in items):
            return pd.DataFrame([dict(r) for r in items], dtype=object)  # as given: no inference
        bad = next(r for r in items if not isinstance(r, Mapping))
        raise ArgumentError(f"append(): rows must hold dicts (one per row); found a {type(bad).__name__}: {bad!r:.60}")
    raise ArgumentError(f"append(): rows must be a DataFrame (pandas or polars, eager or lazy), a pyarrow Table, "
                        f"a dict, or a list (or other iterable) of dicts, not {type(rows).__name__}")


def _combined(shipped: "pd.DataFrame", new: "pd.DataFrame") -> "pd.DataFrame":
    """The shipped rows then the new ones, column by column, without converting a new value.

    A column whose new values have the shipped dtype is joined as it is; any other is joined
    as Python objects, so validate() parses every new value exactly as it parses a frame
    given to it (and refuses what it refuses, with the same messages).
    """
    import pandas as pd

    out = {}
    for col in new.columns:
        if col not in shipped.columns:
            out[col] = new[col]
            continue
        old = shipped[col]
        if new[col].dtype == old.dtype and not isinstance(old.dtype, pd.CategoricalDtype):
            out[col] = pd.concat([old, new[col]], ignore_index=True)
        else:
            out[col] = pd.concat([old.astype(object), new[col].astype(object)], ignore_index=True)
    return pd.DataFrame(out)


def append(name: str, rows: Any) -> "pd.DataFrame":
    """The shipped table ``name`` plus ``rows``, typed like ``load(name)`` and validated.

    Parameters
    ----------
    name : str
        A table name (see ``list_tables()``).
    rows : pandas.DataFrame, polars.DataFrame, pyarrow.Table, dict or list of dicts
        The new rows, with the table's columns (a missing optional column is left empty).

    Returns
    -------
    pandas.DataFrame
        The shipped rows (labels ``0 .. n-1``) then the new ones (``n ..``), with the
        dtypes of ``load(name)``: categoricals stay categoricals, integers stay ``Int64``.

    Raises
    ------
    ValidationError
        The combined table (checked against the other shipped tables) breaks a rule; every
        failure names the row label, column and, where it helps, the nearest existing id,
        the sum of the market's shares, or the fraction a percentage should be.
    UnknownTableError
        ``name`` is not a table.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> new = {"chokepoint_id": "euv-lithography", "year": 2018, "status": "dependent",
    ...        "rationale": "Illustration only: not a real assessment.", "source_id": "eto-2025-chip-explorer-provision",
    ...        "confidence": "high"}
    >>> extended = cd.append("assessments", [new])
    >>> len(extended) == len(cd.load("assessments")) + 1, str(extended["status"].dtype)
    (True, 'category')
    >>> try:
    ...     cd.append("assessments", [dict(new, source_id="eto-2025-chip-explorer-provisio")])
    ... except cd.ValidationError as err:
    ...     print(err.failures[0].message)
    value does not resolve to sources.source_id; did you mean 'eto-2025-chip-explorer-provision'?
    """
    import pandas as pd

    from ..store import _loader
    from ..rules._validate import validate

    if not isinstance(name, str):
        raise ArgumentError(f"append(): name must be a table name (a str), not {type(name).__name__}")
    shipped = _loader.load(name)
    new = _as_pandas(rows)
    new.columns = [str(c) for c in new.columns]
    for col in shipped.columns:
        if col not in new.columns:
            new[col] = pd.Series([None] * len(new), dtype=object)
    extra = [c for c in new.columns if c not in shipped.columns]
    new = new[list(shipped.columns) + extra].reset_index(drop=True)
    combined = _combined(shipped, new)
    try:
        checked = validate({name: combined})  # its failures are already explained (_explain)
    except ValidationError as err:
        raise ValidationError(err.failures, context=f"append({name!r})") from None
    return checked[name]
