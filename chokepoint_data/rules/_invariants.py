"""Rules that Table Schema cannot say, as pandera checks.

Each rule is a DataFrame-level ``pandera.Check`` that returns one boolean per row
(``False`` marks the rows that break it), so a failure names the row and, through the
primary key, the fact. The checks close over the other tables of the set where a rule
crosses tables. Every rule here has a test that feeds it a bad frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np
import pandas as pd

from ._keys import _iso3_codes, holder_pools
from ._markets import COMPARED_SPLIT, MARKET_SHARE_TOLERANCE, REST_OF_MARKET, MarketCodes, split_gaps
from ._columns import _arrow_text, _bool, _per_distinct, as_arrow_text, group_codes, isin, positions_in
from ._evidence import _claim_has_evidence, _claim_not_self_supported, _evidence_resolves
from ._policies import POLICY_RULES
from ._preferred import _one_preferred, _preference_reason
from ._schemas import CheckSpec, Registry

if TYPE_CHECKING:  # pragma: no cover
    import pandera.pandas as pa

__all__ = ["COMPARED_SPLIT", "MARKET_SHARE_TOLERANCE", "MAX_LOCATOR_WORDS", "REST_OF_MARKET", "RULES", "invariant_checks",
           "invariant_specs", "split_gaps"]

MAX_LOCATOR_WORDS = 25

MARKET_KEY = ["chokepoint_id", "year", "scope", "basis", "breakdown", "source_id"]  # markets columns that make market_id


def _valid_iso3(series: pd.Series) -> pd.Series:
    codes = sorted(_iso3_codes())
    return _bool(series.isna().to_numpy(dtype=bool) | series.isin(codes).to_numpy(dtype=bool), series.index)


def _rows(d: pd.DataFrame, values) -> pd.Series:
    return pd.Series(values, index=d.index, dtype=bool).fillna(False)


def _filled(s: pd.Series) -> pd.Series:
    """Boolean-safe: NA (a null cell, reported elsewhere) counts as passing here."""
    return s.fillna(True).astype(bool)


# --- markets and market shares (on integer codes: see _markets.py) -----------------------

def _market_sum(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda d: _bool(MarketCodes.of(frames, frames.get("markets"), d).sum_ok(), d.index)


def _market_rest(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda d: _bool(MarketCodes.of(frames, frames.get("markets"), d).rest_ok(), d.index)


def _market_holder(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    company_ids, country_codes = holder_pools(frames)
    return lambda d: _bool(MarketCodes.of(frames, frames.get("markets"), d).holder_ok(company_ids, country_codes), d.index)


def _market_id_is_key(d: pd.DataFrame) -> pd.Series:
    """market_id equals the key columns joined by ':' (a null anywhere passes: reported elsewhere)."""
    import pyarrow as pa_arrow
    import pyarrow.compute as pc

    parts = [as_arrow_text(d[c]) for c in MARKET_KEY]
    expected = pc.binary_join_element_wise(*parts, pa_arrow.scalar(":", pa_arrow.large_string()))
    differs = pc.fill_null(pc.not_equal(as_arrow_text(d["market_id"]), expected), False)
    return _bool(~differs.to_numpy(zero_copy_only=False), d.index)


def _tolerance_has_reason(d: pd.DataFrame) -> pd.Series:
    return _filled(d["sum_tolerance"].isna() | d["tolerance_reason"].notna())


def _market_coverage(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    """A market marked complete sums to 1 within its tolerance; every market has a share row."""
    def ok(d: pd.DataFrame) -> pd.Series:
        shares = frames.get("market_shares")
        if shares is None or not {"market_id", "share"} <= set(shares.columns):
            return pd.Series(True, index=d.index)
        return _bool(MarketCodes.of(frames, d, shares).coverage_ok(), d.index)

    return ok


def _company_country_agree(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    def ok(d: pd.DataFrame) -> pd.Series:
        shares, companies = frames.get("market_shares"), frames.get("companies")
        need = {"market_id", "holder", "share"}
        if shares is None or companies is None or not need <= set(shares.columns) or "country" not in companies:
            return pd.Series(True, index=d.index)
        return _bool(MarketCodes.of(frames, d, shares).agree_ok(companies), d.index)

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


def _amount_has_unit(d: pd.DataFrame) -> pd.Series:
    return _filled(d["amount"].isna() == d["amount_unit"].isna())


def _target_after_announcement(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    policies = frames.get("policies")
    announced = pd.Series([], dtype="float64")
    if policies is not None and {"policy_id", "announced"} <= set(policies.columns):
        known = policies["policy_id"].notna() & policies["announced"].notna()
        ids = policies.loc[known, "policy_id"].astype(object)
        years = pd.to_datetime(policies.loc[known, "announced"]).dt.year.astype("float64")
        announced = pd.Series(years.to_numpy(), index=pd.Index(ids.to_numpy()))
        announced = announced[~announced.index.duplicated(keep="last")]  # as a dict would keep it

    def ok(d: pd.DataFrame) -> pd.Series:
        pos = announced.index.get_indexer(d["policy_id"].astype(object).to_numpy())
        start = np.where(pos >= 0, announced.to_numpy()[np.maximum(pos, 0)] if len(announced) else np.nan, np.nan)
        year = d["target_year"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(start) & ~np.isnan(year) & (year < start)
        return _bool(~bad, d.index)

    return ok


TARGET_SERIES = ["policy_id", "scope", "chokepoint_id", "metric", "unit"]


def _targets_not_lower(d: pd.DataFrame) -> pd.Series:
    """False where some target of the same series for an earlier year is higher."""
    ok = np.ones(len(d), dtype=bool)
    keyed = (d["target_year"].notna() & d["target_value"].notna()).to_numpy(dtype=bool)
    if not keyed.any():
        return _bool(ok, d.index)
    sub = d.loc[keyed]
    series = group_codes(sub, TARGET_SERIES)
    year = sub["target_year"].to_numpy(dtype="int64")
    value = sub["target_value"].to_numpy(dtype="float64")
    per_year = pd.Series(value).groupby([series, year], sort=True).max()
    running = per_year.groupby(level=0).cummax()
    earlier = running.groupby(level=0).shift(1)  # the highest target of the series before this year
    at = earlier.index.get_indexer(pd.MultiIndex.from_arrays([series, year]))
    prior = earlier.to_numpy(dtype="float64")[at]
    with np.errstate(invalid="ignore"):
        ok[np.flatnonzero(keyed)] = ~(value < prior)
    return _bool(ok, d.index)


def _achieved_complete(d: pd.DataFrame) -> pd.Series:
    present = d[["achieved_value", "achieved_year", "achieved_source_id"]].notna()
    return _bool((present.all(axis=1) | ~present.any(axis=1)).to_numpy(dtype=bool), d.index)


# --- dates and misc ------------------------------------------------------------------

def _published_not_after_accessed(d: pd.DataFrame) -> pd.Series:
    """Published (YYYY, YYYY-MM or YYYY-MM-DD) is not after the accessed date.

    ``published <= accessed[:len(published)]`` as text is the same as ``published <= accessed``
    as text (a prefix sorts first), so one Arrow comparison of the two columns decides it.
    """
    import pyarrow as pa_arrow
    import pyarrow.compute as pc

    pub = d["published"]
    if isinstance(pub.dtype, pd.StringDtype):
        pub_arr = pa_arrow.array(pub.array).cast(pa_arrow.large_string())
    else:  # text cells only; anything else is not this rule's business
        values = pub.astype(object).to_numpy()
        is_text = np.fromiter((isinstance(v, str) for v in values), bool, len(values))
        pub_arr = pa_arrow.array(np.where(is_text, values, None), type=pa_arrow.large_string())
    acc = pc.dictionary_encode(pa_arrow.array(pd.to_datetime(d["accessed"]).to_numpy(), from_pandas=True))
    # few distinct access dates: format each once
    acc_text = pc.take(pc.strftime(acc.dictionary, format="%Y-%m-%d").cast(pa_arrow.large_string()), acc.indices)
    after = pc.fill_null(pc.greater(pub_arr, acc_text), False).to_numpy(zero_copy_only=False)
    return _bool(~after, d.index)


def _no_parent_cycle(d: pd.DataFrame) -> pd.Series:
    """False where following parent_id from the row never ends (a loop, or a path into one).

    Pointer doubling: after k rounds each node points 2**k steps up; a chain that ends does
    so within n steps, so after log2(n) + 1 rounds only nodes on or above a loop still point
    somewhere.
    """
    keys = d["chokepoint_id"].astype(object).to_numpy()
    parents = d["parent_id"].astype(object).to_numpy()
    is_key = np.fromiter((isinstance(k, str) for k in keys), bool, len(keys))
    ids = pd.Index(keys[is_key])
    last = ~ids.duplicated(keep="last")  # as a dict of key -> parent would keep it
    nodes = pd.Index(ids[last])
    parent_of = np.asarray(parents[is_key][last], dtype=object)
    parent_keys = parent_of.copy()
    parent_keys[[not isinstance(p, str) for p in parent_of]] = None
    up = np.asarray(nodes.get_indexer(parent_keys) if len(nodes) else np.zeros(0), dtype=np.int64)
    for _ in range(max(1, int(np.ceil(np.log2(len(nodes) + 1))) + 1)):
        up = np.where(up >= 0, up[np.maximum(up, 0)], -1)
    looped = up >= 0
    row_keys = keys.copy()
    row_keys[~is_key] = None
    row_node = nodes.get_indexer(row_keys) if len(nodes) else np.full(len(keys), -1)
    bad = (row_node >= 0) & looped[np.maximum(row_node, 0)] if len(nodes) else np.zeros(len(keys), bool)
    return _bool(~bad, d.index)


def _distinct_name_zh(d: pd.DataFrame) -> pd.Series:
    """Two choke points with one Chinese name are one thing recorded twice (锂电池隔膜 was)."""
    named = d["name_zh"].notna() & (d["name_zh"].astype("string").str.strip() != "")
    return _filled(~(named & d["name_zh"].duplicated(keep=False)))


WEAK_SOURCE_KINDS = ("aggregator", "blog")


def row_source_ids(d: pd.DataFrame, frames: Mapping[str, pd.DataFrame]) -> pd.Series:
    """The source each row cites: its own source_id, or its market's for market_shares."""
    if "source_id" in d.columns:
        return d["source_id"].astype("object")
    markets = frames.get("markets")
    if "market_id" in d.columns and markets is not None and {"market_id", "source_id"} <= set(markets.columns):
        if getattr(frames, "memo", None) is not None:  # validate(): the market codes the market rules share
            import pyarrow as pa_arrow
            import pyarrow.compute as pc

            codes = MarketCodes.of(frames, markets, d)
            at = codes.first_m[codes.s_code]  # the first market with the id, as drop_duplicates keeps
            at[codes.s_code == codes.k - 1] = -1  # a null id names no market
            taken = pc.take(as_arrow_text(markets["source_id"]), pa_arrow.array(at, mask=at < 0))
            return pd.Series(pd.arrays.ArrowStringArray(taken), index=d.index)
        left, right = _arrow_text(d["market_id"]), _arrow_text(markets["market_id"])
        values = _arrow_text(markets["source_id"])
        if left is not None and right is not None and values is not None:  # a hash join in Arrow
            import pyarrow.compute as pc

            at = pc.index_in(left, value_set=right)  # the first market with the id, as drop_duplicates keeps
            return pd.Series(pd.arrays.ArrowStringArray(pc.take(values, at)), index=d.index)
        by_id = markets.drop_duplicates("market_id").set_index("market_id")["source_id"].astype("object")
        return d["market_id"].astype("object").map(by_id)
    return pd.Series(pd.NA, index=d.index, dtype="object")


def _grade_fits_source(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    """The grade follows the cited source (docs/METHOD.md): a row citing an aggregator or a blog is
    ``low``; a row citing a relay (``sources.relays``: a write-up of another document) is at most
    ``medium``. A market share's source is its market's."""
    sources = frames.get("sources")
    weak = relays = pd.Series([], dtype="string")
    if sources is not None and {"source_id", "kind"} <= set(sources.columns):
        weak = sources.loc[sources["kind"].isin(WEAK_SOURCE_KINDS).fillna(False).to_numpy(dtype=bool), "source_id"]
    if sources is not None and {"source_id", "relays"} <= set(sources.columns):
        relays = sources.loc[(sources["relays"] == True).fillna(False).to_numpy(dtype=bool), "source_id"]  # noqa: E712

    def ok(d: pd.DataFrame) -> pd.Series:
        grade = d["confidence"].astype("object")
        above_low = grade.isin(["medium", "high"]).to_numpy(dtype=bool)
        high = (grade == "high").to_numpy(dtype=bool)
        if not above_low.any():
            return _bool(np.ones(len(d), dtype=bool), d.index)
        cited = d["source_id"] if "source_id" in d.columns else row_source_ids(d, frames)
        bad = (above_low & isin(cited, weak)) | (high & isin(cited, relays))
        return _bool(~bad, d.index)

    return ok


# --- indicators and metrics ----------------------------------------------------------

SERIES = ["chokepoint_id", "geo", "metric", "company_id"]  # a company's own figure is a series of its own


def _series_one_scope(d: pd.DataFrame) -> pd.Series:
    keys = [c for c in SERIES if c in d.columns]
    scopes = d.groupby(keys, dropna=False, observed=True)["product_scope"].transform("nunique")
    return _filled(scopes <= 1)


def _unit_fits_metric(value_unit: str = "unit") -> Callable[[Mapping[str, pd.DataFrame]], Callable[[pd.DataFrame], pd.Series]]:
    def factory(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
        metrics = frames.get("metrics")

        def ok(d: pd.DataFrame) -> pd.Series:
            if metrics is None or not {"metric_id", "kind"} <= set(metrics.columns):
                return pd.Series(True, index=d.index)
            at = positions_in(d["metric"], metrics["metric_id"])  # the first metric row with the id
            kind = metrics["kind"]
            known = np.append(kind.notna().to_numpy(dtype=bool), False)[at]
            share_metric = np.append((kind == "share").to_numpy(dtype=bool, na_value=False), False)[at]
            unit = d[value_unit]
            share_unit = (unit == "share").to_numpy(dtype=bool, na_value=False)
            return _bool(~known | unit.isna().to_numpy(dtype=bool) | (share_metric == share_unit), d.index)

        return ok

    return factory


# --- policy lifecycle: rules/_policies.py ----------------------------------------------


def _few_words(s: pd.Series) -> list[bool]:
    # n words need at least 2n - 1 characters: only longer cells are split (as str.split() does)
    limit = 2 * MAX_LOCATOR_WORDS + 1
    return [not isinstance(v, str) or len(v) < limit or len(v.split()) <= MAX_LOCATOR_WORDS for v in s.tolist()]


def _locator_words(d: pd.DataFrame) -> pd.Series:
    return _bool(_per_distinct(d["locator"], _few_words), d.index)


def _iso3(col: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda d: _valid_iso3(d[col])


# --- the register --------------------------------------------------------------------
# (table, rule, message, column, factory): factory(frames) -> row-wise check function.
RULES: list[tuple[str, str, str, str | None, Callable[[Mapping[str, pd.DataFrame]], Callable]]] = [
    ("market_shares", "market_share_sum", f"shares of one market (market_id) sum to more than 1 + the market's sum_tolerance (default {MARKET_SHARE_TOLERANCE})", None, _market_sum),
    ("market_shares", "market_share_rest_sum", f"a market with a rest-of-market row ('{REST_OF_MARKET}') must sum to 1 within the market's sum_tolerance (default {MARKET_SHARE_TOLERANCE})", None, _market_rest),
    ("market_shares", "market_holder", "holder must be a companies.company_id (market breakdown company), an ISO 3166-1 alpha-3 code (breakdown country), or 'other'", "holder", _market_holder),
    ("markets", "market_id_is_key", "market_id must be chokepoint_id:year:scope:basis:breakdown:source_id of the row", "market_id", lambda f: _market_id_is_key),
    ("markets", "one_preferred", "rival markets (same chokepoint_id, year, period, scope, basis, breakdown; 2 or more sources) need exactly one with preferred = true", "preferred", lambda f: _one_preferred),
    ("markets", "preference_reason", "the preferred market of a group of rivals must say why (preference_reason)", "preference_reason", lambda f: _preference_reason),
    ("markets", "tolerance_reason", "a market with its own sum_tolerance must say why (tolerance_reason)", "tolerance_reason", lambda f: _tolerance_has_reason),
    ("markets", "market_coverage", "every market needs share rows, and a market marked complete must sum to 1 within its sum_tolerance (else mark it top_n or partial)", "coverage", _market_coverage),
    ("markets", "company_country_agree", "the company split, summed by the holders' headquarters country (companies.country), disagrees with the same source's country split of the same product and year by more than the tolerance", None, _company_country_agree),
    ("indicators", "share_range", "a value whose unit is share must lie in [0, 1]", "value", lambda f: _share_in_unit_range(("value",))),
    ("indicators", "country_code", "geo must be an ISO 3166-1 alpha-3 country code", "geo", lambda f: _iso3("geo")),
    ("companies", "country_code", "country must be an ISO 3166-1 alpha-3 country code", "country", lambda f: _iso3("country")),
    ("policies", "country_code", "jurisdiction must be an ISO 3166-1 alpha-3 country code", "jurisdiction", lambda f: _iso3("jurisdiction")),
    ("policies", "amount_unit", "amount and amount_unit go together: both or neither", "amount_unit", lambda f: _amount_has_unit),
    ("policy_targets", "share_range", "target_value and achieved_value must lie in [0, 1] when unit is share", None, lambda f: _share_in_unit_range(("target_value", "achieved_value"))),
    ("policy_targets", "target_after_announcement", "target_year is before the year the policy was announced", "target_year", _target_after_announcement),
    ("policy_targets", "targets_not_lower", f"a later target for the same ({', '.join(TARGET_SERIES)}) is lower than an earlier one", "target_value", lambda f: _targets_not_lower),
    ("policy_targets", "achieved_complete", "achieved_value, achieved_year and achieved_source_id go together: all or none", None, lambda f: _achieved_complete),
    ("sources", "published_before_accessed", "published date is after the accessed date", "published", lambda f: _published_not_after_accessed),
    ("indicators", "series_one_scope", f"one series ({', '.join(SERIES)}) must keep one product_scope: a figure for other products belongs to another choke point or metric", "product_scope", lambda f: _series_one_scope),
    ("indicators", "unit_fits_metric", "unit must be share for a share metric (metrics.kind) and must not be share for a level metric", "unit", _unit_fits_metric()),
    ("policy_targets", "unit_fits_metric", "unit must be share for a share metric (metrics.kind) and must not be share for a level metric", "unit", _unit_fits_metric()),
    ("chokepoints", "parent_cycle", "parent_id chain loops back on itself", "parent_id", lambda f: _no_parent_cycle),
    ("chokepoints", "distinct_name_zh", "two choke points share a Chinese name (name_zh): merge them into one", "name_zh", lambda f: _distinct_name_zh),
    ("claim_evidence", "evidence_resolves", "evidence_key must match exactly one row of evidence_table (col=value pairs joined by ';', in the table's primary-key order)", "evidence_key", _evidence_resolves),
    ("claims", "claim_has_evidence", "a verdict other than 'unsupported' needs at least one claim_evidence row; 'supported' needs one that supports, 'contradicted' one that contradicts", "verdict", _claim_has_evidence),
    ("claims", "claim_not_self_supported", "a claim cannot support itself: 'supported' needs a supports row and 'refined' any row whose fact cites a source other than the claim's appeared_source_id", "verdict", _claim_not_self_supported),
]
for _rule, _message, _column, _check in POLICY_RULES:
    RULES.append(("policies", _rule, _message, _column, lambda f, c=_check: c))
for _table in ("assessments", "company_chokepoints", "market_shares", "indicators", "policies", "policy_targets"):
    RULES.append((_table, "locator_words", f"a locator quote must be at most {MAX_LOCATOR_WORDS} words", "locator", lambda f: _locator_words))
    RULES.append((_table, "grade_fits_source", f"confidence must follow the source: 'low' where it is an {' or a '.join(WEAK_SOURCE_KINDS)}, "
                  "at most 'medium' where it relays another document (sources.relays); cite the primary to grade higher "
                  "(docs/METHOD.md)", "confidence", _grade_fits_source))


#: The other tables each cross-table rule reads (every rule reads its own table; "*" is every
#: table). validate() re-checks a table it was not given only if it reads a table it was given;
#: tests/test_invariants.py records what each rule reads and holds it to this list.
READS: dict[str, tuple[str, ...]] = {
    "market_share_sum": ("markets",),
    "market_share_rest_sum": ("markets",),
    "market_holder": ("markets", "companies"),
    "market_coverage": ("market_shares",),
    "company_country_agree": ("market_shares", "companies"),
    "target_after_announcement": ("policies",),
    "unit_fits_metric": ("metrics",),
    "grade_fits_source": ("sources", "markets"),
    "evidence_resolves": ("*",),
    "claim_has_evidence": ("claim_evidence",),
    "claim_not_self_supported": ("*",),
}


def invariant_reads(table: str) -> set[str]:
    """The tables the invariants of ``table`` read, besides ``table`` ("*": any)."""
    return {other for t, rule, *_ in RULES if t == table for other in READS.get(rule, ())}


def invariant_specs(table: str, frames: Mapping[str, pd.DataFrame], registry: Registry) -> list[CheckSpec]:
    """The invariants of ``table`` as check specs, closing over the other frames of the set."""
    return [
        registry.spec(factory(frames), table=table, rule=rule, message=message, column=column)
        for t, rule, message, column, factory in RULES
        if t == table
    ]


def invariant_checks(table: str, frames: Mapping[str, pd.DataFrame], registry: Registry) -> list[pa.Check]:
    """The invariant checks of ``table`` as pandera checks, closing over the other frames of the set."""
    return [spec.to_pandera() for spec in invariant_specs(table, frames, registry)]
