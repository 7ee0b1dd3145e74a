"""Labelled views: names next to ids, plain load() untouched."""

from __future__ import annotations

import functools

import pandas as pd
import pytest

import chokepoint_data as cd
from chokepoint_data.store._views import LazyTables, country_name, labelled


@pytest.mark.parametrize("name", ["sources", "chokepoints", "assessments", "companies", "company_chokepoints",
                                  "market_shares", "indicators", "policies", "policy_chokepoints", "policy_targets"])
def test_labels_only_add_columns(name):
    plain = cd.load(name)
    lab = cd.load(name, labels=True)
    # every original column, unchanged and in the same order
    assert [c for c in lab.columns if c in plain.columns] == list(plain.columns)
    pd.testing.assert_frame_equal(lab[list(plain.columns)], plain)
    assert len(lab) == len(plain)


def test_plain_load_is_unchanged_by_a_labelled_load():
    before = cd.load("market_shares")
    cd.load("market_shares", labels=True)
    pd.testing.assert_frame_equal(cd.load("market_shares"), before)
    assert "chokepoint_name" not in before.columns


def test_market_share_labels_are_right():
    lab = cd.load("market_shares", labels=True)
    cp = cd.load("chokepoints").set_index("chokepoint_id")
    companies = cd.load("companies").set_index("company_id")
    sources = cd.load("sources").set_index("source_id")
    assert list(lab.columns[:4]) == ["market_id", "chokepoint_id", "chokepoint_name", "chokepoint_direction"]
    for row in lab.sample(40, random_state=1).itertuples():
        assert row.chokepoint_name == cp.loc[row.chokepoint_id, "name_en"]
        assert row.source_publisher == sources.loc[row.source_id, "publisher"]
        if row.holder == "other":
            assert row.holder_name == "rest of market"
        elif row.breakdown == "company":
            assert row.holder_name == companies.loc[row.holder, "name_en"]
            assert row.holder_country == companies.loc[row.holder, "country"]
        else:
            assert row.holder_country == row.holder and row.holder_name == country_name(row.holder)


def test_targets_label_both_sources_and_policy():
    lab = cd.load("policy_targets", labels=True)
    assert {"policy_name", "source_publisher", "achieved_source_publisher", "achieved_source_published"} <= set(lab.columns)
    has = lab[lab.achieved_source_id.notna()]
    assert has.achieved_source_publisher.notna().all()
    assert (lab.policy_name.loc[lab.policy_id == "mic2025"] == "Made in China 2025").all()


def test_unknown_id_gives_empty_label_not_error():
    frame = cd.load("assessments").head(2).copy()
    frame["chokepoint_id"] = pd.array(["no-such-thing", frame["chokepoint_id"].iloc[1]], dtype="string")
    tables = LazyTables(cd.list_tables(), cd.load)
    out = labelled("assessments", frame, tables)
    assert pd.isna(out["chokepoint_name"].iloc[0]) and isinstance(out["chokepoint_name"].iloc[1], str)


def test_market_id_brings_market_columns():
    """After issue 7 market_shares carries market_id only; labels bring the market in."""
    markets = pd.DataFrame({"market_id": ["m1"], "chokepoint_id": ["euv-lithography"], "year": [2024],
                            "breakdown": ["company"], "source_id": ["eto-2025-chip-explorer-provision"]})
    shares = pd.DataFrame({"market_id": ["m1", "m1"], "holder": ["asml", "other"], "share": [0.9, 0.1]})
    tables = {"markets": markets, "chokepoints": cd.load("chokepoints"), "companies": cd.load("companies"),
              "sources": cd.load("sources")}
    out = labelled("market_shares", shares, tables)
    assert out["chokepoint_name"].tolist() == ["EUV lithography scanners"] * 2
    assert out["holder_name"].tolist() == ["ASML", "rest of market"]
    assert list(out.columns[:3]) == ["market_id", "chokepoint_id", "chokepoint_name"]


def test_country_names_are_short_names():
    assert country_name("KOR") == "South Korea"
    assert country_name("TWN") == "Taiwan"
    assert country_name("USA") == "United States"
    assert country_name("ZZZ") is None


@pytest.mark.parametrize("backend", ["pyarrow", "polars"])
def test_labels_with_other_backends(backend):
    out = cd.load("companies", backend=backend, labels=True)
    assert "country_name" in out.column_names if backend == "pyarrow" else "country_name" in out.columns


def test_cli_show_labels(capsys):
    from chokepoint_data.cli import main

    assert main(["show", "company_chokepoints", "--labels", "--rows", "3", "--where", "company_id=asml"]) == 0
    out = capsys.readouterr().out
    assert "company_name" in out and "ASML" in out and "NLD" in out


def test_sql_views_have_the_same_columns_as_labelled_and_a_licence(schemas):
    from chokepoint_data.store._views import sql_view_columns

    views = sql_view_columns(schemas)
    assert {"market_shares_labelled", "markets_labelled", "policy_targets_labelled", "assessments_labelled"} <= set(views)
    for view, columns in views.items():
        lab = list(cd.load(view[: -len("_labelled")], labels=True).columns)
        assert columns == [*lab, "licence"], view


def _cells(frame):
    """Rows of ``frame`` as sorted tuples of plain values (dates as ISO text, booleans as 0/1, NA as None)."""
    out = []
    for row in frame.astype(object).itertuples(index=False, name=None):
        cells = []
        for v in row:
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                v = None
            elif hasattr(v, "isoformat"):
                v = v.isoformat()[:10]
            elif isinstance(v, bool):
                v = int(v)
            elif isinstance(v, float) and v.is_integer():
                v = int(v)
            cells.append(v)
        out.append(tuple(cells))
    return sorted(out, key=repr)


def _export_views(fmt, path, commercial_only):
    from chokepoint_data.export import export
    from chokepoint_data.outputs._common import shipped

    export(fmt, path, package=shipped(functools.partial(cd.load, commercial_only=True)) if commercial_only else None)
    if fmt == "sqlite":
        import sqlite3

        con = sqlite3.connect(path)
    else:
        import duckdb

        con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'view'" if fmt == "sqlite" else
            "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
        out = {}
        for view in names:
            cur = con.execute(f'SELECT * FROM "{view}"')
            out[view] = pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])
        return out
    finally:
        con.close()


@pytest.mark.parametrize("fmt,commercial_only", [("sqlite", False), ("duckdb", False), ("sqlite", True)])
def test_every_sql_view_is_the_labelled_load_with_each_rows_licence(fmt, commercial_only, schemas, tmp_path):
    """Each view an export writes holds what load(labels=True) gives, country names included
    ("Netherlands", not "NLD"), plus each row's licences as the store's licence logic reads them."""
    from chokepoint_data.store._licences import row_licence_text

    views = _export_views(fmt, tmp_path / f"x.{fmt}", commercial_only)
    assert len(views) >= 12
    frames = LazyTables(cd.list_tables(), cd.load)
    for view, got in views.items():
        name = view[: -len("_labelled")]
        want = cd.load(name, labels=True, commercial_only=commercial_only)
        want["licence"] = row_licence_text(name, cd.load(name, commercial_only=commercial_only), schemas, frames).to_numpy()
        assert list(got.columns) == list(want.columns), view
        assert _cells(got) == _cells(want), view
    shares = views["market_shares_labelled"]
    if not commercial_only:
        assert "Netherlands" in set(shares.holder_name) and "NLD" not in set(shares.holder_name)
        assert (shares.licence.str.contains("CC-BY-NC-4.0")).any()
    else:
        assert not shares.licence.str.contains("NC").any()
    assert views["companies_labelled"].country_name.notna().all()


@pytest.mark.parametrize("fmt", ["sqlite", "duckdb"])
def test_exports_carry_the_labelled_views(fmt, tmp_path):
    from chokepoint_data.export import export

    path = tmp_path / f"x.{fmt}"
    export(fmt, path)
    lab = cd.load("policy_targets", labels=True)
    if fmt == "sqlite":
        import sqlite3

        con = sqlite3.connect(path)
        rows = con.execute('SELECT policy_name, achieved_source_publisher FROM "policy_targets_labelled"').fetchall()
        con.close()
    else:
        import duckdb

        con = duckdb.connect(str(path), read_only=True)
        rows = con.execute('SELECT policy_name, achieved_source_publisher FROM "policy_targets_labelled"').fetchall()
        con.close()
    assert sorted(rows, key=str) == sorted(zip(lab.policy_name.astype(object).where(lab.policy_name.notna(), None),
                                               lab.achieved_source_publisher.astype(object).where(
                                                   lab.achieved_source_publisher.notna(), None)), key=str)


def test_every_source_column_is_labelled():
    """A column citing a source under any name (suspension_source_id, appeared_source_id) gets the source's labels."""
    frame = pd.DataFrame({"policy_id": ["p"], "suspension_source_id": ["eto-2025-chip-explorer-provision"]})
    out = labelled("policies", frame, {"sources": cd.load("sources")})
    assert out["suspension_source_publisher"].tolist() == ["Georgetown CSET / Emerging Technology Observatory"]
    assert "appeared_source_publisher" in cd.load("claims", labels=True).columns


def test_row_licence_text_names_each_cited_sources_licence(schemas):
    from chokepoint_data.store._licences import row_licence_text

    sources = cd.load("sources")
    nc = sources.loc[sources.licence == "CC-BY-NC-4.0", "source_id"].iloc[0]
    gov = sources.loc[sources.licence == "LicenseRef-US-Government-Work", "source_id"].iloc[0]
    frame = pd.DataFrame({"chokepoint_id": ["a", "b", "c"], "year": [2020] * 3, "source_id": [nc, gov, None]})
    got = row_licence_text("assessments", frame, schemas, {"sources": sources}).tolist()
    assert got == ["CC-BY-4.0, CC-BY-NC-4.0", "CC-BY-4.0, LicenseRef-US-Government-Work", "CC-BY-4.0"]
