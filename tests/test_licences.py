"""Licences per source and per row: nothing non-commercial in a commercial-only load."""

from __future__ import annotations

import pytest

import chokepoint_data as cd
from chokepoint_data.store import _loader
from chokepoint_data.store._licences import NONCOMMERCIAL, cited_sources


def _nc_sources() -> set[str]:
    src = cd.load("sources")
    return set(src.loc[src["licence"].astype(str).isin(NONCOMMERCIAL), "source_id"])


def test_every_source_has_a_licence_and_eto_is_noncommercial():
    src = cd.load("sources")
    assert src["licence"].notna().all()
    eto = src[src["source_id"].str.startswith("eto-")]
    assert len(eto) and (eto["licence"] == "CC-BY-NC-4.0").all()


@pytest.mark.parametrize("name", _loader.list_tables())
def test_commercial_only_holds_no_row_citing_a_noncommercial_source(name):
    nc = _nc_sources()
    schemas = {t: _loader.table_schema(t) for t in _loader.list_tables()}
    full = cd.load(name)
    kept = cd.load(name, commercial_only=True)
    cited = cited_sources(name, kept, schemas, {"markets": cd.load("markets")})
    if name != "sources":
        assert not cited.isin(nc).any().any()
    dropped = cited_sources(name, full, schemas, {"markets": cd.load("markets")}).isin(nc).any(axis=1)
    if name == "sources":
        assert len(kept) == len(full)  # bibliographic rows stay
    else:
        assert len(kept) <= len(full) - int(dropped.sum())
    assert len(cd.load(name, commercial_only=True, backend="pyarrow")) == len(kept)


def test_commercial_only_is_a_whole_package():
    """Rows that point at a dropped row go too, so every key of the commercial subset resolves."""
    from chokepoint_data.rules._validate import check_frames

    frames = {}
    for name in _loader.list_tables():
        typed = _loader.typed_frame(name)
        frames[name] = typed[_loader._commercial_mask(name)].reset_index(drop=True)
    schemas = {t: _loader.table_schema(t) for t in _loader.list_tables()}
    fk_failures = [f for f in check_frames(frames, schemas) if f.rule.startswith("foreign_key:")]
    assert fk_failures == []


def test_the_eto_market_shares_go_and_are_named_in_the_descriptor():
    full, kept = cd.load("market_shares"), cd.load("market_shares", commercial_only=True)
    markets = cd.load("markets")
    eto = full["market_id"].map(markets.set_index("market_id")["source_id"]).isin(_nc_sources())
    assert eto.sum() > 0 and len(full) - len(kept) >= eto.sum()  # the ETO rows, and what rests on them
    res = {r["name"]: r for r in cd.datapackage()["resources"]}
    assert "CC-BY-NC-4.0" in {lic["name"] for lic in res["market_shares"]["licenses"]}
    assert "CC-BY-NC-4.0" not in {lic["name"] for lic in res["metrics"]["licenses"]}


def test_commercial_only_must_be_a_bool():
    with pytest.raises(TypeError):
        cd.load("markets", commercial_only="yes")  # type: ignore[call-overload]


def test_sources_for_follows_markets_and_accepts_polars_and_arrow():
    import polars as pl
    shares = cd.load("market_shares").head(3)
    expect = set(cd.sources_for(shares)["source_id"])
    assert set(cd.sources_for(pl.from_pandas(shares.astype({"confidence": str})))["source_id"]) == expect
    assert set(cd.sources_for(cd.load("market_shares", backend="pyarrow").slice(0, 3))["source_id"]) == expect


@pytest.mark.parametrize("bad", [None, [1, 2], "market_shares"])
def test_sources_for_refuses_what_is_not_a_frame(bad):
    with pytest.raises(cd.ArgumentError, match="sources_for"):
        cd.sources_for(bad)


def test_citation_names_eto_when_its_rows_are_used():
    assert "Emerging Technology Observatory" in cd.citation()
    assert "Emerging Technology Observatory" not in cd.citation(commercial_only=True)
