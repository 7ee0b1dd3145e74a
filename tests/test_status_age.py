"""status() says how old its evidence is (issue 18.1): age, stale, a documented search in place of
an old row, and ``changed`` missing (not False) where nothing can be compared."""

from __future__ import annotations

import pandas as pd
import pytest

import chokepoint_data as cd
from chokepoint_data.answers import analysis
from chokepoint_data.answers.analysis import STALE_AFTER, _age, data_date


def _frame(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"chokepoint_id": [f"c{i}" for i in range(n)], "status": ["dependent"] * n, "year": [2025] * n,
            "confidence": ["high"] * n, "source_id": ["s"] * n, "rationale": ["r"] * n}
    base.update(cols)
    out = pd.DataFrame(base).astype({"chokepoint_id": "string", "year": "Int64"})
    return out


def _search(rows: list[tuple[str, str, int | None]]) -> pd.DataFrame:
    s = pd.DataFrame(rows, columns=["chokepoint_id", "searched", "newest_found"])
    s["searched"] = pd.to_datetime(s["searched"])
    return s.astype({"chokepoint_id": "string"}).set_index("chokepoint_id")


def test_age_and_stale_follow_the_reference_year():
    out = _age(_frame(year=[2023, 2022, None], status=["partial", "dependent", None]), 2026, _search([]), "medium")
    assert out["evidence_age"].tolist()[:2] == [3, 4] and pd.isna(out["evidence_age"].iloc[2])
    assert out["stale"].tolist() == [False, True, False]  # 2023 is STALE_AFTER years old: still current
    assert out["basis"].astype(str).tolist() == ["current", "stale", "no_assessment"]
    assert STALE_AFTER == 3


def test_a_search_after_stale_evidence_replaces_it_and_says_what_was_known():
    frame = _frame(chokepoint_id=["old", "older-search", "none"], year=[2018, 2018, None],
                   status=["dependent", "dependent", None], source_id=["stdaily", "stdaily", None])
    searches = _search([("old", "2026-12-06", 2022), ("older-search", "2017-05-01", None), ("none", "2026-01-02", None)])
    out = _age(frame, 2026, searches, "medium").set_index("chokepoint_id")
    row = out.loc["old"]
    assert row["basis"] == "searched_nothing_current" and pd.isna(row["status"]) and row["searched"] == pd.Timestamp("2026-12-06")
    assert "Last known: dependent in 2018 (stdaily" in row["rationale"] and "2022" in row["rationale"]
    assert not row["stale"] and pd.isna(row["evidence_age"])
    # a search older than the evidence does not speak for it: the status stays, flagged stale
    assert out.loc["older-search", "basis"] == "stale" and out.loc["older-search", "status"] == "dependent"
    # no assessment at all, but a search: the search is reported
    assert out.loc["none", "basis"] == "searched_nothing_current"
    assert "no assessment graded medium or higher" in out.loc["none", "rationale"]


def test_a_search_does_not_replace_a_current_status():
    out = _age(_frame(year=[2025]), 2026, _search([("c0", "2026-12-06", None)]), "medium")
    assert out["basis"].iloc[0] == "current" and out["status"].iloc[0] == "dependent" and pd.isna(out["searched"].iloc[0])


def test_reference_year_is_the_datas_own_date_not_the_clock():
    sources = cd.load("sources")
    assert data_date() == pd.Timestamp(sources["accessed"].max())
    st = cd.status()
    has = st["year"].notna()
    assert (st.loc[has, "evidence_age"] == data_date().year - st.loc[has, "year"]).all()


def test_as_of_is_the_reference_year_and_bounds_searches():
    st = cd.status(as_of=2022)
    has = st["year"].notna()
    assert (st.loc[has, "evidence_age"] == 2022 - st.loc[has, "year"]).all()
    assert (st["stale"] == (st["evidence_age"] > STALE_AFTER).fillna(False)).all()
    assert st["stale"].any()  # 2018 rows seen from 2022
    assert (st["basis"] != "searched_nothing_current").all()  # every search is dated after 2022
    assert (st.loc[st["stale"], "basis"] == "stale").all()


def test_every_shipped_search_shows_up_where_it_applies():
    st = cd.status(direction=None).set_index("chokepoint_id")
    searched = set(cd.load("searches")["chokepoint_id"].astype(str))
    reported = set(st.index[st["basis"] == "searched_nothing_current"])
    assert reported <= searched
    for cid in searched - reported:  # not reported: the status it has is current
        assert st.loc[cid, "basis"] == "current"
    assert st.loc[list(reported), "status"].isna().all() and st.loc[list(reported), "searched"].notna().all()


def test_changed_is_missing_without_a_baseline_not_false():
    """Issue 18.1: EV batteries, high-end chips, industrial robots, high-end bearings have no medium
    2018 row; `changed` was False for them, so `st[st.changed]` hid the clearest catch-up."""
    st = cd.status().set_index("chokepoint_id")
    assert str(st["changed"].dtype) == "boolean"
    a = cd.load("assessments")
    graded = a[a["confidence"].astype(str).isin(["medium", "high"])]
    with_baseline = set(graded.loc[graded["year"] <= 2018, "chokepoint_id"].astype(str))
    no_baseline = [cid for cid in st.index if cid not in with_baseline and pd.notna(st.loc[cid, "status"])]
    assert {"ev-batteries", "high-end-bearings"} <= set(no_baseline)  # the cases issue 18.1 named
    for cid in no_baseline:
        assert pd.isna(st.loc[cid, "status_since"]) and st.loc[cid, "changed"] is pd.NA, cid
    no_basis = st["status_since"].isna() | st["status"].isna() | (st["year"] == st["year_since"]).fillna(False)
    assert st.loc[no_basis, "changed"].isna().all()
    known = st[~no_basis]
    assert (known["changed"] == (known["status"].astype(str) != known["status_since"].astype(str))).all()


def test_changed_is_missing_when_now_and_then_are_one_row():
    st = cd.status(as_of=2019).set_index("chokepoint_id")
    same = st["year"].notna() & (st["year"] == st["year_since"])
    assert same.any() and st.loc[same, "changed"].isna().all()


def test_summary_counts_stale_and_searched_apart():
    from chokepoint_data.answers._summary import summary_text

    text = summary_text()
    st = cd.status()
    n = int((st["basis"] == "searched_nothing_current").sum())
    lines = text.splitlines()
    searched = [line for line in lines if line.strip().startswith("(searched, nothing current)")]
    assert searched and int(searched[0].split(")")[1].split()[0]) == n
    stale = [line for line in lines if line.strip().startswith("stale:")]
    assert len(stale) == 2 and f"older than {STALE_AFTER} years" in stale[0]
    assert "reference year" in text and f"before {data_date().year - STALE_AFTER}" in text
    assert int(stale[0].split()[1]) == int(st["stale"].sum())
    start = lines.index("status of the dependencies:") + 1
    counted = lines[start:lines.index("", start)]
    by_status = {line.split()[0]: int(line.split()[1]) for line in counted if line.split()[0] in analysis.STATUSES}
    assert by_status == {k: int(v) for k, v in st["status"].value_counts().items() if v}


def test_status_columns_in_order():
    cols = cd.status().columns.tolist()
    for c in ("evidence_age", "stale", "basis", "searched"):
        assert c in cols
    assert cols.index("year") < cols.index("evidence_age") < cols.index("stale") < cols.index("basis")
