"""Which controls bind on a date (issue 18.2): policy_state(), in_force(), the CLI, and a
suspension drawn and listed as a suspension, not an end."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pandas as pd
import pytest

import chokepoint_data as cd
from chokepoint_data.answers._policies import POLICY_STATES, states_on


def _frame(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"policy_id": [f"p{i}" for i in range(n)], "announced": ["2025-01-01"] * n, "effective": [None] * n,
            "ended": [None] * n, "suspended_from": [None] * n, "suspended_until": [None] * n}
    base.update(cols)
    out = pd.DataFrame(base)
    for c in ("announced", "effective", "ended", "suspended_from", "suspended_until"):
        out[c] = pd.to_datetime(out[c])
    return out


def test_states_on_made_up_policies():
    f = _frame(announced=["2025-01-01", "2025-01-01", "2025-01-01", "2025-01-01", "2025-01-01", "2025-01-01"],
               effective=["2025-06-01", None, None, None, None, None],
               ended=[None, "2025-03-01", None, None, None, "2025-03-01"],
               suspended_from=[None, None, "2025-02-01", "2025-02-01", "2025-02-01", "2025-02-01"],
               suspended_until=[None, None, "2025-03-01", None, "2025-02-10", None])
    at = lambda day: states_on(f, pd.Timestamp(day)).astype(str).tolist()  # noqa: E731
    assert at("2025-03-01") == ["not_yet_effective", "ended", "suspended", "suspended", "in_force", "ended"]
    assert at("2025-03-02") == ["not_yet_effective", "ended", "in_force", "suspended", "in_force", "ended"]
    assert at("2025-01-31") == ["not_yet_effective", "in_force", "in_force", "in_force", "in_force", "in_force"]
    assert at("2025-06-01")[0] == "in_force"  # effective on its effective day
    assert at("2024-12-31") == ["not_yet_effective"] * 6  # before the announcement: effective = announced


def test_a_suspended_policy_is_not_counted_as_over():
    """Issue 18.2: `ended.isna()` counted the suspended controls as over; the state says suspended,
    and the suspension runs to its last day inclusive."""
    p = cd.load("policies")
    suspended = p[p["suspended_from"].notna()]
    assert len(suspended) and suspended["ended"].isna().all()
    for row in suspended.itertuples(index=False):
        # a suspension may start before the measure takes effect (battery graphite: suspended 11-07, effective 11-08)
        start = max(row.suspended_from, row.effective if pd.notna(row.effective) else row.announced)
        during = cd.policy_state(start.date()).set_index("policy_id").loc[row.policy_id, "state"]
        assert during == "suspended", row.policy_id
        if pd.notna(row.suspended_until):
            last = cd.policy_state(f"{row.suspended_until:%Y-%m-%d}").set_index("policy_id").loc[row.policy_id, "state"]
            after = cd.policy_state(row.suspended_until + pd.Timedelta(days=1)).set_index("policy_id").loc[row.policy_id, "state"]
            assert last == "suspended" and after == "in_force", row.policy_id
        binding = set(cd.in_force(start).policy_id)
        assert row.policy_id not in binding


def test_in_force_is_policy_state_filtered_and_defaults_to_the_datas_date():
    from chokepoint_data.answers.analysis import data_date

    states = cd.policy_state()
    assert (states["as_of"] == data_date()).all()
    assert set(states["state"].astype(str)) <= set(POLICY_STATES)
    binding = cd.in_force()
    assert list(binding["policy_id"]) == list(states.loc[states["state"] == "in_force", "policy_id"])
    assert len(states) == len(cd.load("policies"))
    ended = states[states["state"] == "ended"]
    assert (ended["ended"] <= data_date()).all() and len(ended)


def test_filters_and_labels():
    usa = cd.in_force("2026-01-15", jurisdiction="USA", kind="export_control")
    assert len(usa) and (usa["jurisdiction"] == "USA").all() and (usa["kind"] == "export_control").all()
    assert "name_en" in cd.policy_state(labels=True).columns
    assert len(cd.in_force(dt.date(2026, 1, 15))) == len(cd.in_force("2026-01-15")) == len(cd.in_force(pd.Timestamp("2026-01-15")))


@pytest.mark.parametrize("kwargs,word", [({"as_of": "2026-13-01"}, "as_of"), ({"as_of": 2026}, "as_of"),
                                          ({"as_of": "15/01/2026"}, "YYYY-MM-DD"), ({"jurisdiction": "US"}, "alpha-3"),
                                          ({"kind": "sanction"}, "export_control")])
def test_bad_arguments_are_the_packages_errors(kwargs, word):
    with pytest.raises(cd.ArgumentError) as err:
        cd.in_force(**kwargs)
    assert word in str(err.value)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "chokepoint_data", *args], capture_output=True, text=True)


def test_cli_show_policies_in_force():
    import csv
    import io

    out = _cli("show", "policies", "--in-force", "--as-of", "2026-01-15", "--rows", "1000", "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    expected = cd.in_force("2026-01-15")
    assert sorted(r["policy_id"] for r in rows) == sorted(expected["policy_id"].astype(str))
    assert "cn-rare-earths-2025-10" not in {r["policy_id"] for r in rows} and {r["state"] for r in rows} == {"in_force"}
    every = _cli("show", "policies", "--as-of", "2026-01-15", "--where", "state=suspended", "--rows", "1000", "--format", "csv")
    got = list(csv.DictReader(io.StringIO(every.stdout)))
    assert every.returncode == 0 and len(got) == int((cd.policy_state("2026-01-15").state == "suspended").sum())


@pytest.mark.parametrize("args,word", [(("show", "policies", "--in-force", "--as-of", "tomorrow"), "--as-of"),
                                       (("show", "markets", "--in-force"), "policies")])
def test_cli_in_force_errors_without_a_traceback(args, word):
    out = _cli(*args)
    assert out.returncode != 0 and "Traceback" not in out.stderr and word in out.stderr


def test_timeline_lists_a_suspension_as_a_suspension():
    links = cd.load("policy_chokepoints")
    p = cd.load("policies")
    pid = p.loc[p["suspended_from"].notna() & p["policy_id"].isin(links["policy_id"]), "policy_id"].iloc[0]
    row = p.set_index("policy_id").loc[pid]
    cid = links.loc[links["policy_id"] == pid, "chokepoint_id"].iloc[0]
    t = cd.timeline(cid)
    hits = t[t["fact"].str.startswith("suspended") & t["fact"].str.contains(str(row["name_en"]), regex=False)]
    assert len(hits) == 1 and hits["date"].iloc[0] == row["suspended_from"]
    assert f"through {row['suspended_until']:%Y-%m-%d}" in hits["fact"].iloc[0]
    assert hits["source_id"].iloc[0] == row["suspension_source_id"]


def test_controls_figure_draws_suspensions_apart_from_ends():
    pytest.importorskip("matplotlib")
    from chokepoint_data import figures

    fig = figures.make_figure("export_controls")
    ax = fig.axes[0]
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() not in ("-", "None", "")]
    p = cd.load("policies")
    n = int((p["suspended_from"].notna() & p["kind"].isin(["export_control", "entity_listing", "countermeasure"])).sum())
    assert len(dashed) == n
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("suspended") for label in labels)
    assert not any("suspended" in label for label in labels if label.startswith("ended"))
