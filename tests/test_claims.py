"""claims(): the claims with their evidence joined; the ClaimReview export."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

import chokepoint_data as cd
from chokepoint_data.answers import _claims
from chokepoint_data.rules._keys import parse_key

VERDICTS = {"supported", "refined", "contradicted", "unsupported"}
BRIEF = "agentictribune-2025-choke-points"


@pytest.fixture(scope="module")
def joined() -> pd.DataFrame:
    return cd.claims()


def test_one_row_per_claim_and_evidence_row(joined):
    claims, evidence = cd.load("claims"), cd.load("claim_evidence")
    bare = set(claims["claim_id"]) - set(evidence["claim_id"])
    assert len(joined) == len(evidence) + len(bare)
    assert joined.loc[joined["claim_id"].isin(bare), "evidence_key"].isna().all()
    assert set(joined["claim_id"]) == set(claims["claim_id"])


def test_evidence_figure_and_source_come_from_the_fact_row(joined):
    indicators = cd.load("indicators")
    rows = joined[joined["evidence_table"] == "indicators"]
    assert len(rows)
    for row in rows.itertuples():
        key = dict(parse_key(row.evidence_key))
        fact = indicators[(indicators["chokepoint_id"] == key["chokepoint_id"]) & (indicators["geo"] == key["geo"])
                          & (indicators["metric"] == key["metric"]) & (indicators["year"] == int(key["year"]))
                          & (indicators["source_id"] == key["source_id"])]
        assert len(fact) == 1
        assert row.evidence_value == fact["value"].iloc[0]
        assert row.evidence_unit == fact["unit"].iloc[0]
        assert row.evidence_source_id == key["source_id"]
        assert row.evidence_confidence == fact["confidence"].iloc[0]


def test_every_evidence_key_is_its_tables_primary_key(joined):
    for table, key in zip(joined["evidence_table"].dropna(), joined["evidence_key"].dropna()):
        pk = cd.datapackage()["resources"][cd.list_tables().index(table)]["schema"]["primaryKey"]
        assert [c for c, _ in parse_key(key)] == pk, (table, key)


def test_the_brief_is_covered_and_its_pair_refined(joined):
    brief = joined[joined["appeared_source_id"] == BRIEF]
    assert brief["claim_id"].nunique() >= 20
    pair = joined[joined["claim_id"] == "brief-60-demand-13-supply"]
    assert set(pair["verdict"]) == {"refined"}
    supports = pair[pair["bearing"] == "supports"].iloc[0]
    assert (supports["evidence_value"], supports["evidence_year"]) == (0.606, 2016)
    deepvision = joined[joined["claim_id"] == "brief-deepvision-bearings"]
    assert list(deepvision["verdict"]) == ["unsupported"] and deepvision["evidence_key"].isna().all()
    others = joined.loc[joined["appeared_source_id"] != BRIEF, "claim_id"].nunique()
    assert others >= 10


def test_no_brief_claim_rests_on_the_brief_itself(joined):
    brief = joined[joined["appeared_source_id"] == BRIEF]
    assert not (brief["evidence_source_id"] == BRIEF).any()


def test_verdict_filter_and_bad_verdict():
    only = cd.claims(verdict="contradicted")
    assert set(only["verdict"]) == {"contradicted"}
    with pytest.raises(cd.ChokepointDataError, match="verdict must be one of"):
        cd.claims(verdict="false")


def test_claimreview_document_shape():
    doc = _claims.claimreview_jsonld()
    assert doc["@context"] == "https://schema.org"
    reviews = doc["@graph"]
    assert len(reviews) == len(cd.load("claims"))
    for r in reviews:
        assert r["@type"] == "ClaimReview" and isinstance(r["claimReviewed"], str) and r["claimReviewed"]
        rating = r["reviewRating"]
        assert rating["@type"] == "Rating" and rating["alternateName"] in VERDICTS
        assert rating["ratingValue"] == _claims.VERDICT_RATING[rating["alternateName"]]
        assert rating["worstRating"] <= rating["ratingValue"] <= rating["bestRating"]
        assert r["itemReviewed"]["@type"] == "Claim"
        assert r["itemReviewed"]["appearance"]["url"].startswith("http")
        assert r["author"]["@type"] == "Organization"
        assert r["isBasedOn"]["@type"] == "Dataset" and r["isBasedOn"]["version"] == cd.__version__
        pd.Timestamp(r["datePublished"])  # ISO date


def run(*args: str):
    return subprocess.run([sys.executable, "-m", "chokepoint_data", *args], capture_output=True, text=True)


def test_export_claimreview_cli(tmp_path):
    target = tmp_path / "claims.jsonld"
    out = run("export", "--format", "claimreview", "--out", str(target))
    assert out.returncode == 0, out.stderr
    doc = json.loads(target.read_text(encoding="utf-8"))
    review = next(r for r in doc["@graph"] if r["identifier"] == "brief-big-fund-3-50bn")
    assert review["claimReviewed"] == "China is redirecting its $50 billion Big Fund III"
    assert review["reviewRating"]["alternateName"] == "refined" and review["reviewRating"]["ratingValue"] == 3
    assert review["itemReviewed"]["datePublished"] == "2025-06-30"
    assert "policies: policy_id=big-fund-3" in review["citation"]
    assert not [p for p in tmp_path.iterdir() if p.name != "claims.jsonld"]  # no temporary left behind


def test_export_claimreview_into_missing_folder_is_a_clean_error(tmp_path):
    out = run("export", "--format", "claimreview", "--out", str(tmp_path / "nope" / "claims.jsonld"))
    assert out.returncode == 1
    assert "does not exist" in out.stderr and "Traceback" not in out.stderr


def test_failed_export_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "claims.jsonld"
    target.write_text("old", encoding="utf-8")

    def killed(src, dst):  # the process dies between writing the temporary file and the rename
        raise KeyboardInterrupt

    from chokepoint_data.store import _atomic

    monkeypatch.setattr(_atomic.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        _claims.write_claimreview(target, force=True)  # "old" is not ours: force, to reach the rename
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["claims.jsonld"]
