"""status() and concentration(): the stated rules, checked against the data and hand-made cases."""

from __future__ import annotations

import pandas as pd
import pytest

import chokepoint_data as cd
from chokepoint_data import analysis


def test_status_is_one_row_per_choke_point_of_the_direction():
    st = cd.status()
    cp = cd.load("chokepoints")
    deps = set(cp.loc[cp["direction"] == "dependency", "chokepoint_id"])
    assert set(st["chokepoint_id"]) == deps and not st["chokepoint_id"].duplicated().any()
    lev = cd.status(direction="leverage")
    assert set(lev["chokepoint_id"]) == set(cp.loc[cp["direction"] == "leverage", "chokepoint_id"])
    assert len(cd.status(direction=None)) == len(cp)


def test_a_low_grade_row_never_overrides_a_higher_grade():
    """High-end bearings: a low-graded 2025 row must not beat a high-graded 2023 row."""
    a = cd.load("assessments")
    bearings = a[a["chokepoint_id"] == "high-end-bearings"]
    assert ((bearings["confidence"] == "low") & (bearings["year"] > bearings.loc[bearings["confidence"] == "high", "year"].max())).any()
    row = cd.status().set_index("chokepoint_id").loc["high-end-bearings"]
    assert row["confidence"] == "high" and row["year"] == bearings.loc[bearings["confidence"] == "high", "year"].max()
    low = cd.status(min_confidence="low").set_index("chokepoint_id").loc["high-end-bearings"]
    assert low["year"] == bearings["year"].max()


def test_status_rule_on_a_made_up_history():
    h = pd.DataFrame({
        "chokepoint_id": ["x"] * 5,
        "year": [2018, 2020, 2022, 2022, 2024],
        "status": ["dependent", "partial", "overcome", "partial", "overcome"],
        "confidence": ["high", "medium", "medium", "medium", "low"],
        "source_id": ["s1", "s2", "s3", "s4", "s5"],
        "rationale": ["r"] * 5,
    })
    pick = analysis._pick(h, "medium", None).iloc[0]
    assert pick["year"] == 2022 and pick["status"] == "partial" and bool(pick["disputed"])  # cautious on a tie
    assert analysis._pick(h, "high", None).iloc[0]["status"] == "dependent"
    assert analysis._pick(h, "low", None).iloc[0]["year"] == 2024
    assert analysis._pick(h, "medium", 2019).iloc[0]["year"] == 2018 or analysis._pick(h, "medium", 2019).empty is False


def test_status_since_and_as_of():
    st = cd.status().set_index("chokepoint_id")
    old = cd.status(as_of=2018).set_index("chokepoint_id")
    assert (old["year"].dropna() <= 2018).all()
    changed = st[st["changed"] == True]  # noqa: E712 (NA: not comparable)
    assert (changed["status"].astype(str) != changed["status_since"].astype(str)).all()


def test_no_status_from_weak_evidence_alone():
    st = cd.status()
    a = cd.load("assessments")
    best = a.groupby("chokepoint_id", observed=True)["confidence"].max()
    none = st[st["basis"] == "no_assessment"]["chokepoint_id"]
    assert (best.reindex(none).astype(str).isin(["low", "nan"])).all()
    # no status either where a documented search found nothing current: it says what was known
    searched = st[st["basis"] == "searched_nothing_current"]
    assert searched["status"].isna().all() and searched["rationale"].str.contains("Last known: ").all()


def test_leverage_materials_are_not_counted_as_overcome_dependencies():
    st = cd.status()
    assert not st["chokepoint_id"].isin(cd.load("chokepoints").query("direction == 'leverage'")["chokepoint_id"]).any()


@pytest.mark.parametrize("kwargs,error", [({"min_confidence": "top"}, ValueError), ({"direction": "both"}, ValueError),
                                           ({"as_of": "2020"}, TypeError), ({"since": 2018.5}, TypeError)])
def test_status_refuses_bad_arguments(kwargs, error):
    with pytest.raises(error):
        cd.status(**kwargs)


def test_concentration_one_row_per_market_and_rest_never_a_holder():
    c = cd.concentration()
    markets = cd.load("markets")
    assert list(c["market_id"]) == sorted(markets["market_id"].astype(str))
    assert (c["top_holder"] != "other").all()
    shares = cd.load("market_shares")
    named = shares[shares["holder"] != "other"].groupby("market_id", observed=True)["share"]
    n = named.size()
    assert (c.set_index("market_id")["n_holders"] == n.reindex(c["market_id"]).fillna(0).astype(int).values).all()
    # the HHI never exceeds the square of what the named holders cover: 10,000 for a market that
    # sums to 100 %, a little more where the source's rounded shares sum past it (USGS gallium 2025)
    assert (c["hhi"].dropna() <= (100 * c["covered"]) ** 2 + 1e-6).all() and (c["cr3"] >= c["top_share"] - 1e-12).all()
    over = c[c["hhi"] > 10000 + 1e-6]
    assert (over["covered"] > 1).all(), over[["market_id", "hhi", "covered"]]


def test_concentration_figures_by_hand():
    c = cd.concentration().set_index("market_id")
    shares = cd.load("market_shares")
    mid = shares.groupby("market_id", observed=True).size().idxmax()
    s = shares[(shares["market_id"] == mid) & (shares["holder"] != "other")]["share"].astype(float).sort_values(ascending=False)
    row = c.loc[mid]
    assert row["hhi"] == pytest.approx(float(((s * 100) ** 2).sum()))
    assert row["cr3"] == pytest.approx(float(s.head(3).sum()))
    assert row["covered"] == pytest.approx(float(s.sum()))
    lower = c[c["hhi_lower_bound"]]
    assert ((lower["covered"] < 0.985) | (lower["coverage"] != "complete")).all()


def test_company_and_country_views_of_one_eto_market_agree():
    """i-line 2025, USA: the issue's example of a 2.5-point disagreement before Onto was restored."""
    from chokepoint_data.rules._invariants import split_gaps

    gaps = split_gaps(cd.load("markets"), cd.load("market_shares"), cd.load("companies"))
    row = gaps[gaps["market_id"].str.startswith("i-line-lithography:2025") & (gaps["country"] == "USA")]
    assert len(row) == 1 and abs(float(row["gap"].iloc[0])) <= 0.0015


def test_concentration_labels_name_the_top_holders_as_load_labels_does():
    import chokepoint_data as cd
    from chokepoint_data.store._views import country_name

    plain, named = cd.concentration(), cd.concentration(labels=True)
    pd.testing.assert_frame_equal(named[list(plain.columns)], plain)  # the plain columns are unchanged
    companies = cd.load("companies").set_index("company_id")
    held = named[named["top_holder"].notna()]
    assert held["top_holder_name"].notna().all() and held["top_holder_country_name"].notna().all()
    by_company = held[held["breakdown"] == "company"]
    assert (by_company["top_holder_name"] == by_company["top_holder"].map(companies["name_en"])).all()
    assert (by_company["top_holder_country"] == by_company["top_holder"].map(companies["country"])).all()
    by_country = held[held["breakdown"] == "country"]
    assert len(by_country) and (by_country["top_holder_name"] == by_country["top_holder"].map(country_name)).all()
    assert (held["top_holder_country_name"] == held["top_holder_country"].map(country_name)).all()
    shares = cd.load("market_shares", labels=True).drop_duplicates("market_id").set_index("market_id")
    assert (named.set_index("market_id")["chokepoint_name"] == shares["chokepoint_name"].reindex(named["market_id"]).values).all()
    assert len(cd.concentration(labels=True, commercial_only=True)) == len(cd.concentration(commercial_only=True))
    with pytest.raises(cd.ArgumentError, match="labels"):
        cd.concentration(labels="yes")  # type: ignore[arg-type]


def test_concentration_shows_period_and_preferred():
    c = cd.concentration().set_index("market_id")
    m = cd.load("markets").set_index("market_id")
    assert c["period"].astype("string").equals(m.loc[c.index, "period"].astype("string"))
    assert c["preferred"].astype("boolean").equals(m.loc[c.index, "preferred"].astype("boolean"))


def test_ev_figure_uses_the_preferred_market_and_whole_years():
    """Issue 18.5: the cookbook's table and the figure picked different sources for one year."""
    from chokepoint_data.outputs import figures
    from chokepoint_data.store import _loader

    tables = {n: _loader.load(n) for n in _loader.list_tables()}
    ev = figures.ev_battery_frame(tables)
    m = tables["markets"]
    rivals = m[(m.chokepoint_id == "ev-batteries") & (m.scope == "global") & (m.breakdown == "company") & m.period.isna()]
    preferred = rivals[rivals.preferred.fillna(False).astype(bool)]
    assert len(preferred)
    for row in preferred.itertuples(index=False):
        named = set(tables["market_shares"].loc[tables["market_shares"].market_id == row.market_id, "holder"]) - {"other"}
        used = ev[(ev.year == row.year) & ev.primary & ev.holder.isin(named)]
        assert len(used) == len(named) and (used.source_id == row.source_id).all(), row.market_id
    quarters = m.loc[m.period.notna() & (m.chokepoint_id == "ev-batteries"), "source_id"]
    assert not (ev.source_id.isin(quarters) & ev.year.isin(m.loc[m.period.notna(), "year"])).any() or quarters.empty
