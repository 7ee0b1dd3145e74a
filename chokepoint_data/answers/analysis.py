"""Answers computed from the tables at call time, never stored: our arithmetic is not data.

- ``status()``: one row per choke point, its status by the stated rule (docs/METHOD.md), with
  how old its evidence is, whether that makes it stale, and a documented search where one
  found nothing current.
- ``data_date()``: the data's own date (the latest ``sources.accessed``), the default reference
  date of ``status()`` and ``in_force()``.
- ``concentration()``: one row per market, with coverage, top holder, CR3 and HHI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from .._errors import ArgumentError, check_choice, check_flag

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["BASES", "STALE_AFTER", "STATUS_RULE", "concentration", "data_date", "status"]

GRADES = ("low", "medium", "high")
STATUSES = ("dependent", "partial", "largely_overcome", "overcome")
DIRECTIONS = ("dependency", "leverage")

#: A status is stale when its evidence is more than this many years older than the reference
#: year (``as_of``, else the year of ``data_date()``): with 2026 as reference, 2023 is current.
STALE_AFTER = 3

#: What a status rests on (``status()["basis"]``).
BASES = ("current", "stale", "searched_nothing_current", "no_assessment")

#: The status rule in one sentence; ``summary`` prints it and docs/METHOD.md explains it.
STATUS_RULE = ("latest year among assessments graded at least {min_confidence}, up to {as_of}; "
               "a lower grade never overrides a higher one; within that year the higher grade wins, "
               "then the more cautious status")


def _check_choice(name: str, value: object, allowed: tuple[object, ...]) -> None:
    check_choice("status", name, value, allowed)


def data_date() -> "pd.Timestamp":
    """The data's own date: the latest ``sources.accessed`` of the shipped release.

    Fixed per release (unlike the wall clock), so documented output does not drift: ``status()``
    measures the age of evidence against its year, and ``in_force()`` defaults to it.

    Examples
    --------
    >>> from chokepoint_data.answers.analysis import data_date
    >>> data_date().year >= 2026
    True
    """
    import pandas as pd

    from ..store._loader import load

    return pd.Timestamp(load("sources")["accessed"].max()).normalize()


def _pick(assessments: "pd.DataFrame", min_confidence: str, as_of: int | None) -> "pd.DataFrame":
    """Apply the status rule: one assessment row per choke point (those with a qualifying row)."""
    import pandas as pd

    a = assessments.copy()
    a["_grade"] = a["confidence"].astype("object").map({g: i for i, g in enumerate(GRADES)})
    a["_status"] = a["status"].astype("object").map({s: i for i, s in enumerate(STATUSES)})
    a = a[a["_grade"] >= GRADES.index(min_confidence)]
    if as_of is not None:
        a = a[a["year"] <= as_of]
    if a.empty:
        return a
    # latest year first; then higher grade; then the more cautious (lower) status; then source id
    a = a.sort_values(["chokepoint_id", "year", "_grade", "_status", "source_id"],
                      ascending=[True, False, False, True, True], kind="mergesort")
    top = a.groupby("chokepoint_id", observed=True, sort=False).head(1)
    same = a.merge(top[["chokepoint_id", "year", "_grade"]], on=["chokepoint_id", "year", "_grade"])
    disputed = same.groupby("chokepoint_id", observed=True)["_status"].nunique() > 1
    top = top.set_index("chokepoint_id")
    top["disputed"] = disputed.reindex(top.index).fillna(False).astype(bool)
    return pd.DataFrame(top.reset_index())


def status(*, as_of: int | None = None, min_confidence: Literal["low", "medium", "high"] = "medium",
           direction: Literal["dependency", "leverage"] | None = "dependency", since: int = 2018) -> "pd.DataFrame":
    """The status of each choke point, by one stated rule, with how old its evidence is.

    The rule: among the assessments graded at least ``min_confidence`` and dated no later
    than ``as_of``, take the latest year; within that year the higher grade wins, then the
    more cautious status (``disputed`` is True when same-year, same-grade sources disagree).
    A lower-graded row therefore never overrides a higher-graded one. A choke point with no
    assessment at or above ``min_confidence`` gets no status (``status`` is NA) rather than
    one from weaker evidence; lower ``min_confidence`` to see those.

    Age: the reference year is ``as_of`` when given, else the year of the data's own date
    (``data_date()``: the latest ``sources.accessed``, fixed per release, so this output does not
    drift with the wall clock). A status whose evidence year is more than ``STALE_AFTER`` (3)
    years before the reference year is ``stale``. Where the latest qualifying assessment is
    stale (or there is none) and a documented search (table ``searches``) dated no earlier than
    that evidence year (and no later than ``as_of``) found nothing current, the row reports the
    search instead: ``basis`` is ``searched_nothing_current``, ``status`` is NA, ``searched`` is
    the search date, and ``rationale`` says what was last known (status, year, source).

    Parameters
    ----------
    as_of : int, optional
        Only assessments (and searches) of this year or earlier count (the status "as it
        stood"); also the reference year for the evidence's age.
    min_confidence : {"low", "medium", "high"}, default "medium"
        The lowest grade that counts.
    direction : {"dependency", "leverage"} or None, default "dependency"
        Which choke points: China's dependencies (the default), the materials where China
        holds the leverage, or None for all.
    since : int, default 2018
        ``status_since`` and ``year_since`` give the status by the same rule as of this year,
        so ``changed`` shows what moved since.

    Returns
    -------
    pandas.DataFrame
        One row per choke point: ``chokepoint_id``, ``name_en``, ``direction``, ``status``,
        ``year`` (the evidence year), ``confidence``, ``source_id``, ``rationale``, ``disputed``,
        ``evidence_age`` (reference year minus ``year``), ``stale`` (True where a status is
        reported on evidence older than ``STALE_AFTER`` years), ``basis`` (``current``,
        ``stale``, ``searched_nothing_current`` or ``no_assessment``), ``searched`` (the date
        of that search), ``status_since``, ``year_since``, ``changed`` and ``n_assessments``
        (all grades). ``changed`` is a nullable boolean: NA (not False) where there is no
        baseline, no current status, or the current status rests on the baseline's own year
        (one point is no comparison); so ``st[st.changed == True]`` lists what moved, and
        ``st.changed.isna()`` what cannot be told.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> st = cd.status().set_index("chokepoint_id")
    >>> st.loc["ev-batteries", "status"], st.loc["ev-batteries", "basis"]
    ('overcome', 'current')
    >>> print(st.loc["ev-batteries", "changed"])  # no 2018 row graded medium or higher: not False
    <NA>
    >>> bool((cd.status(direction="leverage")["direction"] == "leverage").all())
    True
    """
    import pandas as pd

    from ..store._loader import load

    _check_choice("min_confidence", min_confidence, GRADES)
    _check_choice("direction", direction, (*DIRECTIONS, None))
    for name, value in (("as_of", as_of), ("since", since)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ArgumentError(f"status(): {name} must be a year as an int, not {type(value).__name__}")
    cp = load("chokepoints")
    a = load("assessments")
    if direction is not None:
        cp = cp[cp["direction"] == direction]
    a = a[a["chokepoint_id"].isin(cp["chokepoint_id"])]
    now = _pick(a, min_confidence, as_of)
    then = _pick(a, min_confidence, since if as_of is None else min(since, as_of))
    out = cp[["chokepoint_id", "name_en", "direction"]].astype({"chokepoint_id": "string"}).merge(
        now[["chokepoint_id", "status", "year", "confidence", "source_id", "rationale", "disputed"]].astype({"chokepoint_id": "string"}),
        on="chokepoint_id", how="left")
    then = then[["chokepoint_id", "status", "year"]].rename(columns={"status": "status_since", "year": "year_since"})
    out = out.merge(then.astype({"chokepoint_id": "string"}), on="chokepoint_id", how="left")
    counts = a.groupby("chokepoint_id", observed=True).size()
    out["n_assessments"] = out["chokepoint_id"].astype("object").map(counts).fillna(0).astype("int64")
    for col in ("year", "year_since"):
        out[col] = out[col].astype("Int64")
    reference = as_of if as_of is not None else int(data_date().year)
    out = _age(out, reference, _searches(load("searches"), as_of), min_confidence)
    status_type = pd.CategoricalDtype(list(STATUSES), ordered=True)
    out["status"] = out["status"].astype("object").astype(status_type)
    out["status_since"] = out["status_since"].astype("object").astype(status_type)
    out["confidence"] = out["confidence"].astype("object").astype(pd.CategoricalDtype(list(GRADES), ordered=True))
    out["disputed"] = out["disputed"].astype("boolean").fillna(False).astype(bool)
    comparable = out["status"].notna() & out["status_since"].notna() & (out["year"] != out["year_since"]).fillna(False)
    changed = out["status"].astype("object") != out["status_since"].astype("object")
    out["changed"] = changed.astype("boolean").where(comparable, pd.NA)
    cols = ["chokepoint_id", "name_en", "direction", "status", "year", "confidence", "source_id", "rationale",
            "disputed", "evidence_age", "stale", "basis", "searched", "status_since", "year_since", "changed",
            "n_assessments"]
    return out[cols].sort_values("chokepoint_id", kind="mergesort").reset_index(drop=True)


def _searches(searches: "pd.DataFrame", as_of: int | None) -> "pd.DataFrame":
    """The latest documented search per choke point, dated no later than ``as_of``."""
    s = searches.copy()
    s["searched"] = s["searched"].astype("datetime64[ns]")
    if as_of is not None:
        s = s[s["searched"].dt.year <= as_of]
    s = s.sort_values(["chokepoint_id", "searched"], kind="mergesort")
    return s.groupby("chokepoint_id", observed=True).tail(1).astype({"chokepoint_id": "string"}).set_index("chokepoint_id")


def _age(out: "pd.DataFrame", reference: int, searches: "pd.DataFrame", min_confidence: str) -> "pd.DataFrame":
    """Add ``evidence_age``, ``stale``, ``basis`` and ``searched``; a qualifying search replaces a
    stale (or missing) status, its rationale saying what was last known."""
    import pandas as pd

    out = out.copy()
    age = (reference - out["year"]).astype("Int64")
    stale = (age > STALE_AFTER).fillna(False).astype(bool)
    search = searches.reindex(out["chokepoint_id"].astype("object"))
    searched = pd.Series(search["searched"].to_numpy(), index=out.index, dtype="datetime64[ns]")
    after_evidence = (searched.dt.year.astype("Int64") >= out["year"]).fillna(True).astype(bool)  # no status: any search
    use_search = searched.notna() & after_evidence & (stale | out["status"].isna())
    basis = pd.Series("current", index=out.index, dtype="object")
    basis[stale] = "stale"
    basis[out["status"].isna()] = "no_assessment"
    basis[use_search] = "searched_nothing_current"
    for i in out.index[use_search]:
        row, found = out.loc[i], search.iloc[out.index.get_loc(i)]
        newest = "" if pd.isna(found["newest_found"]) else f"; newest evidence it found, from any source: {int(found['newest_found'])}"
        if pd.isna(row["status"]):
            last = f"no assessment graded {min_confidence} or higher"
        else:
            last = f"{row['status']} in {int(row['year'])} ({row['source_id']}, graded {row['confidence']})"
        out.loc[i, "rationale"] = (f"A documented search on {searched[i]:%Y-%m-%d} found nothing current{newest} "
                                   f"(table searches). Last known: {last}.")
        for col in ("status", "year", "confidence", "source_id"):
            out.loc[i, col] = pd.NA
        age[i] = pd.NA
        stale[i] = False
    out["evidence_age"] = age.astype("Int64")
    out["stale"] = stale.astype(bool)
    out["basis"] = pd.Categorical(basis, categories=list(BASES))
    out["searched"] = searched.where(use_search)
    return out


def concentration(*, commercial_only: bool = False, labels: bool = False) -> "pd.DataFrame":
    """Concentration of every market, computed from its named holders.

    Rest-of-market rows (holder ``other``) never count as a holder. Where the named holders
    cover less of the market than the whole (``covered`` below 1 minus the market's
    tolerance), the HHI is a lower bound (``hhi_lower_bound``): the unnamed rest could only
    add to it.

    Parameters
    ----------
    commercial_only : bool, default False
        Leave out markets whose source forbids commercial use.
    labels : bool, default False
        Add the names a reader needs, as ``load(..., labels=True)`` does for tables: next to
        ``chokepoint_id`` its ``chokepoint_name`` and ``chokepoint_direction``, next to
        ``source_id`` the source's ``source_publisher``, and next to ``top_holder`` its
        ``top_holder_name`` (a company's name, a country's name, or the rest-of-market label),
        ``top_holder_country`` (a company's headquarters or the country itself, ISO alpha-3) and
        ``top_holder_country_name``. The plain columns are unchanged.

    Returns
    -------
    pandas.DataFrame
        One row per market: ``market_id``, ``chokepoint_id``, ``year``, ``period`` (empty: the
        whole year; a quarter's concentration is not a year's), ``scope``, ``basis``,
        ``breakdown``, ``source_id``, ``preferred`` (the one to show among rival sources),
        ``coverage``, ``n_holders``, ``covered`` (sum of named
        holders' shares), ``top_holder``, ``top_share``, ``cr3`` (sum of the three largest),
        ``hhi`` (sum of squared percentage shares, 0-10,000; slightly above 10,000 only where the
        source's rounded shares sum past 100 %, as the market's tolerance allows) and
        ``hhi_lower_bound``.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> c = cd.concentration().set_index("market_id")
    >>> row = c.loc["euv-lithography:2025:global:revenue:company:eto-2026-chip-explorer-provision"]
    >>> row["top_holder"], float(row["top_share"]), float(row["hhi"])
    ('asml', 1.0, 10000.0)
    >>> named = cd.concentration(labels=True).set_index("market_id")
    >>> named.loc[row.name, ["top_holder_name", "top_holder_country_name"]].tolist()
    ['ASML', 'Netherlands']
    """
    import pandas as pd

    from ..rules._invariants import MARKET_SHARE_TOLERANCE, REST_OF_MARKET
    from ..store._loader import load

    check_flag("concentration", "commercial_only", commercial_only)
    markets = load("markets", commercial_only=commercial_only)
    shares = load("market_shares", commercial_only=commercial_only)
    named = shares[(shares["holder"] != REST_OF_MARKET)].astype({"market_id": "string"})
    named = named.assign(share=named["share"].astype("float64"))
    named = named.sort_values(["market_id", "share", "holder"], ascending=[True, False, True], kind="mergesort")
    g = named.groupby("market_id", sort=True)
    stats = pd.DataFrame({
        "n_holders": g.size(),
        "covered": g["share"].sum(),
        "top_holder": g["holder"].first(),
        "top_share": g["share"].first(),
        "cr3": g["share"].apply(lambda s: s.head(3).sum()),
        "hhi": g["share"].apply(lambda s: float(((s * 100) ** 2).sum())),
    })
    cols = ["market_id", "chokepoint_id", "year", "period", "scope", "basis", "breakdown", "source_id", "preferred",
            "coverage", "sum_tolerance"]
    out = markets[cols].astype({"market_id": "string"}).merge(stats.reset_index(), on="market_id", how="left")
    out["n_holders"] = out["n_holders"].fillna(0).astype("int64")
    out["covered"] = out["covered"].fillna(0.0).astype("float64")
    tol = out["sum_tolerance"].astype("Float64").fillna(MARKET_SHARE_TOLERANCE).astype("float64")
    out["hhi_lower_bound"] = (out["covered"] < 1 - tol) | (out["coverage"].astype("object") != "complete")
    out["top_holder"] = out["top_holder"].astype("string")
    for col in ("top_share", "cr3", "hhi"):
        out[col] = out[col].astype("Float64").round(6)
    out["covered"] = out["covered"].round(6)
    out = out.drop(columns=["sum_tolerance"]).sort_values("market_id", kind="mergesort").reset_index(drop=True)
    if not isinstance(labels, bool):
        from .._errors import ArgumentError

        raise ArgumentError(f"concentration(): labels must be True or False, not {labels!r}")
    return _label_concentration(out, commercial_only) if labels else out


def _label_concentration(out: "pd.DataFrame", commercial_only: bool) -> "pd.DataFrame":
    """``concentration()``'s frame with names beside its ids (see its ``labels``)."""
    from ..store._loader import load
    from ..store._views import _holder_names, country_name

    markets = load("markets", labels=True, commercial_only=commercial_only).astype({"market_id": "string"})
    extra = ["chokepoint_name", "chokepoint_direction", "source_publisher"]
    out = out.merge(markets[["market_id", *extra]], on="market_id", how="left")
    holders = out[["breakdown"]].assign(holder=out["top_holder"])
    name, country = _holder_names(holders, load("companies"))
    out["top_holder_name"], out["top_holder_country"] = name, country
    out["top_holder_country_name"] = country.map(lambda c: country_name(c) if isinstance(c, str) else None).astype("string")
    order = []
    for col in [c for c in out.columns if c not in extra and not c.startswith("top_holder_")]:
        order.append(col)
        if col == "chokepoint_id":
            order += ["chokepoint_name", "chokepoint_direction"]
        elif col == "source_id":
            order.append("source_publisher")
        elif col == "top_holder":
            order += ["top_holder_name", "top_holder_country", "top_holder_country_name"]
    return out[order]
