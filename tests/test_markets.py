"""The market rules on integer codes (``_markets.py``) give what the pandas rules of 0.2.0 gave.

The 0.2.0 implementations, which grouped and merged on the text ``market_id``, are kept here
as the oracle (renamed ``old_*``). Hypothesis draws small sets of markets, shares and
companies from a narrow vocabulary, so that ids repeat, go missing, point nowhere, are null,
and a source splits a product-year by company and by country, and compares every rule's
verdict row by row, and the ``split_gaps`` frame. Where 0.2.0 could not run (a country
market paired with two company markets made its ``map`` raise), the new rule must still
give an answer; ``test_invariants.py`` feeds each rule its bad frames.
"""

from __future__ import annotations

from typing import Callable, Mapping

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import chokepoint_data as cd
from chokepoint_data.rules import _invariants
from chokepoint_data.rules._invariants import _filled, _iso3_codes
from chokepoint_data.rules._markets import COMPARED_SPLIT, MARKET_SHARE_TOLERANCE, REST_OF_MARKET, FrameSet, split_gaps

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the oracle: 0.2.0's pandas code ---------------------------------------------------------

def old_tolerance(markets: pd.DataFrame | None) -> pd.Series:
    """market_id -> the market's sum tolerance (its own, or the default)."""
    if markets is None or not {"market_id", "sum_tolerance"} <= set(markets.columns):
        return pd.Series(dtype="float64")
    tol = markets.drop_duplicates("market_id").set_index("market_id")["sum_tolerance"]
    return tol.astype("Float64").fillna(MARKET_SHARE_TOLERANCE).astype("float64")


def old_market_totals(d: pd.DataFrame, markets: pd.DataFrame | None) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per row: the market's total, its tolerance, and whether it has a rest-of-market row."""
    total = d.groupby("market_id", dropna=False, observed=True)["share"].transform("sum").astype("Float64")
    tol = d["market_id"].map(old_tolerance(markets)).astype("float64").fillna(MARKET_SHARE_TOLERANCE)
    has_rest = (d["holder"] == REST_OF_MARKET).fillna(False).astype(bool)
    group_has_rest = has_rest.groupby(d["market_id"], dropna=False, observed=True).transform("any").astype(bool)
    return total, tol, group_has_rest


def old_market_sum(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    def ok(d: pd.DataFrame) -> pd.Series:
        total, tol, _ = old_market_totals(d, frames.get("markets"))
        return _filled(total <= 1 + tol)

    return ok


def old_market_rest(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    def ok(d: pd.DataFrame) -> pd.Series:
        total, tol, rest = old_market_totals(d, frames.get("markets"))
        return _filled(~rest | ((total - 1).abs() <= tol))

    return ok


def old_breakdown_of(d: pd.DataFrame, markets: pd.DataFrame | None) -> pd.Series:
    if markets is None or not {"market_id", "breakdown"} <= set(markets.columns):
        return pd.Series(pd.NA, index=d.index, dtype="object")
    by_id = markets.drop_duplicates("market_id").set_index("market_id")["breakdown"].astype("object")
    return d["market_id"].astype("object").map(by_id)


def old_market_holder(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    companies = frames.get("companies")
    company_ids = set(companies["company_id"].dropna()) if companies is not None and "company_id" in companies else set()
    codes = _iso3_codes()

    def ok(d: pd.DataFrame) -> pd.Series:
        breakdown = old_breakdown_of(d, frames.get("markets"))
        holder = d["holder"].astype("object")
        is_company = holder.isin(company_ids)
        is_country = holder.isin(codes)
        good = (holder.isna() | (holder == REST_OF_MARKET) | breakdown.isna()
                | ((breakdown == "company") & is_company) | ((breakdown == "country") & is_country))
        return _filled(good.astype("boolean"))

    return ok


def old_market_coverage(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    """A market marked complete sums to 1 within its tolerance; every market has a share row."""
    shares = frames.get("market_shares")

    def ok(d: pd.DataFrame) -> pd.Series:
        if shares is None or not {"market_id", "share"} <= set(shares.columns):
            return pd.Series(True, index=d.index)
        totals = shares.groupby("market_id", observed=True)["share"].sum().astype("float64")
        total = d["market_id"].astype("object").map(totals)
        tol = d["sum_tolerance"].astype("Float64").fillna(MARKET_SHARE_TOLERANCE).astype("float64")
        has_rows = total.notna()
        complete_ok = (d["coverage"] != "complete").fillna(True).astype(bool) | ((total - 1).abs() <= tol)
        return _filled((has_rows & complete_ok).astype("boolean"))

    return ok


def old_split_gaps(markets: pd.DataFrame, shares: pd.DataFrame, companies: pd.DataFrame) -> pd.DataFrame:
    """Where one source splits one product-year both by company and by country: per country, the
    company split summed by headquarters country against the country split.

    Returns one row per (company market, country) with ``by_company``, ``by_country``, ``gap``
    (by_company - by_country), ``tolerance`` (the larger of the two markets' tolerances) and
    ``company_rest`` (the company split's rest-of-market share, where the unnamed firms sit).
    The rest-of-market rows are left out of both sides.
    """
    m = markets[[*_split(markets), "market_id", "breakdown", "coverage", "sum_tolerance"]].astype({"breakdown": "object"})
    s = shares.loc[(shares["holder"] != REST_OF_MARKET).fillna(False), ["market_id", "holder", "share"]]
    s = s.merge(m, on="market_id", how="inner")
    country_of = companies.drop_duplicates("company_id").set_index("company_id")["country"].astype("object")
    comp = s[s["breakdown"] == "company"].copy()
    comp["country"] = comp["holder"].astype("object").map(country_of)
    comp = comp.groupby([*_split(markets), "market_id", "country"], observed=True, dropna=False)["share"].sum().rename("by_company").reset_index()
    ctry = s[s["breakdown"] == "country"].rename(columns={"holder": "country", "share": "by_country", "market_id": "country_market_id"})
    ctry = ctry[[*_split(markets), "country_market_id", "country", "by_country"]].astype({"country": "object"})
    pairs = m[m["breakdown"] == "company"][[*_split(markets), "market_id", "coverage", "sum_tolerance"]].merge(
        m[m["breakdown"] == "country"][[*_split(markets), "market_id", "sum_tolerance"]].rename(
            columns={"market_id": "country_market_id", "sum_tolerance": "country_tolerance"}), on=_split(markets))
    if pairs.empty:
        return pd.DataFrame(columns=["market_id", "country_market_id", "country", "by_company", "by_country", "gap", "tolerance", "company_rest", "coverage"])
    comp_keys = comp.merge(pairs[["market_id", "country_market_id"]], on="market_id")
    rows = comp_keys[["market_id", "country_market_id", "country", "by_company"]].merge(
        ctry[["country_market_id", "country", "by_country"]], on=["country_market_id", "country"], how="outer")
    rows = rows.merge(pairs[["market_id", "country_market_id", "coverage", "sum_tolerance", "country_tolerance"]], on=["market_id", "country_market_id"], how="left")
    rows["market_id"] = rows["market_id"].fillna(rows["country_market_id"].map(pairs.set_index("country_market_id")["market_id"]))
    rows = rows.drop(columns=["coverage", "sum_tolerance", "country_tolerance"]).merge(
        pairs[["market_id", "coverage", "sum_tolerance", "country_tolerance"]], on="market_id", how="left")
    rows["by_company"] = rows["by_company"].astype("float64").fillna(0.0)
    rows["by_country"] = rows["by_country"].astype("float64").fillna(0.0)
    rows["gap"] = rows["by_company"] - rows["by_country"]
    rest = shares.loc[(shares["holder"] == REST_OF_MARKET).fillna(False)].groupby("market_id", observed=True)["share"].sum().astype("float64")
    rows["company_rest"] = rows["market_id"].astype("object").map(rest).astype("float64").fillna(0.0)
    tol = pd.concat([rows["sum_tolerance"].astype("Float64").fillna(MARKET_SHARE_TOLERANCE),
                     rows["country_tolerance"].astype("Float64").fillna(MARKET_SHARE_TOLERANCE)], axis=1).max(axis=1)
    rows["tolerance"] = tol.astype("float64")
    return rows[["market_id", "country_market_id", "country", "by_company", "by_country", "gap", "tolerance", "company_rest", "coverage"]]


def old_company_country_agree(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    def ok(d: pd.DataFrame) -> pd.Series:
        shares, companies = frames.get("market_shares"), frames.get("companies")
        need = {"market_id", "holder", "share"}
        if shares is None or companies is None or not need <= set(shares.columns) or "country" not in companies:
            return pd.Series(True, index=d.index)
        gaps = old_split_gaps(d, shares, companies)
        if gaps.empty:
            return pd.Series(True, index=d.index)
        # A country's firms never exceed the country's share. They may fall short of it by at
        # most the company split's rest-of-market lump (the unnamed firms sit there), and only
        # a complete company split bounds the shortfall at all.
        complete = (gaps["coverage"] == "complete").fillna(False).astype(bool)
        short = -gaps["gap"] > gaps["tolerance"] + gaps["company_rest"] + 1e-9
        bad = (gaps["gap"] > gaps["tolerance"] + 1e-9) | (complete & short)
        bad_ids = set(gaps.loc[bad, "market_id"])
        return _filled(~d["market_id"].isin(bad_ids))

    return ok


# --- strategies ------------------------------------------------------------------------------

IDS = ["m1", "m2", "m3", "m4", "m5", "m6"]
MARKET_IDS = st.one_of(st.sampled_from(IDS), st.none())
HOLDERS = st.sampled_from(["c1", "c2", "c3", "c4", "USA", "CHN", "JPN", REST_OF_MARKET, "zzz", None])
SHARES = st.one_of(st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.333, 0.5, 0.7, 1.0, 0.985, 1.015, 0.0145]), st.none(),
                   st.floats(0, 1.2, allow_nan=False))


def _frame(rows: list[dict], dtypes: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object) for c in dtypes}).astype(dict(dtypes))


@st.composite
def market_sets(draw, unique_ids: bool = False):
    """markets, market_shares and companies with few distinct values, so keys collide."""
    n = draw(st.integers(0, len(IDS) if unique_ids else 8))
    ids = draw(st.lists(st.sampled_from(IDS), min_size=n, max_size=n, unique=True)) if unique_ids else \
        draw(st.lists(MARKET_IDS, min_size=n, max_size=n))
    markets = _frame([{
        "market_id": ids[i],
        "chokepoint_id": draw(st.sampled_from(["x", "y", None])),
        "year": draw(st.sampled_from([2020, 2021])),
        "scope": "global", "basis": "revenue",
        "breakdown": draw(st.sampled_from(["company", "country", "company", "country", "region", None])),
        "source_id": draw(st.sampled_from(["s1", "s2"])),
        "coverage": draw(st.sampled_from(["complete", "partial", None])),
        "sum_tolerance": draw(st.sampled_from([None, None, 0.03, 0.0, 0.5])),
    } for i in range(n)], {"market_id": "string", "chokepoint_id": "string", "year": "Int64",
                           "scope": "category", "basis": "category", "breakdown": "category",
                           "source_id": "string", "coverage": "category", "sum_tolerance": "Float64"})
    k = draw(st.integers(0, 25))
    shares = _frame([{"market_id": draw(MARKET_IDS), "holder": draw(HOLDERS), "share": draw(SHARES)} for _ in range(k)],
                    {"market_id": "string", "holder": "string", "share": "Float64"})
    c = draw(st.integers(0, 5))
    companies = _frame([{"company_id": draw(st.sampled_from(["c1", "c2", "c3", "c4", None])),
                         "country": draw(st.sampled_from(["USA", "CHN", "JPN", None]))} for _ in range(c)],
                       {"company_id": "string", "country": "string"})
    return {"markets": markets, "market_shares": shares, "companies": companies}


def _old_or_none(rule: Callable, frames: Mapping[str, pd.DataFrame], d: pd.DataFrame) -> list[bool] | None:
    try:
        return rule(frames)(d).tolist()
    except (ValueError, KeyError, TypeError, pd.errors.InvalidIndexError):  # 0.2.0 could not check this set
        return None


def _new(rule: str, frames: Mapping[str, pd.DataFrame], d: pd.DataFrame) -> list[bool]:
    factory = {"market_share_sum": _invariants._market_sum, "market_share_rest_sum": _invariants._market_rest,
               "market_holder": _invariants._market_holder, "market_coverage": _invariants._market_coverage,
               "company_country_agree": _invariants._company_country_agree}[rule]
    return factory(frames)(d).tolist()


SHARE_RULES = {"market_share_sum": old_market_sum, "market_share_rest_sum": old_market_rest, "market_holder": old_market_holder}
MARKET_RULES = {"market_coverage": old_market_coverage, "company_country_agree": old_company_country_agree}


# --- the comparisons ---------------------------------------------------------------------------

@SETTINGS
@given(market_sets(), st.booleans())
def test_market_rules_match_the_pandas_rules(frames, shared):
    """Every market rule, row by row, with the codes computed per rule (a plain dict, as
    ``cd.schema()`` gives) or once for the set (a ``FrameSet``, as ``validate()`` gives)."""
    given_frames = FrameSet(frames) if shared else dict(frames)
    crossed = _crossed_pairs(frames["markets"])
    for table, rules in (("market_shares", SHARE_RULES), ("markets", MARKET_RULES)):
        d = frames[table]
        for rule, old in rules.items():
            expected = _old_or_none(old, frames, d)
            got = _new(rule, given_frames, d)
            assert len(got) == len(d)
            if expected is not None and not (rule == "company_country_agree" and crossed):
                assert got == expected, (rule, frames)


def _split(markets: pd.DataFrame) -> list[str]:
    """The columns a company split is compared with its country split on (a frame made before
    markets.period had no period column)."""
    return [c for c in COMPARED_SPLIT if c in markets.columns]


def _crossed_pairs(markets: pd.DataFrame) -> bool:
    """A split with two markets of one breakdown (ids that do not follow their columns): there
    0.2.0 crossed the tolerances of the pairs (see test_each_pair_keeps_its_own_tolerance)."""
    cols = _split(markets) + ["breakdown"]
    return bool(markets[cols].astype(object).where(markets[cols].notna(), None).duplicated().any())


def _comparable(gaps: pd.DataFrame) -> pd.DataFrame:
    cols = ["market_id", "country_market_id", "country", "by_company", "by_country", "gap", "tolerance", "company_rest"]
    out = gaps[cols].astype({c: "object" for c in cols[:3]}).astype({c: "float64" for c in cols[3:]})
    out = out.drop_duplicates().sort_values(cols[:3], na_position="last").reset_index(drop=True)
    return out.where(out.notna(), None)


@SETTINGS
@given(market_sets(unique_ids=True))
def test_split_gaps_match_the_pandas_frame(frames):
    """With market ids unique (the primary key holds), the frame of gaps is the same."""
    args = frames["markets"], frames["market_shares"], frames["companies"]
    try:
        expected = old_split_gaps(*args)
    except (ValueError, KeyError, TypeError, pd.errors.InvalidIndexError):
        assume(False)
    assume(not _crossed_pairs(frames["markets"]))  # one company and one country market per split
    got = split_gaps(*args)
    assert list(got.columns) == list(expected.columns)
    expected = expected[expected["market_id"].notna()]  # 0.2.0 kept country rows no company market met
    pd.testing.assert_frame_equal(_comparable(got), _comparable(expected), check_exact=False, rtol=0, atol=1e-12)


def test_a_country_market_paired_twice_is_still_checked():
    """Two company markets of one split (ids that do not follow their columns) met one country
    market: 0.2.0's map raised, so the rule could not run; now both company markets are checked."""
    base = dict(chokepoint_id="x", year=2020, scope="global", basis="revenue", source_id="s1", coverage="complete",
                sum_tolerance=None)
    markets = _frame([{**base, "market_id": "m1", "breakdown": "company"}, {**base, "market_id": "m2", "breakdown": "company"},
                      {**base, "market_id": "m3", "breakdown": "country"}],
                     {"market_id": "string", "chokepoint_id": "string", "year": "Int64", "scope": "category", "basis": "category",
                      "breakdown": "category", "source_id": "string", "coverage": "category", "sum_tolerance": "Float64"})
    shares = _frame([{"market_id": "m1", "holder": "c1", "share": 0.9}, {"market_id": "m1", "holder": "other", "share": 0.1},
                     {"market_id": "m2", "holder": "c1", "share": 0.5}, {"market_id": "m2", "holder": "other", "share": 0.5},
                     {"market_id": "m3", "holder": "USA", "share": 0.5}, {"market_id": "m3", "holder": "CHN", "share": 0.5}],
                    {"market_id": "string", "holder": "string", "share": "Float64"})
    companies = _frame([{"company_id": "c1", "country": "USA"}], {"company_id": "string", "country": "string"})
    frames = {"markets": markets, "market_shares": shares, "companies": companies}
    with pytest.raises(Exception):
        old_company_country_agree(frames)(markets)
    # m1: USA firms 0.9 against USA 0.5, over; m2: 0.5 against 0.5, and CHN short by 0.5 within the 0.5 rest
    assert _new("company_country_agree", frames, markets) == [False, True, True]


def test_the_shipped_markets_pass_and_match():
    frames = {name: cd.load(name) for name in ("markets", "market_shares", "companies")}
    for table, rules in (("market_shares", SHARE_RULES), ("markets", MARKET_RULES)):
        for rule, old in rules.items():
            got = _new(rule, FrameSet(frames), frames[table])
            assert all(got) and got == old(frames)(frames[table]).tolist(), rule


def test_each_pair_keeps_its_own_tolerance():
    """A company market that meets two country markets of its split (their ids do not follow
    their columns) is compared with each under the larger of that pair's two tolerances; 0.2.0
    crossed them, giving each row both tolerances."""
    base = dict(chokepoint_id="y", year=2020, scope="global", basis="revenue", source_id="s2", coverage="complete")
    markets = _frame([{**base, "market_id": "m2", "breakdown": "company", "sum_tolerance": None},
                      {**base, "market_id": "m3", "breakdown": "country", "sum_tolerance": None},
                      {**base, "market_id": "m4", "breakdown": "country", "sum_tolerance": 0.03}],
                     {"market_id": "string", "chokepoint_id": "string", "year": "Int64", "scope": "category", "basis": "category",
                      "breakdown": "category", "source_id": "string", "coverage": "category", "sum_tolerance": "Float64"})
    shares = _frame([{"market_id": "m2", "holder": "c1", "share": 0.5}, {"market_id": "m3", "holder": "USA", "share": 0.5},
                     {"market_id": "m4", "holder": "USA", "share": 0.5}], {"market_id": "string", "holder": "string", "share": "Float64"})
    companies = _frame([{"company_id": "c1", "country": "USA"}], {"company_id": "string", "country": "string"})
    gaps = split_gaps(markets, shares, companies).set_index("country_market_id")["tolerance"]
    assert gaps.to_dict() == {"m3": MARKET_SHARE_TOLERANCE, "m4": 0.03}


def test_uniqueness_of_market_ids_from_the_shared_codes():
    """The primary keys of markets and market_shares read the market-id codes the market rules
    share: a repeated market id (and a repeated market_id, holder pair) is reported on exactly
    the rows the column's own encoding finds, a null id too, in both tables."""
    from chokepoint_data.rules._columns import _repeated, group_codes

    markets, shares = cd.load("markets"), cd.load("market_shares")
    markets = pd.concat([markets, markets.iloc[[3]]], ignore_index=True)  # a market twice
    shares = pd.concat([shares, shares.iloc[[5, 7]]], ignore_index=True)  # two share rows twice
    shares.loc[[0, 1], "market_id"] = pd.NA  # null ids: they group with each other
    with pytest.raises(cd.ValidationError) as err:
        cd.validate({"markets": markets, "market_shares": shares})
    got = {(f.table, f.rule, f.row) for f in err.value.failures if f.rule in ("primary_key", "unique")}
    want = set()
    for name, frame, pk in (("markets", markets, ["market_id"]), ("market_shares", shares, ["market_id", "holder"])):
        twice = _repeated(group_codes(frame, pk)).nonzero()[0]  # the column's own codes
        assert len(twice) >= 2
        want |= {(name, "primary_key", int(r)) for r in twice}
    want |= {("markets", "unique", r) for t, rule, r in want if t == "markets"}
    assert got == want


_keys = st.lists(st.integers(0, 40), max_size=25) | st.lists(st.integers(0, 2**62), max_size=25)


@settings(max_examples=300, deadline=None)
@given(left=_keys, right=_keys, seed=st.integers(0, 2**16))
def test_outer_join_and_sorted_codes_are_pandas(left, right, seed):
    """``_outer_join`` is pandas' outer merge (same rows, order, columns and dtypes), whether
    keys repeat (the merge itself) or not (the sort path), and ``_sorted_codes`` is
    ``pd.factorize(sort=True)`` for small keys (packed sort) and huge ones (factorize)."""
    import numpy as np

    from chokepoint_data.rules._markets import _outer_join, _sorted_codes

    rng = np.random.default_rng(seed)
    keys = np.array(left + right, dtype=np.int64)
    codes, uniques = _sorted_codes(keys)
    want_codes, want_uniques = pd.factorize(keys, sort=True)
    assert codes.tolist() == list(want_codes) and uniques.tolist() == list(want_uniques)
    a = pd.DataFrame({"market": rng.integers(0, 9, len(left)), "by_company": rng.random(len(left)),
                      "cell": np.array(left, dtype=np.int64)})
    b = pd.DataFrame({"country_market": rng.integers(0, 9, len(right)), "country": rng.integers(0, 9, len(right)),
                      "by_country": rng.random(len(right)), "cell": np.array(right, dtype=np.int64)})
    pd.testing.assert_frame_equal(_outer_join(a, b, "cell").reset_index(drop=True),
                                  a.merge(b, on="cell", how="outer", sort=False).reset_index(drop=True))
