"""Rules that Table Schema cannot say, as pandera checks.

Each rule is a DataFrame-level ``pandera.Check`` that returns one boolean per row
(``False`` marks the rows that break it), so a failure names the row and, through the
primary key, the fact. The checks close over the other tables of the set where a rule
crosses tables. Every rule here has a test that feeds it a bad frame.
"""

from __future__ import annotations

import functools
from typing import Callable, Mapping

import pandas as pd
import pandera.pandas as pa

from ._schemas import Registry

__all__ = ["MARKET_SHARE_TOLERANCE", "MAX_LOCATOR_WORDS", "RULES", "invariant_checks"]

#: Shares of one market may sum to at most ``1 + MARKET_SHARE_TOLERANCE``; where a
#: rest-of-market row (holder ``other``) is present they must sum to within this of 1.
#: Published shares are rounded (to 0.1 or 1 percentage point each), so a market with a
#: dozen rounded holders can overshoot by about a point.
MARKET_SHARE_TOLERANCE = 0.015
MAX_LOCATOR_WORDS = 25
REST_OF_MARKET = "other"

MARKET_KEY = ["chokepoint_id", "year", "scope", "basis", "breakdown", "source_id"]


@functools.lru_cache(maxsize=None)
def _iso3_codes() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.countries)


def _valid_iso3(series: pd.Series) -> pd.Series:
    codes = _iso3_codes()
    return series.isna() | series.map(lambda v: v in codes if isinstance(v, str) else False).astype(bool)


def _rows(d: pd.DataFrame, values) -> pd.Series:
    return pd.Series(values, index=d.index, dtype=bool).fillna(False)


def _filled(s: pd.Series) -> pd.Series:
    """Boolean-safe: NA (a null cell, reported elsewhere) counts as passing here."""
    return s.fillna(True).astype(bool)


# --- market shares -------------------------------------------------------------------

def _market_sum(d: pd.DataFrame) -> pd.Series:
    total = d.groupby(MARKET_KEY, dropna=False, observed=True)["share"].transform("sum")
    return _filled(total <= 1 + MARKET_SHARE_TOLERANCE)


def _market_rest(d: pd.DataFrame) -> pd.Series:
    has_rest = (d["holder"] == REST_OF_MARKET).fillna(False)
    group_has_rest = has_rest.groupby([d[k] for k in MARKET_KEY], dropna=False, observed=True).transform("any")
    total = d.groupby(MARKET_KEY, dropna=False, observed=True)["share"].transform("sum")
    ok = ~group_has_rest.astype(bool) | ((total - 1).abs() <= MARKET_SHARE_TOLERANCE).fillna(True)
    return _filled(ok)


def _market_holder(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    companies = frames.get("companies")
    company_ids = set(companies["company_id"].dropna()) if companies is not None and "company_id" in companies else set()
    codes = _iso3_codes()

    def ok(d: pd.DataFrame) -> pd.Series:
        out = []
        for breakdown, holder in zip(d["breakdown"].tolist(), d["holder"].tolist()):
            if not isinstance(holder, str) or not isinstance(breakdown, str) or holder == REST_OF_MARKET:
                out.append(True)
            elif breakdown == "company":
                out.append(holder in company_ids)
            elif breakdown == "country":
                out.append(holder in codes)
            else:
                out.append(True)
        return _rows(d, out)

    return ok


# --- values that are shares ----------------------------------------------------------

def _share_in_unit_range(value_cols: tuple[str, ...]) -> Callable[[pd.DataFrame], pd.Series]:
    def ok(d: pd.DataFrame) -> pd.Series:
        is_share = (d["unit"] == "share").fillna(False)
        good = pd.Series(True, index=d.index)
        for col in value_cols:
            v = d[col]
            good &= _filled(~is_share | v.isna() | ((v >= 0) & (v <= 1)))
        return good

    return ok


# --- policies and targets ------------------------------------------------------------

def _effective_after_announced(d: pd.DataFrame) -> pd.Series:
    return _filled(d["effective"].isna() | d["announced"].isna() | (d["effective"] >= d["announced"]))


def _amount_has_unit(d: pd.DataFrame) -> pd.Series:
    return _filled(d["amount"].isna() == d["amount_unit"].isna())


def _target_after_announcement(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    policies = frames.get("policies")
    announced: dict[str, int] = {}
    if policies is not None and {"policy_id", "announced"} <= set(policies.columns):
        for pid, date in zip(policies["policy_id"].tolist(), policies["announced"].tolist()):
            if isinstance(pid, str) and not pd.isna(date):
                announced[pid] = pd.Timestamp(date).year

    def ok(d: pd.DataFrame) -> pd.Series:
        out = []
        for pid, year in zip(d["policy_id"].tolist(), d["target_year"].tolist()):
            start = announced.get(pid) if isinstance(pid, str) else None
            out.append(start is None or pd.isna(year) or int(year) >= start)
        return _rows(d, out)

    return ok


TARGET_SERIES = ["policy_id", "scope", "chokepoint_id", "metric", "unit"]


def _targets_not_lower(d: pd.DataFrame) -> pd.Series:
    ok = pd.Series(True, index=d.index)
    keyed = d.dropna(subset=["target_year", "target_value"])
    for _, group in keyed.groupby(TARGET_SERIES, dropna=False, observed=True):
        group = group.sort_values("target_year")
        running = group["target_value"].cummax()
        bad = group["target_value"] < running
        ok.loc[bad[bad].index] = False
    return ok


def _achieved_complete(d: pd.DataFrame) -> pd.Series:
    present = d[["achieved_value", "achieved_year", "achieved_source_id"]].notna()
    return _rows(d, (present.all(axis=1) | ~present.any(axis=1)).tolist())


# --- dates and misc ------------------------------------------------------------------

def _published_not_after_accessed(d: pd.DataFrame) -> pd.Series:
    out = []
    for pub, acc in zip(d["published"].tolist(), d["accessed"].tolist()):
        if not isinstance(pub, str) or pd.isna(acc):
            out.append(True)
            continue
        acc_text = pd.Timestamp(acc).strftime("%Y-%m-%d")
        out.append(pub <= acc_text[: len(pub)])
    return _rows(d, out)


def _no_parent_cycle(d: pd.DataFrame) -> pd.Series:
    parent = {k: p for k, p in zip(d["chokepoint_id"].tolist(), d["parent_id"].tolist()) if isinstance(k, str)}
    out = []
    for key in d["chokepoint_id"].tolist():
        seen, node, ok = set(), key, True
        while isinstance(node, str):
            if node in seen:
                ok = False
                break
            seen.add(node)
            node = parent.get(node)
            if not isinstance(node, str):
                break
        out.append(ok)
    return _rows(d, out)


def _distinct_name_zh(d: pd.DataFrame) -> pd.Series:
    """Two choke points with one Chinese name are one thing recorded twice (锂电池隔膜 was)."""
    named = d["name_zh"].notna() & (d["name_zh"].astype("string").str.strip() != "")
    return _filled(~(named & d["name_zh"].duplicated(keep=False)))


WEAK_SOURCE_KINDS = ("aggregator", "blog")


def _grade_fits_source(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    sources = frames.get("sources")
    weak: set[str] = set()
    if sources is not None and {"source_id", "kind"} <= set(sources.columns):
        weak = set(sources.loc[sources["kind"].isin(WEAK_SOURCE_KINDS).fillna(False), "source_id"])

    def ok(d: pd.DataFrame) -> pd.Series:
        return _filled(~((d["confidence"] == "high") & d["source_id"].isin(weak)))

    return ok


def _locator_words(d: pd.DataFrame) -> pd.Series:
    return _filled(d["locator"].isna() | (d["locator"].str.split().str.len() <= MAX_LOCATOR_WORDS))


def _iso3(col: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda d: _valid_iso3(d[col])


# --- the register --------------------------------------------------------------------
# (table, rule, message, column, factory): factory(frames) -> row-wise check function.
RULES: list[tuple[str, str, str, str | None, Callable[[Mapping[str, pd.DataFrame]], Callable]]] = [
    ("market_shares", "market_share_sum", f"shares of one market ({', '.join(MARKET_KEY)}) sum to more than 1 + {MARKET_SHARE_TOLERANCE}", None, lambda f: _market_sum),
    ("market_shares", "market_share_rest_sum", f"a market with a rest-of-market row ('{REST_OF_MARKET}') must sum to 1 within {MARKET_SHARE_TOLERANCE}", None, lambda f: _market_rest),
    ("market_shares", "market_holder", "holder must be a companies.company_id (breakdown company), an ISO 3166-1 alpha-3 code (breakdown country), or 'other'", "holder", _market_holder),
    ("indicators", "share_range", "a value whose unit is share must lie in [0, 1]", "value", lambda f: _share_in_unit_range(("value",))),
    ("indicators", "country_code", "geo must be an ISO 3166-1 alpha-3 country code", "geo", lambda f: _iso3("geo")),
    ("companies", "country_code", "country must be an ISO 3166-1 alpha-3 country code", "country", lambda f: _iso3("country")),
    ("policies", "country_code", "jurisdiction must be an ISO 3166-1 alpha-3 country code", "jurisdiction", lambda f: _iso3("jurisdiction")),
    ("policies", "effective_after_announced", "effective date is before the announcement date", "effective", lambda f: _effective_after_announced),
    ("policies", "amount_unit", "amount and amount_unit go together: both or neither", "amount_unit", lambda f: _amount_has_unit),
    ("policy_targets", "share_range", "target_value and achieved_value must lie in [0, 1] when unit is share", None, lambda f: _share_in_unit_range(("target_value", "achieved_value"))),
    ("policy_targets", "target_after_announcement", "target_year is before the year the policy was announced", "target_year", _target_after_announcement),
    ("policy_targets", "targets_not_lower", f"a later target for the same ({', '.join(TARGET_SERIES)}) is lower than an earlier one", "target_value", lambda f: _targets_not_lower),
    ("policy_targets", "achieved_complete", "achieved_value, achieved_year and achieved_source_id go together: all or none", None, lambda f: _achieved_complete),
    ("sources", "published_before_accessed", "published date is after the accessed date", "published", lambda f: _published_not_after_accessed),
    ("chokepoints", "parent_cycle", "parent_id chain loops back on itself", "parent_id", lambda f: _no_parent_cycle),
    ("chokepoints", "distinct_name_zh", "two choke points share a Chinese name (name_zh): merge them into one", "name_zh", lambda f: _distinct_name_zh),
]
for _table in ("assessments", "company_chokepoints", "market_shares", "indicators", "policies", "policy_targets"):
    RULES.append((_table, "locator_words", f"a locator quote must be at most {MAX_LOCATOR_WORDS} words", "locator", lambda f: _locator_words))
    RULES.append((_table, "grade_fits_source", f"confidence 'high' needs a source that is not a {' or '.join(WEAK_SOURCE_KINDS)} (docs/METHOD.md)", "confidence", _grade_fits_source))


def invariant_checks(table: str, frames: Mapping[str, pd.DataFrame], registry: Registry) -> list[pa.Check]:
    """The invariant checks of ``table``, closing over the other frames of the set."""
    return [
        registry.check(factory(frames), table=table, rule=rule, message=message, column=column)
        for t, rule, message, column, factory in RULES
        if t == table
    ]
