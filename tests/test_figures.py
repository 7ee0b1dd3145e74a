"""Figures: drawn from the current data, reproducible to the byte, captioned with sources."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import chokepoint_data as cd
from chokepoint_data import figures

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "docs" / "figures"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("figures")
    figures.write_figures(out)
    return out


def test_at_least_five_figures(fresh):
    assert len(figures.FIGURES) >= 5
    assert sorted(p.name for p in fresh.iterdir()) == sorted(f"{n}.svg" for n in figures.FIGURES)


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_committed_figure_is_up_to_date(fresh, name):
    new = (fresh / f"{name}.svg").read_bytes()
    old = COMMITTED / f"{name}.svg"
    assert old.exists() and old.read_bytes() == new, (
        f"docs/figures/{name}.svg is stale (or was drawn by another matplotlib); "
        f"regenerate: chokepoint-data figures --out docs/figures")


def test_same_bytes_twice(fresh, tmp_path):
    figures.write_figures(tmp_path, names=["status"])
    assert (tmp_path / "status.svg").read_bytes() == (fresh / "status.svg").read_bytes()


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_caption_names_sources_and_version(fresh, name):
    text = (fresh / f"{name}.svg").read_text()
    assert f"chokepoint-data {cd.__version__}" in text
    assert "Sources (" in text
    assert "<dc:date>" not in text


def test_ev_figure_keeps_gaps():
    tables = {n: cd.load(n) for n in cd.list_tables()}
    ev = figures.ev_battery_frame(tables)
    fig = figures.make_figure("ev_batteries", tables)
    catl = [ln for ln in fig.axes[0].lines if ln.get_label().startswith("CATL")][0]
    ys = dict(zip(catl.get_xdata(), catl.get_ydata()))
    given = set(ev.loc[(ev.holder == "catl"), "year"])
    for year, y in ys.items():
        assert (y == y) == (year in given)  # NaN (a gap) exactly where no source gives a share


def test_status_frame_follows_status_rule():
    frame = figures.status_frame(years=[2018, 2022, 2026])
    for year in (2018, 2022, 2026):
        st = cd.status(as_of=year)
        at = frame[frame.year == year]
        has = st[st.status.notna()]
        got = at[at.status.notna()].set_index("chokepoint_id")["status"].to_dict()
        assert got == dict(zip(has.chokepoint_id.astype(str), has.status.astype(str)))
        stale = set(at.loc[at.stale, "chokepoint_id"])
        assert stale == set(st.loc[st.stale, "chokepoint_id"].astype(str))
        searched = set(at.loc[at.status.isna(), "chokepoint_id"])
        assert searched == set(st.loc[st.basis == "searched_nothing_current", "chokepoint_id"].astype(str))
    assert frame.loc[frame.year == 2022, "stale"].any()  # 2018 rows seen from 2022


def test_status_figure_draws_stale_spans_and_searches_apart():
    """Issue 18.1: a 2018 row carried forward was drawn as a solid bar; stale years are hatched and
    lighter, and a search that found nothing current is marked."""
    fig = figures.make_figure("status")
    ax = fig.axes[0]
    hatched = [c for c in ax.collections if c.get_hatch()]
    solid = [c for c in ax.collections if not c.get_hatch() and type(c).__name__ == "PolyCollection"]
    assert hatched and solid
    assert all(c.get_facecolor()[0][3] < 0.5 for c in hatched)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "stale" in labels and "searched, nothing current" in labels
    frame = figures.status_frame()
    last = frame[frame.year == frame.year.max()]
    rings = [c for c in ax.collections if type(c).__name__ == "PathCollection" and len(c.get_offsets())
             and (c.get_facecolor().size == 0 or c.get_facecolor()[0][3] == 0)]
    assert rings and len(rings[0].get_offsets()) == int(last.status.isna().sum())


def test_concentration_figure_uses_concentration():
    fig = figures.make_figure("concentration")
    ax, hhi_ax = fig.axes[:2]
    conc = cd.concentration().set_index("market_id")
    euv = conc[(conc.chokepoint_id == "euv-lithography") & (conc.breakdown == "company")].sort_values("year").iloc[-1]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    row = next(i for i, t in enumerate(labels) if t.startswith("EUV lithography"))
    assert ax.patches[row].get_width() == pytest.approx(float(euv.top_share))
    assert hhi_ax.patches[row].get_width() == pytest.approx(float(euv.hhi))


def test_cli_figures(tmp_path, capsys):
    from chokepoint_data.cli import main

    assert main(["figures", "--out", str(tmp_path / "figs")]) == 0
    assert len(list((tmp_path / "figs").glob("*.svg"))) == len(figures.FIGURES)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(cd.MissingExtraError, match=r"chokepoint-data\[plot\]"):
        figures.make_figure("status")


def test_cli_missing_matplotlib_is_a_message(monkeypatch, tmp_path, capsys):
    from chokepoint_data.cli import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["figures", "--out", str(tmp_path)]) == 1
    assert "pip install 'chokepoint-data[plot]'" in capsys.readouterr().err


def test_ev_figure_and_table_use_the_preferred_market():
    """Where ``markets.preferred`` marks one of several sources for a year, the chart's line (and
    the cookbook's table, which reads the same ``primary`` rows) uses it (issue 18)."""
    tables = {n: cd.load(n) for n in cd.list_tables()}
    ev = figures.ev_battery_frame(tables)
    markets = tables["markets"]
    preferred = markets[(markets.chokepoint_id == "ev-batteries") & (markets.preferred == True)]  # noqa: E712
    assert len(preferred)
    for year, source in zip(preferred.year, preferred.source_id):
        named = set(ev[(ev.year == year) & (ev.source_id == source)].holder)
        shown = ev[(ev.year == year) & ev.primary & ev.holder.isin(named)]
        assert set(shown.source_id) == {source}, (year, set(shown.source_id))
