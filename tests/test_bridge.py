"""Table Schema and pandera never drift: the bridge carries every column and constraint."""

from __future__ import annotations

import pytest

import chokepoint_data as cd
from chokepoint_data.rules._schemas import pandas_dtype
from pandera.engines.pandas_engine import Engine


@pytest.mark.parametrize("name", cd.list_tables())
def test_pandera_schema_agrees_with_table_schema(name, schemas):
    ts = schemas[name]
    ps = cd.schema(name)
    assert list(ps.columns) == [f["name"] for f in ts["fields"]]
    assert ps.strict is True
    for field in ts["fields"]:
        col = ps.columns[field["name"]]
        c = field.get("constraints", {})
        assert col.nullable == (not c.get("required", False)), field["name"]
        assert col.dtype == Engine.dtype(pandas_dtype(field)), field["name"]
        names = {chk.name for chk in col.checks}
        for constraint, rule in (("enum", "enum"), ("minimum", "minimum"), ("maximum", "maximum"),
                                 ("pattern", "pattern"), ("maxLength", "maxLength")):
            assert (constraint in c) == (rule in names), (name, field["name"], constraint)
    frame_checks = {chk.name for chk in ps.checks}
    assert ("primary_key" in frame_checks) == bool(ts.get("primaryKey"))
    for fk in ts.get("foreignKeys", []):
        ref = fk["reference"]
        assert f"foreign_key:{','.join(fk['fields'])}->{ref['resource']}.{','.join(ref['fields'])}" in frame_checks
    for field in ts["fields"]:
        if field.get("constraints", {}).get("unique"):
            assert "unique" in frame_checks


def test_every_table_has_a_described_field_and_key(schemas):
    for name, ts in schemas.items():
        assert ts.get("primaryKey"), name
        for field in ts["fields"]:
            assert field.get("description"), (name, field["name"])
        for fk in ts.get("foreignKeys", []):
            assert fk["reference"]["resource"] in schemas


def test_every_fact_table_carries_source_and_confidence(schemas):
    for name in ("assessments", "company_chokepoints", "markets", "indicators", "policies", "policy_targets"):
        fields = {f["name"]: f for f in schemas[name]["fields"]}
        assert fields["source_id"]["constraints"]["required"]
    for name in ("assessments", "company_chokepoints", "market_shares", "indicators", "policies", "policy_targets"):
        fields = {f["name"]: f for f in schemas[name]["fields"]}
        assert fields["confidence"]["constraints"]["required"]
    # a market share cites its source through its market: the key is required and resolves
    fields = {f["name"]: f for f in schemas["market_shares"]["fields"]}
    assert fields["market_id"]["constraints"]["required"]
    assert {"fields": ["market_id"], "reference": {"resource": "markets", "fields": ["market_id"]}} in schemas["market_shares"]["foreignKeys"]
