"""The commercial subset is a whole package, however it is taken (issue 18.3).

For every way of loading or exporting the subset (``load`` with each backend and with labels,
``load_all``, every export format, ``claims`` and the ClaimReview export): no row cites a
non-commercial source, every key resolves (the package's own ``validate()`` passes), and every
licence the output names is one its rows carry. A hypothesis test checks the rule itself: for
any choice of which sources are non-commercial, the rows kept validate and cite none of them.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chokepoint_data as cd
from chokepoint_data.outputs.export import export, shipped
from chokepoint_data.store import _loader
from chokepoint_data.store._licences import NONCOMMERCIAL, cited_sources, commercial_masks, row_licences
from chokepoint_data.store._rivals import rival_codes

TABLES = _loader.list_tables()
SCHEMAS = {t: _loader.table_schema(t) for t in TABLES}


def _nc_sources() -> set[str]:
    src = cd.load("sources")
    return set(src.loc[src["licence"].astype(str).isin(NONCOMMERCIAL), "source_id"])


def _package() -> Any:
    return shipped(loader=lambda name: cd.load(name, commercial_only=True))


# --- each way returns ({table: frame}, {table: licences it names} or None) ------------------

def _load(backend: str, labels: bool = False) -> Callable[[Path], tuple[dict[str, pd.DataFrame], None]]:
    def way(tmp: Path) -> tuple[dict[str, pd.DataFrame], None]:
        frames = {}
        for name in TABLES:
            got = cd.load(name, backend=backend, labels=labels, commercial_only=True)  # type: ignore[call-overload]
            frames[name] = got if backend == "pandas" else got.to_pandas()
        if labels:  # the plain columns, as a user of the labelled view has them
            frames = {n: f[[c["name"] for c in SCHEMAS[n]["fields"]]] for n, f in frames.items()}
        return frames, None
    return way


def _load_all(tmp: Path) -> tuple[dict[str, pd.DataFrame], None]:
    return dict(cd.load_all(commercial_only=True)), None


def _split(text: str) -> set[str]:
    return {part.strip() for part in str(text).split(",") if part.strip()}


def _csv(tmp: Path) -> tuple[dict[str, pd.DataFrame], dict[str, set[str]]]:
    out = tmp / "csv"
    export("csv", out, package=_package())
    manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
    frames = {f["table"]: pd.read_csv(out / name, dtype=str) for name, f in manifest["files"].items()}
    return frames, {f["table"]: _split(f["licence"]) for f in manifest["files"].values()}


def _database(fmt: str) -> Callable[[Path], tuple[dict[str, pd.DataFrame], dict[str, set[str]]]]:
    def way(tmp: Path) -> tuple[dict[str, pd.DataFrame], dict[str, set[str]]]:
        out = tmp / f"subset.{fmt}"
        export(fmt, out, package=_package())
        if fmt == "sqlite":
            con: Any = sqlite3.connect(out)
            read = lambda sql: pd.read_sql_query(sql, con)  # noqa: E731
        else:
            import duckdb

            con = duckdb.connect(str(out), read_only=True)
            read = lambda sql: con.execute(sql).df()  # noqa: E731
        try:
            meta = read("SELECT table_name, licence FROM _meta")
            frames = {name: read(f'SELECT * FROM "{name}"') for name in TABLES}
        finally:
            con.close()
        for name, frame in frames.items():  # SQLite has no boolean type: it stores 0 and 1
            for field in SCHEMAS[name]["fields"]:
                if field["type"] == "boolean" and frame[field["name"]].dtype != bool:
                    # 0/1 from SQLite, a nullable boolean from DuckDB (whose .map with a dict gives NA)
                    frame[field["name"]] = frame[field["name"]].astype("boolean")
        return frames, dict(zip(meta["table_name"], map(_split, meta["licence"])))
    return way


def _xlsx(tmp: Path) -> tuple[dict[str, pd.DataFrame], dict[str, set[str]]]:
    out = tmp / "subset.xlsx"
    export("xlsx", out, package=_package())
    sheets = pd.read_excel(out, sheet_name=None, dtype=object)
    readme = pd.read_excel(out, sheet_name="README", header=None, dtype=object)
    start = readme.index[readme[0] == "table"][0]
    named = {}
    for row in readme.loc[start + 1:].itertuples(index=False):
        if not isinstance(row[0], str):
            break
        named[row[0]] = _split(row[2])
    return {name: sheets[name] for name in TABLES}, named


WAYS = {
    "load-pandas": _load("pandas"),
    "load-pyarrow": _load("pyarrow"),
    "load-polars": _load("polars"),
    "load-labels": _load("pandas", labels=True),
    "load_all": _load_all,
    "export-csv": _csv,
    "export-sqlite": _database("sqlite"),
    "export-duckdb": _database("duckdb"),
    "export-xlsx": _xlsx,
}


@pytest.mark.parametrize("way", sorted(WAYS))
def test_every_way_of_taking_the_subset_is_whole_and_commercial(way, tmp_path):
    frames, named = WAYS[way](tmp_path)
    assert set(frames) == set(TABLES)
    nc = _nc_sources()
    typed = cd.validate(frames)  # every key resolves, every rule holds
    for name in TABLES:
        assert len(typed[name]) == len(cd.load(name, commercial_only=True)), name
        if name != "sources":
            cited = cited_sources(name, typed[name], SCHEMAS, typed)
            assert not cited.isin(nc).any().any(), f"{way}: {name} cites a non-commercial source"
    if named is not None:
        carried = {n: set(v) for n, v in row_licences(typed, SCHEMAS).items()}
        assert named == carried  # every licence named is one a row carries, and each is named
        assert not any(set(v) & NONCOMMERCIAL for v in named.values())


def test_the_subset_drops_what_points_at_a_dropped_row():
    full, kept = cd.load_all(), cd.load_all(commercial_only=True)
    nc = _nc_sources()
    # a market from an open source goes (whole) when its choke point or a holder's company row
    # cites a non-commercial source (today: the IP-core market of CSIS, whose choke point ETO lists)
    markets = full["markets"]
    open_markets = set(markets.loc[~markets["source_id"].isin(nc), "market_id"])
    dropped = open_markets - set(kept["markets"].market_id)
    nc_companies = set(full["companies"].loc[full["companies"]["source_id"].isin(nc), "company_id"])
    nc_chokepoints = set(full["chokepoints"].loc[full["chokepoints"]["listed_by"].isin(nc), "chokepoint_id"])
    shares = full["market_shares"]
    codes = rival_codes(markets)
    preferred_gone = set(codes[((markets["preferred"] == True).fillna(False)  # noqa: E712
                                & ~markets["market_id"].isin(kept["markets"]["market_id"])).to_numpy(dtype=bool)])
    for market_id in dropped:
        holders = set(shares.loc[shares["market_id"] == market_id, "holder"])
        row = markets["market_id"] == market_id
        chokepoint = markets.loc[row, "chokepoint_id"].iloc[0]
        its_group_lost_its_preferred = codes[row.to_numpy()][0] in preferred_gone
        assert holders & nc_companies or chokepoint in nc_chokepoints or its_group_lost_its_preferred, market_id
    kept_open = open_markets & set(kept["markets"].market_id)
    assert not set(shares.loc[shares["market_id"].isin(kept_open), "holder"]) & nc_companies
    split = kept["market_shares"].groupby("market_id", observed=True).size()
    assert set(kept["markets"].market_id) == set(split.index)  # no market left without its shares
    assert (split == full["market_shares"][full["market_shares"].market_id.isin(split.index)]
            .groupby("market_id", observed=True).size()[split.index]).all()  # and none left with part of them
    # a claim that rested on a dropped row goes with all its evidence
    assert "asml-only-euv" in set(full["claims"].claim_id)
    assert "asml-only-euv" not in set(kept["claims"].claim_id)
    assert set(kept["claim_evidence"].claim_id) <= set(kept["claims"].claim_id)


def test_claims_commercial_only_keeps_only_claims_whose_evidence_is_all_in_the_subset():
    nc = _nc_sources()
    full, kept = cd.claims(), cd.claims(commercial_only=True)
    subset = cd.load("claims", commercial_only=True)
    assert set(kept.claim_id) == set(subset.claim_id) and len(set(kept.claim_id)) < len(set(full.claim_id))
    assert not kept["evidence_source_id"].isin(nc).any()
    assert full["evidence_source_id"].isin(nc).any()
    with_evidence = kept[kept["evidence_key"].notna()]
    assert with_evidence["evidence_figure"].notna().any()
    # every evidence row names a row of the subset
    cd.validate({"claims": subset, "claim_evidence": cd.load("claim_evidence", commercial_only=True),
                 **{t: cd.load(t, commercial_only=True) for t in TABLES}})
    with pytest.raises(cd.ArgumentError, match="commercial_only"):
        cd.claims(commercial_only="yes")  # type: ignore[arg-type]


def test_claimreview_commercial_only_writes_the_subset_under_the_licences_its_rows_carry(tmp_path):
    from chokepoint_data.cli import main

    full_path, sub_path = tmp_path / "all.jsonld", tmp_path / "sub.jsonld"
    assert main(["export", "--format", "claimreview", "--out", str(full_path)]) == 0
    assert main(["export", "--format", "claimreview", "--commercial-only", "--out", str(sub_path)]) == 0
    full = json.loads(full_path.read_text(encoding="utf-8"))["@graph"]
    sub = json.loads(sub_path.read_text(encoding="utf-8"))["@graph"]
    nc_url = "https://creativecommons.org/licenses/by-nc/4.0/"
    assert {r["identifier"] for r in sub} == set(cd.load("claims", commercial_only=True).claim_id)
    assert not any(nc_url in r["license"] or nc_url in r["isBasedOn"]["license"] for r in sub)
    # the full export says which reviews rest on non-commercial rows, rather than labelling all CC BY
    flagged = {r["identifier"] for r in full if nc_url in r["license"]}
    assert flagged == {r["identifier"] for r in full} - {r["identifier"] for r in sub}
    assert all(nc_url in r["isBasedOn"]["license"] for r in full)
    # each review's citations name rows of the subset
    ev = cd.load("claim_evidence", commercial_only=True)
    keys = {f"{t}: {k}" for t, k in zip(ev.evidence_table.astype(str), ev.evidence_key)}
    assert all(set(r.get("citation", [])) <= keys for r in sub)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_choice_of_noncommercial_sources_leaves_a_valid_package(data):
    """The rule, not today's data: mark any few cited sources non-commercial, and the rows kept
    cite none of them and pass every rule of the package."""
    frames = {t: _loader.typed_frame(t) for t in TABLES}
    cited = sorted({v for t in TABLES if t != "sources"
                    for col in cited_sources(t, frames[t], SCHEMAS, frames).columns
                    for v in cited_sources(t, frames[t], SCHEMAS, frames)[col].dropna().astype(str)})
    chosen = data.draw(st.lists(st.sampled_from(cited), min_size=1, max_size=6, unique=True))
    sources = frames["sources"].copy()
    sources["licence"] = sources["licence"].astype(object).where(~sources["source_id"].isin(chosen), "CC-BY-NC-4.0")
    sources["licence"] = sources["licence"].astype("string")
    frames["sources"] = sources
    keep = commercial_masks(frames, SCHEMAS)
    kept = {t: frames[t][keep[t]].reset_index(drop=True) for t in TABLES}
    cd.validate(kept)
    for t in TABLES:
        if t != "sources":
            assert not cited_sources(t, kept[t], SCHEMAS, kept).isin(set(chosen)).any().any()


def test_a_preferred_market_that_goes_takes_its_rivals_with_it():
    """Found by the property test above: when the preferred one of rival markets cites a
    non-commercial source, the others are left with no preferred market and the subset failed
    `one_preferred`. The whole group goes, with its shares, and the rest still validates."""
    frames = {t: _loader.typed_frame(t) for t in TABLES}
    markets = frames["markets"]
    codes = rival_codes(markets)
    rivalled = pd.Series(codes).map(pd.Series(codes).value_counts()).to_numpy() > 1
    kept_before = commercial_masks(frames, SCHEMAS)["markets"]
    candidates = (markets["preferred"] == True).fillna(False).to_numpy(dtype=bool) & rivalled & kept_before  # noqa: E712
    assert candidates.any(), "no kept preferred market with a rival in the data: the case cannot be built"
    first = int(candidates.argmax())
    chosen, group = markets.iloc[first], markets[codes == codes[first]]
    assert bool(chosen["preferred"]) and len(group) >= 2
    sources = frames["sources"].copy()
    sources["licence"] = sources["licence"].astype(object).where(sources["source_id"] != chosen["source_id"],
                                                                "CC-BY-NC-4.0").astype("string")
    frames["sources"] = sources
    keep = commercial_masks(frames, SCHEMAS)
    kept = {t: frames[t][keep[t]].reset_index(drop=True) for t in TABLES}
    assert not set(group["market_id"]) & set(kept["markets"]["market_id"])
    assert not set(group["market_id"]) & set(kept["market_shares"]["market_id"])
    cd.validate(kept)


def test_a_company_row_citing_an_nc_source_takes_its_markets_from_open_sources_with_it():
    """The rule, whatever today's data: re-cite one holder of an open-source market to an NC
    source, and that market goes with all its shares; what is left validates."""
    frames = {t: _loader.typed_frame(t) for t in TABLES}
    nc = sorted(_nc_sources())
    markets, shares, companies = frames["markets"], frames["market_shares"], frames["companies"]
    open_markets = markets.loc[~markets["source_id"].isin(nc), "market_id"]
    kept_before = set(markets.loc[commercial_masks(frames, SCHEMAS)["markets"], "market_id"])
    held = shares[shares["market_id"].isin(open_markets) & shares["market_id"].isin(kept_before)
                  & shares["holder"].isin(companies["company_id"])].iloc[0]  # a market the subset keeps today
    companies = companies.copy()
    companies["source_id"] = companies["source_id"].astype(object).where(
        companies["company_id"] != held["holder"], nc[0]).astype(companies["source_id"].dtype)
    frames["companies"] = companies
    keep = commercial_masks(frames, SCHEMAS)
    kept = {t: frames[t][keep[t]].reset_index(drop=True) for t in TABLES}
    assert held["holder"] not in set(kept["companies"]["company_id"])
    assert held["market_id"] not in set(kept["markets"]["market_id"])
    assert held["market_id"] not in set(kept["market_shares"]["market_id"])  # the whole split
    cd.validate(kept)
