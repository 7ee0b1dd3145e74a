"""Every rule rejects a frame that breaks it, naming the table, the key and the rule.

Each case takes the shipped tables, breaks exactly one thing, and checks that the
validation report names the rule, the table and the offending row's primary key.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd
import pytest

import chokepoint_data as cd
from chokepoint_data.rules._invariants import MARKET_KEY, RULES
from chokepoint_data.rules._validate import check_frames

Mutation = Callable[[dict], tuple[str, str]]  # returns (table, expected key text fragment)
CASES: dict[str, list] = {}
TESTED_RULES: set[str] = set()


def case(rule: str, table: str):
    def deco(fn):
        CASES.setdefault("all", []).append(pytest.param(rule, table, fn, id=f"{table}:{rule}:{fn.__name__}"))
        TESTED_RULES.add(rule)
        return fn
    return deco


def _append(frames, table, row: dict) -> pd.DataFrame:
    df = frames[table]
    new = pd.DataFrame([row]).astype({c: df[c].dtype for c in row})
    frames[table] = pd.concat([df, new], ignore_index=True)
    return frames[table]


class NoRow(LookupError):
    """The frames hold no row this case can start from (a property test then draws again)."""


def _row(frames, table, where=None) -> dict:
    df = frames[table]
    if where is not None:
        df = df[where(df)]
    if not len(df):
        raise NoRow(f"no row in {table} fits this case")
    return df.iloc[0].to_dict()


def _company_ids(frames, n=2):
    return frames["companies"]["company_id"].tolist()[:n]


# --- invariants ------------------------------------------------------------------------

def _market(frames, year, breakdown="company", **changes) -> str:
    """Add a new market (a markets row) like an existing one, for ``year``; return its id."""
    src = frames["sources"]
    strong = src.loc[~src["kind"].isin(["aggregator", "blog"]) & ~src["relays"].fillna(False).astype(bool), "source_id"]
    # a source that may carry 'high' shares, so that only the rule a case breaks fires (grade_fits_source)
    base = _row(frames, "markets", lambda d: (d["breakdown"] == breakdown) & d["source_id"].isin(strong))
    row = {**base, "year": year, "coverage": "partial", "sum_tolerance": pd.NA, "tolerance_reason": pd.NA, **changes}
    row["market_id"] = ":".join(str(row[k]) for k in MARKET_KEY)
    _append(frames, "markets", row)
    return row["market_id"]


def _share(frames, market_id, holder, share):
    _append(frames, "market_shares", {"market_id": market_id, "holder": holder, "share": share, "is_derived": False,
                                      "confidence": "high", "locator": pd.NA, "note": pd.NA})


@case("market_share_sum", "market_shares")
def over_one(frames):
    a, b = _company_ids(frames)
    mid = _market(frames, 2049)
    for holder in (a, b):
        _share(frames, mid, holder, 0.7)
    return "market_shares", ":2049:"


@case("market_share_sum", "market_shares")
def over_declared_tolerance(frames):
    a, b = _company_ids(frames)
    mid = _market(frames, 2044, sum_tolerance=0.03, tolerance_reason="the source rounds shares up")
    _share(frames, mid, a, 0.52)
    _share(frames, mid, b, 0.52)  # 1.04: past the market's own 0.03
    return "market_shares", ":2044:"


@case("market_share_rest_sum", "market_shares")
def rest_does_not_close(frames):
    (a,) = _company_ids(frames, 1)
    mid = _market(frames, 2048)
    _share(frames, mid, a, 0.3)
    _share(frames, mid, "other", 0.3)
    return "market_shares", ":2048:"


@case("market_holder", "market_shares")
def unknown_company_holder(frames):
    mid = _market(frames, 2047)
    _share(frames, mid, "no-such-company", 0.1)
    return "market_shares", "holder=no-such-company"


@case("market_holder", "market_shares")
def unknown_country_holder(frames):
    mid = _market(frames, 2047, breakdown="country")
    _share(frames, mid, "ZZZ", 0.1)
    return "market_shares", "holder=ZZZ"


@case("market_holder", "market_shares")
def company_holder_in_country_split(frames):
    (a,) = _company_ids(frames, 1)
    mid = _market(frames, 2047, breakdown="country")
    _share(frames, mid, a, 0.1)
    return "market_shares", f"holder={a}"


@case("market_id_is_key", "markets")
def market_id_not_its_key(frames):
    base = _row(frames, "markets")
    _append(frames, "markets", {**base, "market_id": base["market_id"].replace(f":{base['year']}:", ":2043:")})
    return "markets", ":2043:"


@case("tolerance_reason", "markets")
def tolerance_without_reason(frames):
    mid = _market(frames, 2042, sum_tolerance=0.05)
    (a,) = _company_ids(frames, 1)
    _share(frames, mid, a, 0.5)
    return "markets", ":2042:"


@case("market_coverage", "markets")
def complete_market_far_below_one(frames):
    mid = _market(frames, 2041, coverage="complete")
    (a,) = _company_ids(frames, 1)
    _share(frames, mid, a, 0.5)
    return "markets", ":2041:"


@case("market_coverage", "markets")
def market_without_shares(frames):
    _market(frames, 2040)
    return "markets", ":2040:"


@case("company_country_agree", "markets")
def company_split_exceeds_country_split(frames):
    companies = frames["companies"].set_index("company_id")["country"]
    a = next(c for c, k in companies.items() if k == "USA")
    b = next(c for c, k in companies.items() if k == "JPN")
    company = _market(frames, 2039, coverage="complete")
    _share(frames, company, a, 0.6)
    _share(frames, company, b, 0.4)
    same = frames["markets"].set_index("market_id").loc[company]  # the country split of the same market
    country = _market(frames, 2039, breakdown="country", coverage="complete",
                      **{k: same[k] for k in ("chokepoint_id", "source_id", "scope", "basis", "period")})
    _share(frames, country, "USA", 0.4)  # the company split says USA firms hold 0.6
    _share(frames, country, "JPN", 0.6)
    return "markets", ":2039:"


@case("series_one_scope", "indicators")
def series_mixes_product_scopes(frames):
    base = _row(frames, "indicators")
    _append(frames, "indicators", {**base, "year": 2049, "product_scope": "something else entirely"})
    return "indicators", "year=2049"


@case("unit_fits_metric", "indicators")
def level_unit_on_share_metric(frames):
    base = _row(frames, "indicators", lambda d: d["unit"] == "share")
    _append(frames, "indicators", {**base, "year": 2049, "unit": "usd_bn", "value": 3.0})
    return "indicators", "year=2049"


@case("unit_fits_metric", "policy_targets")
def target_level_unit_on_share_metric(frames):
    _target(frames, unit="usd_bn", target_value=5.0)
    return "policy_targets", "scope=made-up scope"


@case("end_complete", "policies")
def ended_without_kind(frames):
    base = _row(frames, "policies")
    _append(frames, "policies", {**base, "policy_id": "made-up-policy", "ended": pd.Timestamp("2030-01-01"),
                                 "end_kind": pd.NA, "end_source_id": pd.NA})
    return "policies", "policy_id=made-up-policy"


@case("ended_after_announced", "policies")
def ended_before_announced(frames):
    base = _row(frames, "policies")
    src = frames["sources"]["source_id"].iloc[0]
    _append(frames, "policies", {**base, "policy_id": "made-up-policy", "announced": pd.Timestamp("2020-06-01"),
                                 "effective": pd.NaT, "ended": pd.Timestamp("2020-01-01"), "end_kind": "rescinded",
                                 "end_source_id": src})
    return "policies", "policy_id=made-up-policy"


@case("responds_to_earlier", "policies")
def responds_to_a_later_policy(frames):
    base = _row(frames, "policies")
    later = _row(frames, "policies", lambda d: d["announced"] > base["announced"])
    _append(frames, "policies", {**base, "policy_id": "made-up-policy", "responds_to": later["policy_id"]})
    return "policies", "policy_id=made-up-policy"


@case("responds_to_earlier", "policies")
def responds_to_itself(frames):
    base = _row(frames, "policies")
    _append(frames, "policies", {**base, "policy_id": "made-up-policy", "responds_to": "made-up-policy"})
    return "policies", "policy_id=made-up-policy"


@case("share_range", "indicators")
def indicator_share_above_one(frames):
    base = _row(frames, "indicators", lambda d: d["unit"] == "share")
    _append(frames, "indicators", {**base, "year": 2049, "value": 1.5})
    return "indicators", "year=2049"


@case("share_range", "indicators")
def indicator_share_negative(frames):
    base = _row(frames, "indicators", lambda d: d["unit"] == "share")
    _append(frames, "indicators", {**base, "year": 2049, "value": -0.2})
    return "indicators", "year=2049"


@case("country_code", "indicators")
def bad_geo(frames):
    base = _row(frames, "indicators")
    _append(frames, "indicators", {**base, "geo": "ZZZ"})
    return "indicators", "geo=ZZZ"


@case("country_code", "companies")
def bad_company_country(frames):
    base = _row(frames, "companies")
    _append(frames, "companies", {**base, "company_id": "made-up-co", "country": "ZZZ"})
    return "companies", "company_id=made-up-co"


@case("country_code", "policies")
def bad_jurisdiction(frames):
    base = _row(frames, "policies")
    _append(frames, "policies", {**base, "policy_id": "made-up-policy", "jurisdiction": "ZZZ"})
    return "policies", "policy_id=made-up-policy"


@case("effective_after_announced", "policies")
def effective_before_announced(frames):
    base = _row(frames, "policies")
    _append(frames, "policies", {**base, "policy_id": "made-up-policy", "announced": pd.Timestamp("2020-06-01"),
                                 "effective": pd.Timestamp("2020-05-31")})
    return "policies", "policy_id=made-up-policy"


@case("amount_unit", "policies")
def amount_without_unit(frames):
    base = _row(frames, "policies")
    _append(frames, "policies", {**base, "policy_id": "made-up-policy", "amount": 10.0, "amount_unit": pd.NA})
    return "policies", "policy_id=made-up-policy"


def _target(frames, **changes):
    base = _row(frames, "policy_targets", lambda d: d["unit"] == "share")
    row = {**base, "scope": "made-up scope", "achieved_value": pd.NA, "achieved_year": pd.NA, "achieved_source_id": pd.NA}
    row.update(changes)
    _append(frames, "policy_targets", row)
    return row


@case("share_range", "policy_targets")
def target_above_one(frames):
    _target(frames, target_value=1.2)
    return "policy_targets", "scope=made-up scope"


@case("share_range", "policy_targets")
def achieved_above_one(frames):
    src = frames["sources"]["source_id"].iloc[0]
    _target(frames, achieved_value=1.3, achieved_year=2020, achieved_source_id=src)
    return "policy_targets", "scope=made-up scope"


@case("target_after_announcement", "policy_targets")
def target_before_announcement(frames):
    base = _row(frames, "policy_targets")
    announced = frames["policies"].set_index("policy_id").loc[base["policy_id"], "announced"].year
    _target(frames, policy_id=base["policy_id"], target_year=announced - 1)
    return "policy_targets", f"target_year={announced - 1}"


@case("targets_not_lower", "policy_targets")
def later_target_lower(frames):
    row = _target(frames, target_year=2030, target_value=0.5)
    _target(frames, policy_id=row["policy_id"], target_year=2035, target_value=0.4)
    return "policy_targets", "target_year=2035"


@case("achieved_complete", "policy_targets")
def achieved_without_year(frames):
    _target(frames, achieved_value=0.1)
    return "policy_targets", "scope=made-up scope"


@case("published_before_accessed", "sources")
def published_after_accessed(frames):
    base = _row(frames, "sources")
    _append(frames, "sources", {**base, "source_id": "made-up-source", "published": "2030-01", "accessed": pd.Timestamp("2026-11-29")})
    return "sources", "source_id=made-up-source"


@case("parent_cycle", "chokepoints")
def parent_loop(frames):
    base = _row(frames, "chokepoints")
    _append(frames, "chokepoints", {**base, "chokepoint_id": "loop-a", "parent_id": "loop-b", "std_item": pd.NA})
    _append(frames, "chokepoints", {**base, "chokepoint_id": "loop-b", "parent_id": "loop-a", "std_item": pd.NA})
    return "chokepoints", "chokepoint_id=loop-a"


@case("distinct_name_zh", "chokepoints")
def same_chinese_name(frames):
    base = _row(frames, "chokepoints", lambda d: d["name_zh"].notna())
    _append(frames, "chokepoints", {**base, "chokepoint_id": "same-thing-again", "std_item": pd.NA})
    return "chokepoints", "chokepoint_id=same-thing-again"


@case("locator_words", "assessments")
def long_locator(frames):
    base = _row(frames, "assessments")
    _append(frames, "assessments", {**base, "year": 2049, "locator": " ".join(["word"] * 26)})
    return "assessments", "year=2049"


@case("grade_fits_source", "indicators")
def high_grade_on_a_blog(frames):
    src = _row(frames, "sources")
    _append(frames, "sources", {**src, "source_id": "some-blog", "kind": "blog", "url": "https://blog.invalid/post"})
    base = _row(frames, "indicators")
    _append(frames, "indicators", {**base, "year": 2049, "source_id": "some-blog", "confidence": "high"})
    return "indicators", "source_id=some-blog"


@case("grade_fits_source", "market_shares")
def high_grade_share_in_a_market_from_a_blog(frames):
    """A share row has no source of its own: its market's source decides."""
    src = _row(frames, "sources")
    _append(frames, "sources", {**src, "source_id": "some-blog", "kind": "blog", "url": "https://blog.invalid/post"})
    mid = _market(frames, 2049, source_id="some-blog")
    _share(frames, mid, _company_ids(frames)[0], 0.5)  # graded high
    return "market_shares", "some-blog"


@case("evidence_resolves", "claim_evidence")
def evidence_key_matches_no_row(frames):
    base = _row(frames, "claim_evidence", lambda d: d["evidence_table"] == "indicators")
    _append(frames, "claim_evidence", {**base, "evidence_key": base["evidence_key"].replace("year=", "year=1")})
    return "claim_evidence", "year=1"


@case("evidence_resolves", "claim_evidence")
def evidence_key_matches_many_rows(frames):
    base = _row(frames, "claim_evidence")
    _append(frames, "claim_evidence", {**base, "evidence_table": "market_shares", "evidence_key": "chokepoint_id=euv-lithography"})
    return "claim_evidence", "evidence_key=chokepoint_id=euv-lithography"


@case("evidence_resolves", "claim_evidence")
def evidence_key_names_a_column_the_table_lacks(frames):
    # a market_shares key in the 0.1 form: market_shares has no chokepoint_id column since 0.2
    base = _row(frames, "claim_evidence")
    key = "chokepoint_id=euv-lithography;year=2025;holder=asml"
    _append(frames, "claim_evidence", {**base, "evidence_table": "market_shares", "evidence_key": key})
    return "claim_evidence", "chokepoint_id=euv-lithography"


@case("claim_has_evidence", "claims")
def verdict_without_evidence(frames):
    base = _row(frames, "claims")
    _append(frames, "claims", {**base, "claim_id": "made-up-claim", "verdict": "supported"})
    return "claims", "claim_id=made-up-claim"


@case("claim_has_evidence", "claims")
def supported_on_contradicting_evidence_only(frames):
    base = _row(frames, "claims")
    _append(frames, "claims", {**base, "claim_id": "made-up-claim", "verdict": "supported"})
    ev = _row(frames, "claim_evidence")
    _append(frames, "claim_evidence", {**ev, "claim_id": "made-up-claim", "bearing": "contradicts"})
    return "claims", "claim_id=made-up-claim"


def _policy(frames, **changes) -> str:
    """Add a policy like an existing one, with no end and no suspension, then ``changes``."""
    base = _row(frames, "policies")
    row = {**base, "policy_id": "made-up-policy", "announced": pd.Timestamp("2025-01-10"), "effective": pd.NaT,
           "ended": pd.NaT, "end_kind": pd.NA, "end_source_id": pd.NA, "suspended_from": pd.NaT,
           "suspended_until": pd.NaT, "suspension_source_id": pd.NA, "responds_to": pd.NA, **changes}
    _append(frames, "policies", row)
    return "made-up-policy"


@case("suspension_order", "policies")
def suspension_ends_before_it_starts(frames):
    src = frames["sources"]["source_id"].iloc[0]
    _policy(frames, suspended_from=pd.Timestamp("2025-11-10"), suspended_until=pd.Timestamp("2025-11-09"),
            suspension_source_id=src)
    return "policies", "policy_id=made-up-policy"


@case("suspension_sourced", "policies")
def suspension_without_source(frames):
    _policy(frames, suspended_from=pd.Timestamp("2025-11-10"), suspended_until=pd.Timestamp("2026-11-10"))
    return "policies", "policy_id=made-up-policy"


@case("suspension_sourced", "policies")
def suspension_source_without_suspension(frames):
    _policy(frames, suspension_source_id=frames["sources"]["source_id"].iloc[0])
    return "policies", "policy_id=made-up-policy"


@case("suspension_has_start", "policies")
def suspension_end_without_start(frames):
    _policy(frames, suspended_until=pd.Timestamp("2026-11-10"))
    return "policies", "policy_id=made-up-policy"


@case("suspended_after_announced", "policies")
def suspended_before_announced(frames):
    src = frames["sources"]["source_id"].iloc[0]
    _policy(frames, suspended_from=pd.Timestamp("2024-12-31"), suspension_source_id=src)
    return "policies", "policy_id=made-up-policy"


def _source(frames, source_id, **changes) -> str:
    src = _row(frames, "sources")
    _append(frames, "sources", {**src, "source_id": source_id, "url": f"https://{source_id}.invalid/", **changes})
    return source_id


@case("grade_fits_source", "assessments")
def medium_grade_on_an_aggregator(frames):
    """Issue 17.4: an aggregator or blog row is low, not only 'not high'."""
    _source(frames, "some-aggregator", kind="aggregator", relays=False)
    base = _row(frames, "assessments")
    _append(frames, "assessments", {**base, "year": 2049, "source_id": "some-aggregator", "confidence": "medium"})
    return "assessments", "source_id=some-aggregator"


@case("grade_fits_source", "policies")
def high_grade_on_a_relay(frames):
    """A law-firm write-up of a rule (relays) is at most medium."""
    _source(frames, "law-firm-note", kind="news", relays=True)
    _policy(frames, source_id="law-firm-note", confidence="high")
    return "policies", "policy_id=made-up-policy"


@case("grade_fits_source", "market_shares")
def medium_grade_share_in_a_market_from_a_blog(frames):
    _source(frames, "some-blog", kind="blog", relays=False)
    mid = _market(frames, 2049, source_id="some-blog")
    _share(frames, mid, _company_ids(frames)[0], 0.5)
    frames["market_shares"].loc[frames["market_shares"].index[-1], "confidence"] = "medium"
    return "market_shares", "some-blog"


@case("grade_fits_source", "market_shares")
def high_grade_share_in_a_market_from_a_relay(frames):
    _source(frames, "relayed-report", kind="news", relays=True)
    mid = _market(frames, 2049, source_id="relayed-report")
    _share(frames, mid, _company_ids(frames)[0], 0.5)  # graded high
    return "market_shares", "relayed-report"


def _self_supported_claim(frames, verdict, bearing, table="indicators"):
    """A new claim whose one evidence row is a fact citing the claim's own appeared source."""
    if table == "indicators":
        fact = _row(frames, "indicators")
        src = fact["source_id"]
        key = ";".join(f"{c}={fact[c]}" for c in ("chokepoint_id", "geo", "metric", "year", "source_id"))
    else:  # a market share: its source is its market's
        share = _row(frames, "market_shares")
        src = frames["markets"].set_index("market_id").loc[share["market_id"], "source_id"]
        key = f"market_id={share['market_id']};holder={share['holder']}"
    base = _row(frames, "claims")
    _append(frames, "claims", {**base, "claim_id": "made-up-claim", "verdict": verdict, "appeared_source_id": src})
    ev = _row(frames, "claim_evidence")
    _append(frames, "claim_evidence", {**ev, "claim_id": "made-up-claim", "evidence_table": table,
                                       "evidence_key": key, "bearing": bearing})
    return "claims", "claim_id=made-up-claim"


@case("claim_not_self_supported", "claims")
def supported_only_by_its_own_article(frames):
    return _self_supported_claim(frames, "supported", "supports")


@case("claim_not_self_supported", "claims")
def refined_only_by_its_own_article(frames):
    return _self_supported_claim(frames, "refined", "qualifies")


@case("claim_not_self_supported", "claims")
def supported_only_by_a_share_from_its_own_article(frames):
    return _self_supported_claim(frames, "supported", "supports", table="market_shares")


# --- Table Schema rules through the bridge -------------------------------------------

@case("primary_key", "market_shares")
def duplicate_key(frames):
    base = _row(frames, "market_shares")
    _append(frames, "market_shares", dict(base))
    return "market_shares", f"holder={base['holder']}"


@case("enum", "assessments")
def unknown_status(frames):
    base = _row(frames, "assessments")
    _append(frames, "assessments", {**base, "year": 2049, "status": "solved"})
    return "assessments", "year=2049"


@case("pattern", "sources")
def bad_slug(frames):
    base = _row(frames, "sources")
    _append(frames, "sources", {**base, "source_id": "Bad Id"})
    return "sources", "source_id=Bad Id"


@case("minimum", "market_shares")
def negative_share(frames):
    mid = _market(frames, 2046)
    (a,) = _company_ids(frames, 1)
    _share(frames, mid, a, -0.1)
    return "market_shares", ":2046:"


@case("maximum", "market_shares")
def share_above_one(frames):
    mid = _market(frames, 2046)
    (a,) = _company_ids(frames, 1)
    _share(frames, mid, a, 1.1)
    return "market_shares", ":2046:"


@case("minimum", "assessments")
def implausible_year(frames):
    base = _row(frames, "assessments")
    _append(frames, "assessments", {**base, "year": 1850})
    return "assessments", "year=1850"


@case("required", "chokepoints")
def missing_name(frames):
    base = _row(frames, "chokepoints")
    _append(frames, "chokepoints", {**base, "chokepoint_id": "nameless", "name_en": pd.NA, "std_item": pd.NA})
    return "chokepoints", "chokepoint_id=nameless"


@case("unique", "chokepoints")
def duplicate_series_item(frames):
    base = _row(frames, "chokepoints", lambda d: d["std_item"].notna())
    _append(frames, "chokepoints", {**base, "chokepoint_id": "copy-of-item"})
    return "chokepoints", "chokepoint_id=copy-of-item"


@case("maxLength", "indicators")
def huge_locator(frames):
    base = _row(frames, "indicators")
    _append(frames, "indicators", {**base, "year": 2049, "locator": "x" * 401})
    return "indicators", "year=2049"


FOREIGN_KEYS = [
    ("chokepoints", "listed_by", "sources"), ("chokepoints", "parent_id", "chokepoints"),
    ("assessments", "chokepoint_id", "chokepoints"), ("assessments", "source_id", "sources"),
    ("companies", "source_id", "sources"), ("company_chokepoints", "company_id", "companies"),
    ("company_chokepoints", "chokepoint_id", "chokepoints"), ("company_chokepoints", "source_id", "sources"),
    ("markets", "chokepoint_id", "chokepoints"), ("markets", "source_id", "sources"),
    ("market_shares", "market_id", "markets"), ("indicators", "metric", "metrics"),
    ("indicators", "chokepoint_id", "chokepoints"), ("indicators", "source_id", "sources"),
    ("policies", "parent_id", "policies"), ("policies", "source_id", "sources"),
    ("policies", "responds_to", "policies"), ("policies", "end_source_id", "sources"),
    ("policies", "suspension_source_id", "sources"), ("indicators", "company_id", "companies"),
    ("searches", "chokepoint_id", "chokepoints"),
    ("policy_targets", "metric", "metrics"),
    ("policy_chokepoints", "policy_id", "policies"), ("policy_chokepoints", "chokepoint_id", "chokepoints"),
    ("policy_chokepoints", "source_id", "sources"), ("policy_targets", "policy_id", "policies"),
    ("policy_targets", "chokepoint_id", "chokepoints"), ("policy_targets", "source_id", "sources"),
    ("policy_targets", "achieved_source_id", "sources"),
    ("claims", "appeared_source_id", "sources"), ("claims", "chokepoint_id", "chokepoints"),
    ("claim_evidence", "claim_id", "claims"),
]


def _fresh():
    from chokepoint_data.store import _loader

    return {name: _loader.typed_frame(name) for name in _loader.list_tables()}


def test_shipped_data_passes_every_rule(schemas):
    assert check_frames(_fresh(), schemas) == []


@pytest.mark.parametrize("rule,table,mutate", CASES["all"])
def test_rule_rejects_bad_frame(rule, table, mutate, schemas):
    frames = _fresh()
    t, key_fragment = mutate(frames)
    failures = check_frames(frames, schemas)
    hits = [f for f in failures if f.rule == rule and f.table == t]
    assert hits, f"{rule} did not fire; got {[str(f) for f in failures]}"
    assert any(key_fragment in (f.key or "") for f in hits), [str(f) for f in hits]
    text = str(hits[0])
    assert t in text and rule in text
    # and the public validate() raises the package's error carrying the same failure
    with pytest.raises(cd.ValidationError) as err:
        cd.validate({t: frames[t]} | {k: v for k, v in frames.items() if k != t})
    assert rule in err.value.rules()


@pytest.mark.parametrize("table,column,target", FOREIGN_KEYS, ids=[f"{t}.{c}" for t, c, _ in FOREIGN_KEYS])
def test_every_foreign_key_is_enforced(table, column, target, schemas):
    frames = _fresh()
    df = frames[table].copy()
    if table == "searches" and not len(df):  # a table that may ship empty: test it on one valid row
        df = pd.DataFrame({"chokepoint_id": ["lidar"], "searched": pd.to_datetime(["2026-12-06"]),
                           "looked_for": ["x"], "where_searched": ["x"], "queries": ["x"],
                           "outcome": ["nothing_current"], "newest_found": [None], "note": [None]}).astype(df.dtypes.to_dict())
        assert check_frames(frames | {table: df}, schemas) == []
    assert len(df), f"{table} is empty"
    df.loc[df.index[0], column] = "no-such-id"
    frames[table] = df
    failures = check_frames(frames, schemas)
    rule_prefix = f"foreign_key:{column}->{target}."
    hits = [f for f in failures if f.table == table and f.rule.startswith(rule_prefix)]
    assert hits, [str(f) for f in failures]
    assert hits[0].row == df.index[0] and hits[0].value == "no-such-id"


def test_every_declared_foreign_key_has_a_case(schemas):
    declared = {(t, fk["fields"][0], fk["reference"]["resource"]) for t, s in schemas.items() for fk in s.get("foreignKeys", [])}
    assert declared == set(FOREIGN_KEYS)


def test_every_invariant_has_a_case():
    assert {rule for _, rule, *_ in RULES} <= TESTED_RULES


def test_lazy_false_stops_at_first_failure():
    frames = _fresh()
    over_one(frames)
    unknown_status(frames)
    with pytest.raises(cd.ValidationError) as err:
        cd.validate(frames, lazy=False)
    assert len(err.value.failures) == 1
    with pytest.raises(cd.ValidationError) as err:
        cd.validate(frames)
    assert {"market_share_sum", "enum"} <= err.value.rules()


def test_evidence_keys_resolve_against_a_large_table(monkeypatch):
    """Against a large table the rule narrows the rows column by column before it builds key
    text; the verdicts must be those of the full key text, for a key that matches once among
    many near misses and for one that matches two rows."""
    from chokepoint_data.rules import _evidence

    from chokepoint_data.store._loader import list_tables

    frames = {name: cd.load(name) for name in list_tables()}
    shipped = frames["indicators"]
    near = [shipped.assign(year=shipped["year"] + 1000 * k) for k in range(1, 40)]  # same ids, years no key names
    evidence = frames["claim_evidence"]
    named = evidence[evidence["evidence_table"] == "indicators"]["evidence_key"].iloc[0]
    pairs = dict(p.split("=", 1) for p in named.split(";"))
    twice = shipped[(shipped["chokepoint_id"] == pairs["chokepoint_id"]) & (shipped["geo"] == pairs["geo"])
                    & (shipped["metric"] == pairs["metric"]) & (shipped["year"] == int(pairs["year"]))
                    & (shipped["source_id"] == pairs["source_id"])]
    assert len(twice) == 1
    frames["indicators"] = pd.concat([shipped, *near, twice], ignore_index=True)
    assert len(frames["indicators"]) > 4 * len(evidence) + 1000  # the narrowing path runs
    # a null key cell has empty key text: a key naming it ("geo=") must still find its row
    frames["indicators"].loc[len(shipped) + 5, "geo"] = None
    null_row = frames["indicators"].loc[len(shipped) + 5]
    null_key = (f"chokepoint_id={null_row['chokepoint_id']};geo=;metric={null_row['metric']};"
                f"year={null_row['year']};source_id={null_row['source_id']}")
    evidence = pd.concat([evidence, evidence.iloc[[0]].assign(evidence_table="indicators", evidence_key=null_key)],
                         ignore_index=True)
    frames["claim_evidence"] = evidence
    narrowed = _evidence._evidence_resolves(frames)(evidence)
    monkeypatch.setattr(_evidence, "_rows_that_may_match", lambda target, columns, keys: target[columns])
    full = _evidence._evidence_resolves(frames)(evidence)
    assert narrowed.tolist() == full.tolist()
    assert not narrowed[evidence["evidence_key"] == named].any()  # the doubled row: two matches
    assert narrowed.sum() == len(evidence) - (evidence["evidence_key"] == named).sum()
    assert narrowed.iloc[-1]  # the key naming a null cell resolved


def test_each_rule_reads_only_the_tables_it_declares():
    """validate() skips a shipped table unless one of the tables it reads was given, so what a
    rule reads must be declared (_invariants.READS): run every rule over the shipped frames
    and record every table it looks up."""
    from chokepoint_data.rules._invariants import READS
    from chokepoint_data.store._loader import list_tables, typed_frame
    from chokepoint_data.rules._markets import FrameSet

    class Recording(FrameSet):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.read: set[str] = set()

        def get(self, key, default=None):
            self.read.add(key)
            return super().get(key, default)

        def __getitem__(self, key):
            self.read.add(key)
            return super().__getitem__(key)

    shipped = {name: typed_frame(name).reset_index(drop=True) for name in list_tables()}
    for table, rule, message, column, factory in RULES:
        frames = Recording(shipped)
        ok = factory(frames)(shipped[table])
        assert bool(ok.all()), rule
        declared = set(READS.get(rule, ()))
        if "*" not in declared:
            assert frames.read - {table} <= declared, (table, rule, frames.read - {table} - declared)


def test_a_changed_table_fails_the_shipped_tables_that_read_it():
    """Given sources without one that indicators and others cite: the shipped tables that
    point at sources are checked again and report the dangling keys."""
    sources = cd.load("sources")
    cited = cd.load("indicators")["source_id"].iloc[0]
    with pytest.raises(cd.ValidationError) as err:
        cd.validate({"sources": sources[sources["source_id"] != cited]})
    tables = {f.table for f in err.value.failures if f.rule.startswith("foreign_key:source_id")}
    assert "indicators" in tables


@pytest.mark.parametrize("given, dropped, table, rule", [
    ("market_shares", "market", "markets", "market_coverage"),  # an invariant of a shipped table reads it
    ("indicators", "evidence", "claim_evidence", "evidence_resolves"),  # a rule that reads every table
])
def test_shipped_tables_rerun_the_rules_that_read_a_given_table(given, dropped, table, rule):
    """For a shipped table validate() runs only the rules that read a table you gave; those
    must still fire: remove a market's shares, or the indicator a claim cites."""
    frame = cd.load(given)
    if dropped == "market":
        gone = frame["market_id"].iloc[0]
        frame = frame[frame["market_id"] != gone]
    else:
        evidence = cd.load("claim_evidence")
        key = evidence.loc[evidence["evidence_table"] == "indicators", "evidence_key"].iloc[0]
        pairs = dict(p.split("=", 1) for p in key.split(";"))
        cited = ((frame["chokepoint_id"] == pairs["chokepoint_id"]) & (frame["geo"] == pairs["geo"])
                 & (frame["metric"] == pairs["metric"]) & (frame["year"] == int(pairs["year"]))
                 & (frame["source_id"] == pairs["source_id"]))
        assert cited.sum() == 1
        frame = frame[~cited]
    with pytest.raises(cd.ValidationError) as err:
        cd.validate({given: frame})
    assert any(f.table == table and f.rule == rule for f in err.value.failures)


def test_grade_and_independence_rules_pass_what_they_allow(schemas):
    """The other side of the bad-frame cases: low on a blog, medium on a relay, and a claim with
    one independent row beside its own article's all pass."""
    frames = _fresh()
    _source(frames, "some-blog", kind="blog", relays=False)
    _source(frames, "law-firm-note", kind="news", relays=True)
    base = _row(frames, "assessments")
    _append(frames, "assessments", {**base, "year": 2049, "source_id": "some-blog", "confidence": "low"})
    _append(frames, "assessments", {**base, "year": 2048, "source_id": "law-firm-note", "confidence": "medium"})
    _self_supported_claim(frames, "supported", "supports")
    other = _row(frames, "indicators", lambda d: d["source_id"] != frames["claims"]["appeared_source_id"].iloc[-1])
    key = ";".join(f"{c}={other[c]}" for c in ("chokepoint_id", "geo", "metric", "year", "source_id"))
    ev = _row(frames, "claim_evidence")
    _append(frames, "claim_evidence", {**ev, "claim_id": "made-up-claim", "evidence_table": "indicators",
                                       "evidence_key": key, "bearing": "supports"})
    failures = [f for f in check_frames(frames, schemas) if f.rule in ("grade_fits_source", "claim_not_self_supported")]
    assert failures == [], [str(f) for f in failures]


@case("required", "sources")
def source_without_relays(frames):
    """sources.relays is required since every source is classified: grade_fits_source needs it."""
    _source(frames, "unclassified-source", relays=pd.NA)
    return "sources", "source_id=unclassified-source"


@case("series_one_scope", "indicators")
def one_companys_series_mixes_product_scopes(frames):
    """A company's own figure is its own series: (chokepoint_id, geo, metric, company_id)."""
    base = _row(frames, "indicators")
    co = _company_ids(frames, 1)[0]
    _append(frames, "indicators", {**base, "year": 2048, "company_id": co, "product_scope": "tools"})
    _append(frames, "indicators", {**base, "year": 2049, "company_id": co, "product_scope": "services"})
    return "indicators", "year=2049"


def test_two_companies_are_two_series(schemas):
    """Before company_id was in the series key, two companies' figures of one metric were one
    series and their scopes clashed."""
    frames = _fresh()
    base = _row(frames, "indicators")
    a, b = _company_ids(frames, 2)
    _append(frames, "indicators", {**base, "year": 2048, "company_id": a, "product_scope": "tools"})
    _append(frames, "indicators", {**base, "year": 2049, "company_id": b, "product_scope": "services"})
    assert [str(f) for f in check_frames(frames, schemas) if f.rule == "series_one_scope"] == []


def _rival(frames, preferred, reason=pd.NA, **changes):
    """A new market in 2038 for a group where another source measures the same market."""
    src = frames["sources"]
    strong = src.loc[~src["kind"].isin(["aggregator", "blog"]) & ~src["relays"].fillna(False).astype(bool), "source_id"]
    mid = _market(frames, 2038, preferred=preferred, preference_reason=reason, **changes)
    _share(frames, mid, _company_ids(frames)[0], 0.5)
    return mid, strong


@case("one_preferred", "markets")
def rivals_without_a_preferred_one(frames):
    _, strong = _rival(frames, pd.NA)
    made = frames["markets"].iloc[-1]
    other = next(s for s in strong if s != made["source_id"])
    _rival(frames, False, source_id=other)
    return "markets", ":2038:"


@case("one_preferred", "markets")
def two_preferred_rivals(frames):
    _, strong = _rival(frames, True, "the firm's own release")
    made = frames["markets"].iloc[-1]
    other = next(s for s in strong if s != made["source_id"])
    _rival(frames, True, "more holders", source_id=other)
    return "markets", ":2038:"


@case("preference_reason", "markets")
def preferred_rival_without_reason(frames):
    _, strong = _rival(frames, True)
    made = frames["markets"].iloc[-1]
    other = next(s for s in strong if s != made["source_id"])
    _rival(frames, False, source_id=other)
    return "markets", ":2038:"


def test_a_quarter_is_no_rival_of_the_year(schemas):
    """period is part of the rival group: a Q4 market and a whole-year market need no preference."""
    frames = _fresh()
    _, strong = _rival(frames, pd.NA)
    made = frames["markets"].iloc[-1]
    other = next(s for s in strong if s != made["source_id"])
    _rival(frames, pd.NA, source_id=other, period="Q4")
    hits = [str(f) for f in check_frames(frames, schemas) if f.rule in ("one_preferred", "preference_reason")]
    assert hits == []
