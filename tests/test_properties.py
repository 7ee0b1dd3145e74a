"""Property-based tests: valid frames pass; any one broken rule is caught and named."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chokepoint_data.store import _loader
from chokepoint_data.rules._invariants import MARKET_KEY, MARKET_SHARE_TOLERANCE
from chokepoint_data.rules._keys import key_strings
from chokepoint_data.rules._validate import check_frames

from test_invariants import CASES, NoRow

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SHIPPED = {name: _loader.typed_frame(name) for name in _loader.list_tables()}
SCHEMAS = {name: _loader.table_schema(name) for name in _loader.list_tables()}
FACT_TABLES = ["assessments", "company_chokepoints", "indicators", "policy_chokepoints"]  # nothing points at their rows


def frames_copy():
    return {k: v.copy() for k, v in SHIPPED.items()}


@st.composite
def markets(draw):
    """A new market (markets row + share rows) of company holders whose shares sum to at most 1
    (optionally closed by 'other')."""
    companies = SHIPPED["companies"]["company_id"].tolist()
    holders = draw(st.lists(st.sampled_from(companies), min_size=1, max_size=8, unique=True))
    weights = draw(st.lists(st.integers(1, 1000), min_size=len(holders) + 1, max_size=len(holders) + 1))
    total = draw(st.integers(1, 1000)) / 1000  # the part of the market the holders cover
    shares = [round(total * w / sum(weights), 4) for w in weights[:-1]]
    close = draw(st.booleans())
    src = SHIPPED["sources"]
    strong = src.loc[~src["kind"].isin(["aggregator", "blog"]) & ~src["relays"].fillna(False).astype(bool), "source_id"]
    company = SHIPPED["markets"][(SHIPPED["markets"]["breakdown"] == "company") & SHIPPED["markets"]["source_id"].isin(strong)]
    base = company.iloc[0].to_dict()  # a source that may carry 'high' shares (grade_fits_source)
    base.update(year=draw(st.integers(1990, 2050)), scope=draw(st.sampled_from(["global", "china"])),
                basis=draw(st.sampled_from(["revenue", "units", "capacity", "production", "shipments", "installations"])),
                coverage="complete" if close else "partial", sum_tolerance=pd.NA, tolerance_reason=pd.NA)
    base["market_id"] = ":".join(str(base[k]) for k in MARKET_KEY)
    # a company split with the same source's country split of the same market is held to it
    # (company_country_agree); random shares cannot be, so such markets are not drawn here
    from chokepoint_data.rules._invariants import COMPARED_SPLIT

    countries = SHIPPED["markets"][SHIPPED["markets"]["breakdown"] == "country"]
    assume(not (countries[list(COMPARED_SPLIT)] == pd.Series({k: base[k] for k in COMPARED_SPLIT})).all(axis=1).any())
    market = pd.DataFrame([base]).astype({c: SHIPPED["markets"][c].dtype for c in base})
    rows = [{"market_id": base["market_id"], "holder": h, "share": s, "is_derived": False, "confidence": "high", "locator": pd.NA, "note": pd.NA}
            for h, s in zip(holders, shares)]
    if close:
        rows.append({**rows[0], "holder": "other", "share": round(max(0.0, 1 - sum(shares)), 4)})
    return market, pd.DataFrame(rows).astype({c: SHIPPED["market_shares"][c].dtype for c in rows[0]})


def _with_market(market):
    market_row, shares = market
    frames = frames_copy()
    mid = market_row["market_id"].iloc[0]
    frames["markets"] = pd.concat([SHIPPED["markets"][SHIPPED["markets"]["market_id"] != mid], market_row], ignore_index=True)
    existing = SHIPPED["market_shares"]
    frames["market_shares"] = pd.concat([existing[existing["market_id"] != mid], shares], ignore_index=True)
    return frames


@SETTINGS
@given(markets())
def test_generated_valid_markets_pass(market):
    assert check_frames(_with_market(market), SCHEMAS) == []


@SETTINGS
@given(markets(), st.floats(MARKET_SHARE_TOLERANCE + 0.001, 0.9))
def test_pushing_a_market_over_one_is_caught(market, excess):
    market_row, market = market[0], market[1].copy()
    total = float(market["share"].sum())
    i = market.index[0]
    market.loc[i, "share"] = min(1.0, float(market.loc[i, "share"]) + (1 - total) + excess)
    if float(market["share"].sum()) <= 1 + MARKET_SHARE_TOLERANCE:
        return  # the one row cannot carry the excess without passing 1 itself; the max rule covers that
    failures = check_frames(_with_market((market_row, market)), SCHEMAS)
    rules = {f.rule for f in failures}
    assert "market_share_sum" in rules
    assert all(f.table in ("market_shares", "markets") for f in failures)


def _cited(name):
    """Rows of ``name`` that claim_evidence names (claims rest on them, so a subset keeps them)."""
    df, ev = SHIPPED[name], SHIPPED["claim_evidence"]
    keys = set(ev.loc[ev["evidence_table"] == name, "evidence_key"].astype(str))
    return key_strings(df, SCHEMAS[name]["primaryKey"]).isin(keys).to_numpy()


@st.composite
def subsets(draw):
    """Any subset of the rows of the fact tables that only claims point at, keeping the cited rows, is valid."""
    frames = frames_copy()
    for name in FACT_TABLES:
        df = frames[name]
        keep = draw(st.lists(st.booleans(), min_size=len(df), max_size=len(df)))
        frames[name] = df[pd.Series(keep, index=df.index).to_numpy() | _cited(name)].reset_index(drop=True)
    return frames


@SETTINGS
@given(subsets())
def test_subsets_of_valid_data_pass(frames):
    assert check_frames(frames, SCHEMAS) == []


@SETTINGS
@given(subsets(), st.sampled_from(CASES["all"]))
def test_one_mutation_is_caught_and_named(frames, param):
    rule, table, mutate = param.values
    try:
        t, key_fragment = mutate(frames)
    except NoRow:
        assume(False)  # the drawn subset left no row to start this case from
    failures = check_frames(frames, SCHEMAS)
    hits = [f for f in failures if f.rule == rule and f.table == t]
    assert hits, (rule, [str(f) for f in failures][:5])
    assert any(key_fragment in (f.key or "") for f in hits)


def _free_fields(name):
    """Fields no rule ties to anything else: free text and enumerations no invariant reads."""
    sch = SCHEMAS[name]
    keyed = set(sch.get("primaryKey") or [])
    for fk in sch.get("foreignKeys", []):
        keyed |= set(fk["fields"])
    out = []
    for f in sch["fields"]:
        c = f.get("constraints", {})
        if f["name"] in keyed or f["type"] != "string" or "pattern" in c:
            continue
        if f["name"] in {"holder", "locator", "published", "unit", "metric", "breakdown", "scope", "basis",
                         "status", "direction", "kind", "amount_unit", "role", "sector", "confidence",
                         "product_scope", "coverage", "tolerance_reason", "end_kind", "verdict", "bearing",
                         "preference_reason", "period"}:
            continue  # these feed invariants; they have their own cases
        if name == "chokepoints" and f["name"] == "name_zh":
            continue  # feeds distinct_name_zh, which has its own case
        out.append(f)
    return out


@st.composite
def perturbed(draw):
    """Every table, with its free fields redrawn from what the schema allows."""
    frames = frames_copy()
    for name in SCHEMAS:
        df = frames[name]
        for field in _free_fields(name):
            c = field.get("constraints", {})
            if "enum" in c:
                pool = draw(st.lists(st.sampled_from(c["enum"]), min_size=1, max_size=4))
            else:
                text = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s and s != "")
                pool = draw(st.lists(text if c.get("required") else st.one_of(st.none(), text), min_size=1, max_size=4))
            values = [pool[i % len(pool)] for i in range(len(df))]  # a small drawn pool, spread over every row
            df[field["name"]] = pd.array(values, dtype=df[field["name"]].dtype)
    return frames


@SETTINGS
@given(perturbed())
def test_frames_generated_within_every_schema_pass(frames):
    assert check_frames(frames, SCHEMAS) == []
