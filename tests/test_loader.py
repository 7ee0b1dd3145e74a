"""The loader: typed frames, backends, helpful errors, no shared mutable state."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pyarrow as pa
import pytest

import chokepoint_data as cd


def test_list_tables_matches_descriptor():
    assert cd.list_tables() == [r["name"] for r in cd.datapackage()["resources"]]
    assert set(cd.load_all()) == set(cd.list_tables())


@pytest.mark.parametrize("name", ["sources", "chokepoints", "assessments", "companies", "company_chokepoints", "markets",
                                  "market_shares", "metrics", "indicators", "policies", "policy_chokepoints", "policy_targets"])
def test_every_table_loads_with_schema_dtypes(name):
    df = cd.load(name)
    sch = cd.datapackage()["resources"][cd.list_tables().index(name)]["schema"]
    assert list(df.columns) == [f["name"] for f in sch["fields"]]
    assert len(df) > 0
    for field in sch["fields"]:
        dtype = df[field["name"]].dtype
        enum = field.get("constraints", {}).get("enum")
        if field["type"] == "string" and enum:
            assert isinstance(dtype, pd.CategoricalDtype) and list(dtype.categories) == enum
            assert dtype.ordered == bool(field.get("categoriesOrdered", False))
        else:
            expected = {"string": "string", "integer": "Int64", "number": "Float64", "boolean": "boolean",
                        "date": "datetime64[ns]"}[field["type"]]
            assert str(dtype) == expected, (name, field["name"], dtype)


def test_confidence_is_ordered():
    conf = cd.load("market_shares")["confidence"]
    assert conf.cat.ordered and list(conf.cat.categories) == ["low", "medium", "high"]
    assert (conf >= "medium").any()


def test_pyarrow_and_polars_backends_agree_with_pandas():
    pl = pytest.importorskip("polars")
    arrow = cd.load("indicators", backend="pyarrow")
    polars_df = cd.load("indicators", backend="polars")
    pandas_df = cd.load("indicators")
    assert isinstance(arrow, pa.Table) and isinstance(polars_df, pl.DataFrame)
    assert arrow.num_rows == polars_df.height == len(pandas_df)
    assert arrow.column("value").to_pylist() == pandas_df["value"].astype(object).where(pandas_df["value"].notna(), None).tolist()


def test_bad_backend():
    with pytest.raises(ValueError, match="backend"):
        cd.load("sources", backend="spark")  # type: ignore[arg-type]


def test_unknown_table_names_the_closest():
    with pytest.raises(cd.UnknownTableError) as err:
        cd.load("market_share")
    assert "market_shares" in err.value.close and "market_shares" in str(err.value)
    assert isinstance(err.value, KeyError) and isinstance(err.value, cd.ChokepointDataError)
    with pytest.raises(cd.UnknownTableError):
        cd.describe("nope")
    with pytest.raises(cd.UnknownTableError):
        cd.validate({"nope": pd.DataFrame()})


def test_callers_cannot_change_each_others_data():
    a = cd.load("market_shares")
    a.loc[a.index[0], "share"] = 0.999
    del a["note"]
    b = cd.load("market_shares")
    assert "note" in b.columns and b.loc[b.index[0], "share"] != 0.999
    arrow = cd.load("market_shares", backend="pyarrow")
    assert arrow.equals(cd.load("market_shares", backend="pyarrow"))  # immutable by construction


def test_concurrent_loads_return_equal_frames():
    from chokepoint_data.store import _loader

    _loader._arrow_cache.clear()
    barrier = threading.Barrier(8)

    def work(name):
        barrier.wait()
        return cd.load(name)

    names = ["market_shares", "indicators"] * 4
    with ThreadPoolExecutor(8) as pool:
        frames = list(pool.map(work, names))
    for name, frame in zip(names, frames):
        pd.testing.assert_frame_equal(frame, frames[names.index(name)])


def test_describe_is_the_data_dictionary():
    d = cd.describe("market_shares")
    sch = cd.datapackage()["resources"][cd.list_tables().index("market_shares")]["schema"]
    assert d["column"].tolist() == [f["name"] for f in sch["fields"]]
    row = d.set_index("column").loc["market_id"]
    assert row["references"] == "markets.market_id" and bool(row["required"]) and bool(row["primary_key"])
    assert d.set_index("column").loc["share", "values"] == "[0, 1]"
    assert cd.describe("markets").set_index("column").loc["scope", "values"] == "global, china"


def test_sources_for_returns_the_cited_rows():
    shares = cd.load("market_shares").head(5)
    cited = cd.sources_for(shares)
    markets = cd.load("markets").set_index("market_id")
    assert set(cited["source_id"]) == set(markets.loc[shares["market_id"], "source_id"].astype(str))
    assert len(cited) >= 1
    targets = cd.load("policy_targets")
    with_achieved = targets[targets["achieved_source_id"].notna()]
    assert set(with_achieved["achieved_source_id"]) <= set(cd.sources_for(with_achieved)["source_id"])


def test_schema_is_pandera_and_validates_loaded_frames():
    import pandera.pandas as pa_

    s = cd.schema("market_shares")
    assert isinstance(s, pa_.DataFrameSchema)
    assert set(s.columns) == set(cd.load("market_shares").columns)
    typed = cd.load("market_shares").astype({"confidence": "string"})
    s.validate(typed)
    bad = typed.copy()
    bad.loc[bad.index[0], "share"] = 1.5
    with pytest.raises(pa_.errors.SchemaError):
        s.validate(bad)


def test_validate_shipped_data_and_returns_typed_tables():
    tables = cd.validate()
    assert set(tables) == set(cd.list_tables())
    pd.testing.assert_frame_equal(tables["indicators"], cd.load("indicators"))


def test_validate_never_changes_user_frames():
    shares = cd.load("market_shares")
    shares["extra"] = 1
    shares["share"] = shares["share"].astype(object)
    shares.loc[shares.index[0], "share"] = "12%"  # text in a number column
    before = shares.copy(deep=True)
    with pytest.raises(cd.ValidationError) as err:
        cd.validate({"market_shares": shares})
    pd.testing.assert_frame_equal(shares, before)
    rules = err.value.rules()
    assert {"columns:extra", "type:number"} <= rules


def test_validate_reports_missing_columns_wrong_dtypes_and_nan_keys():
    df = cd.load("companies").drop(columns=["name_en"])
    df["country"] = 3
    df.loc[df.index[1], "company_id"] = None
    with pytest.raises(cd.ValidationError) as err:
        cd.validate({"companies": df})
    rules = err.value.rules()
    assert {"columns:missing", "type:string", "required"} <= rules
    assert any(f.column == "company_id" and f.rule == "required" for f in err.value.failures)


def test_validate_accepts_an_extended_copy():
    shares = cd.load("market_shares")
    markets = cd.load("markets")
    mid = markets.loc[markets["breakdown"] == "company", "market_id"].iloc[0]
    present = set(shares.loc[shares["market_id"] == mid, "holder"])
    newcomer = next(c for c in cd.load("companies")["company_id"] if c not in present)
    row = shares[shares["market_id"] == mid].iloc[[0]].copy()
    row["holder"], row["share"] = newcomer, 0.0  # a holder the source lists at 0.0
    extended = pd.concat([shares, row], ignore_index=True)
    out = cd.validate({"market_shares": extended})
    assert len(out["market_shares"]) == len(shares) + 1


@pytest.mark.parametrize("bad", [None, "market_shares", 3, ["source_id"], {"source_id": ["x"]}])
def test_sources_for_refuses_what_is_not_a_table(bad):
    with pytest.raises(cd.ChokepointDataError, match="sources_for") as err:
        cd.sources_for(bad)
    assert isinstance(err.value, TypeError)


@pytest.mark.parametrize("backend", ["polars", "pyarrow"])
def test_sources_for_accepts_polars_and_arrow(backend):
    plain = cd.sources_for(cd.load("market_shares").head(3))
    got = cd.sources_for(cd.load("market_shares", backend=backend).slice(0, 3))
    assert got["source_id"].tolist() == plain["source_id"].tolist()
