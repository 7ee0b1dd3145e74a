"""timeline(), targets(), append() and the failure explanations."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

import chokepoint_data as cd
from chokepoint_data.rules._failures import Failure
from chokepoint_data.rules._explain import explain, nearest_ids


def test_timeline_holds_every_fact_in_order():
    t = cd.timeline("lithography-machines")
    shares = cd.load("market_shares", labels=True)
    assessments = cd.load("assessments")
    links = cd.load("policy_chokepoints")
    assert (t.kind == "market_share").sum() == (shares.chokepoint_id == "lithography-machines").sum()
    assert (t.kind == "assessment").sum() == (assessments.chokepoint_id == "lithography-machines").sum()
    assert set(t.loc[t.kind == "policy", "source_id"]) <= set(cd.load("policies").source_id)
    assert (t.kind == "policy").sum() == (links.chokepoint_id == "lithography-machines").sum()
    assert t["year"].is_monotonic_increasing
    assert t["source_publisher"].notna().all() and t["source_url"].notna().all()
    pol = t[t.kind == "policy"]
    assert (pol["date"].dt.year == pol["year"]).all()


def test_timeline_unknown_id_names_nearest():
    with pytest.raises(cd.UnknownIdError, match="lithography-machines"):
        cd.timeline("lithography-machine")


def test_targets_gap_and_met():
    t = cd.targets()
    pt = cd.load("policy_targets")
    assert len(t) == len(pt)
    has = t.achieved_value.notna()
    assert ((t.gap[has] - (t.achieved_value[has] - t.target_value[has])).abs() < 1e-9).all()
    assert t.gap[~has].isna().all() and t.met[~has].isna().all()
    # met is only False once the target year is reached
    early = has & (t.achieved_year < t.target_year) & (t.achieved_value < t.target_value)
    assert t.met[early].isna().all()
    assert (t.met[has & (t.achieved_value >= t.target_value)] == True).all()  # noqa: E712
    assert t.loc[has, "achieved_source_publisher"].notna().all()
    assert t["source_publisher"].notna().all()


def test_targets_unknown_policy():
    with pytest.raises(cd.UnknownIdError, match="mic2025"):
        cd.targets(policy_id="mic2052")


NEW = {"chokepoint_id": "euv-lithography", "year": 2018, "status": "dependent",
       "rationale": "Illustration only: not a real assessment.", "source_id": "eto-2025-chip-explorer-provision",
       "confidence": "high"}


@pytest.mark.parametrize("form", ["dicts", "pandas", "polars", "dict"])
def test_append_keeps_dtypes(form):
    rows = {"dicts": [NEW], "pandas": pd.DataFrame([NEW]), "polars": pl.DataFrame([NEW]), "dict": NEW}[form]
    shipped = cd.load("assessments")
    out = cd.append("assessments", rows)
    assert len(out) == len(shipped) + 1
    assert out.dtypes.to_dict() == shipped.dtypes.to_dict()
    assert out["status"].iloc[-1] == "dependent" and out["year"].iloc[-1] == 2018
    pd.testing.assert_frame_equal(out.iloc[:-1], shipped)


def test_append_reports_unknown_key_with_nearest():
    with pytest.raises(cd.ValidationError) as err:
        cd.append("assessments", [dict(NEW, chokepoint_id="euv-lithograpy")])
    msgs = [f.message for f in err.value.failures]
    assert any("did you mean 'euv-lithography'" in m for m in msgs), msgs


def test_append_hints_percentage_and_drops_redundant_required():
    shares = cd.load("market_shares")
    row = shares.iloc[0].to_dict()
    row.update(holder="canon", share="33%")
    with pytest.raises(cd.ValidationError) as err:
        cd.append("market_shares", [row])
    rules = [f.rule for f in err.value.failures]
    assert "required" not in rules
    typ = [f for f in err.value.failures if f.rule == "type:number"]
    # one hint, from coercion (the build gives it too): "shares are fractions: 33% is 0.33"
    assert typ and "33% is 0.33" in typ[0].message and typ[0].message.count("0.33") == 1


def test_append_share_sum_shows_the_sum():
    shares = cd.load("market_shares")
    first = shares.iloc[0]
    market = shares[shares.market_id == first.market_id]
    row = first.to_dict()
    row.update(holder="canon" if "canon" not in set(market.holder) else "nikon", share=0.5)
    with pytest.raises(cd.ValidationError) as err:
        cd.append("market_shares", [row])
    total = float(market.share.sum()) + 0.5
    sums = [f.message for f in err.value.failures if f.rule == "market_share_sum"]
    assert sums and all(f"sum to {total:.4g}" in m for m in sums), sums


def test_append_unknown_category_is_reported_not_a_pandas_error():
    with pytest.raises(cd.ValidationError) as err:
        cd.append("assessments", [dict(NEW, status="solved")])
    assert any(f.column == "status" for f in err.value.failures)


def test_append_rejects_other_inputs():
    with pytest.raises(cd.ArgumentError, match=r"list \(or other iterable\) of dicts, not int"):
        cd.append("assessments", 42)


def test_nearest_ids_and_explain_keep_unknown_rules():
    assert nearest_ids("catll", ["catl", "byd"]) == ["catl"]
    f = Failure("x", "some_rule", "msg", column="c", row=1, value="v")
    assert explain([f], {}) == [f]


def test_timeline_lists_a_policy_end_as_its_own_fact():
    pol = cd.load("policies")
    ended = pol[pol.ended.notna() & (pol.policy_id == "us-bis-2025-eda-letters")].iloc[0]
    t = cd.timeline("eda-software")
    row = t[(t.kind == "policy") & (t.date == ended.ended)]
    assert len(row) == 1 and row.source_id.iloc[0] == ended.end_source_id


def test_validate_itself_explains_failures():
    shares = cd.load("market_shares")
    bad = shares.copy()
    bad["market_id"] = bad["market_id"].astype(object)
    bad.loc[bad.index[0], "market_id"] = bad.loc[bad.index[0], "market_id"] + "x"
    with pytest.raises(cd.ValidationError) as err:
        cd.validate({"market_shares": bad})
    fk = [f for f in err.value.failures if f.rule.startswith("foreign_key:market_id")]
    assert fk and "did you mean" in fk[0].message


def test_a_large_id_pool_suggests_what_the_sorted_list_suggests():
    """Past a few thousand ids, explain() keeps the ids in Arrow and filters by prefix instead
    of sorting them all; the suggestions must be those of the sorted list."""
    import pyarrow as pa

    from chokepoint_data.rules._explain import _LARGE_POOL, _nearest_in_sorted

    ids = [f"src-{i:06d}-{'ab'[i % 2]}" for i in range(3 * _LARGE_POOL)] + ["reuters-2024-big-fund-3", "reuters-2023-chips"]
    listed, arrow = sorted(ids), pa.array(sorted(set(ids))[::-1], pa.large_string())  # any order in Arrow
    for value in ("reuters-2024-big-fund", "src-000123-a", "src-01234", "zzz", "re"):
        assert _nearest_in_sorted(value, arrow, 3) == _nearest_in_sorted(value, listed, 3), value
    assert _nearest_in_sorted("reuters-2024-big-fund", arrow, 1) == ["reuters-2024-big-fund-3"]


@pytest.mark.parametrize("labels", ["zeros", "pairs", "market_alone", "overlapping_intervals"])
def test_validate_reports_failures_of_a_frame_whose_index_repeats_labels(labels):
    """A frame indexed with repeated labels (a concat without ignore_index) used to crash
    explain() with pandas' InvalidIndexError when a market's shares broke their sum: the
    failures are reported, and a sum is shown only where the label names one row."""
    shares = cd.load("market_shares")
    market = shares[shares.market_id == shares.market_id.iloc[0]]
    bad = shares.copy()
    bad.loc[market.index[0], "share"] = 0.99
    bad.index = {"zeros": [0] * len(bad), "pairs": [i // 2 for i in range(len(bad))],
                 # the market's rows keep their own labels; every other row shares -1
                 "market_alone": [i if i in set(market.index) else -1 for i in bad.index],
                 # unique labels that still name no single row: pandas cannot look them up
                 "overlapping_intervals": pd.IntervalIndex.from_arrays(range(len(bad)), [i + 5 for i in range(len(bad))])}[labels]
    with pytest.raises(cd.ValidationError) as err:
        cd.validate({"market_shares": bad})
    sums = [f for f in err.value.failures if f.rule == "market_share_sum"]
    assert len(sums) == len(market)
    total = float(market.share.sum() - market.share.iloc[0] + 0.99)
    once = pd.Index(bad.index).value_counts()
    findable = labels == "market_alone"
    assert findable == all(once[f.row] == 1 for f in sums) or labels == "overlapping_intervals"
    for f in sums:
        assert (f"sum to {total:.4g}" in f.message) == findable, (f.row, f.message)


def test_the_sum_shown_is_the_sum_the_rule_checked():
    """The sum in a market-sum message is pandas' group sum, as the rule computes it (found by
    review). With pandas 3 the group sum compensates rounding: 1.1124999999999998, shown as
    1.112, where a plain running sum gives 1.1125 and would show 1.113; pandas 2.2 sums
    these shares to 1.1125 itself, and the message follows it."""
    shares = cd.load("market_shares")
    mid = shares["market_id"].iloc[0]
    values = [0.0087, 0.2433, 0.2842, 0.0613, 0.0698, 0.4452]
    new = shares[shares.market_id == mid].iloc[[0] * len(values)].copy()
    new["holder"], new["share"] = [f"holder-{i}" for i in range(len(values))], values
    frame = pd.concat([new, shares[shares.market_id != mid]], ignore_index=True)
    with pytest.raises(cd.ValidationError) as err:
        cd.validate({"market_shares": frame})
    sums = [f.message for f in err.value.failures if f.rule == "market_share_sum"]
    total = float(pd.Series(values).groupby([0] * len(values)).sum().iloc[0])
    assert sums and all(m.endswith(f"shares sum to {total:.4g})") for m in sums), sums[:1]
