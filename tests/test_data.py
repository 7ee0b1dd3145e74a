"""The shipped data: coverage the project promises, and the brief's facts, each with a source."""

from __future__ import annotations

import pandas as pd
import pytest

import chokepoint_data as cd


@pytest.fixture(scope="module")
def t():
    return cd.load_all()


def test_every_chokepoint_has_a_dated_sourced_assessment(t):
    assessed = set(t["assessments"]["chokepoint_id"])
    assert set(t["chokepoints"]["chokepoint_id"]) <= assessed


def test_coverage(t):
    cp = t["chokepoints"]
    assert len(cp[cp["direction"] == "dependency"]) >= 45
    ms = t["markets"]
    assert ms["chokepoint_id"].nunique() >= 15
    years = ms.groupby("chokepoint_id", observed=True)["year"].nunique()
    assert (years >= 2).sum() >= 5
    pol = t["policies"]
    controls = pol[pol["kind"].isin(["export_control", "entity_listing"]) & pol["jurisdiction"].isin(["USA", "NLD", "JPN"])]
    assert len(controls) >= 10 and set(controls["jurisdiction"]) == {"USA", "NLD", "JPN"}
    assert (pol["kind"] == "countermeasure").any()


def test_sources_are_distinct_documents(t):
    src = t["sources"]
    assert not src["url"].duplicated().any(), src[src["url"].duplicated(keep=False)][["source_id", "url"]]


def test_forecasts_never_share_a_year_key_with_measurements(t):
    ind = t["indicators"]
    key = ["chokepoint_id", "geo", "metric", "year", "source_id"]
    assert not ind.duplicated(key).any()


def _one(df: pd.DataFrame, **where) -> pd.DataFrame:
    for col, value in where.items():
        df = df[df[col] == value]
    return df


def test_brief_semiconductor_demand_and_supply_are_separate_measures(t):
    ind = t["indicators"]
    demand = _one(ind, chokepoint_id="semiconductors", geo="CHN", metric="demand_share_world")
    supply = _one(ind, chokepoint_id="semiconductors", geo="CHN", metric="production_share_world")
    assert supply["product_scope"].nunique() == 1  # one definition per series
    assert ((demand["value"] - 0.60).abs() <= 0.02).any()  # the brief's "about 60%"
    assert ((supply["value"] - 0.13).abs() <= 0.01).any()  # the brief's "about 13%"
    assert demand["source_id"].notna().all() and supply["source_id"].notna().all()


def test_brief_mic2025_targets(t):
    pol = t["policies"].set_index("policy_id")
    assert pol.loc["mic2025", "announced"].year == 2015
    targets = _one(t["policy_targets"], policy_id="mic2025", scope="core components and key basic materials")
    assert {(int(y), round(float(v), 2)) for y, v in zip(targets["target_year"], targets["target_value"])} >= {(2020, 0.4), (2025, 0.7)}


def test_brief_big_funds(t):
    pol = t["policies"].set_index("policy_id")
    for fund in ("big-fund-1", "big-fund-2", "big-fund-3"):
        assert pol.loc[fund, "kind"] == "state_fund" and pd.notna(pol.loc[fund, "amount"])
    assert pol.loc["big-fund-3", "amount_unit"] == "cny_bn"
    links = _one(t["policy_chokepoints"], policy_id="big-fund-3")
    assert "chipmaking-equipment" in set(links["chokepoint_id"])


def test_brief_firms_and_roles(t):
    roles = t["company_chokepoints"]
    have = set(zip(roles["company_id"], roles["chokepoint_id"], roles["role"]))
    assert ("asml", "lithography-machines", "incumbent") in have or ("asml", "euv-lithography", "incumbent") in have
    assert any(c == "smee" and r == "challenger" for c, _, r in have)
    assert any(c == "empyrean" and k == "eda-software" for c, k, _ in have)
    for firm in ("catl", "byd"):
        assert any(c == firm and k == "ev-batteries" for c, k, _ in have)
    assert any(c == "huawei" for c, _, _ in have)


def test_catch_up_and_lag_show_in_assessments(t):
    a = t["assessments"]
    latest = a.sort_values("year").groupby("chokepoint_id", observed=True).tail(1).set_index("chokepoint_id")["status"]
    assert latest["ev-batteries"] >= "largely_overcome"
    assert latest["lithography-machines"] <= "partial"


def test_method_names_every_leverage_material(t):
    """METHOD's scope paragraph lists the leverage materials by name: a new one must be added there."""
    from pathlib import Path

    text = " ".join((Path(__file__).parents[1] / "docs" / "METHOD.md").read_text(encoding="utf-8").split())
    scope = text[text.index("The materials where China holds the leverage"):][:400].lower()
    cp = t["chokepoints"]
    names = cp.loc[cp["direction"] == "leverage", "chokepoint_id"].astype(str).str.replace("-", " ")
    missing = [n for n in names if n not in scope]
    assert not missing, f"docs/METHOD.md does not name these leverage materials: {missing}"
