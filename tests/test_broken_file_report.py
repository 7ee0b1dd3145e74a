"""A broken curation file is reported once, with the rules it stopped, not as hundreds of echoes;
a missing optional column is not called required."""

from __future__ import annotations

import pytest

import chokepoint_data as cd
from chokepoint_data.release.build import build


def _build_failures(src):
    with pytest.raises(cd.BuildError) as err:
        build(src)
    return err.value.failures


def test_a_renamed_key_column_is_one_problem_and_says_which_rules_it_stopped(source_copy):
    path = source_copy / "curation" / "sources.csv"
    header, rest = path.read_text(encoding="utf-8").split("\n", 1)
    path.write_text(header.replace("source_id", "sourceid", 1) + "\n" + rest, encoding="utf-8")
    failures = _build_failures(source_copy)
    rules = [(f.table, f.rule) for f in failures]
    assert ("curation/sources.csv", "columns:missing") in rules
    assert not any(r.startswith(("foreign_key:", "required", "primary_key")) for _, r in rules), rules[:10]
    assert len(failures) < 30  # 1,670 before: every row citing a source, and every row of sources
    notes = {f.table: f.message for f in failures if f.rule == "skipped"}
    assert "foreign key source_id -> sources" in notes["curation/assessments.csv"]
    assert "curation/sources.csv" not in notes  # its own problem is the one failure of that file


def test_an_unreadable_file_says_which_rules_were_skipped(source_copy):
    path = source_copy / "curation" / "chokepoints.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[2] = '"' + lines[2]  # an unclosed quote: the file cannot be read
    path.write_text("\n".join(lines), encoding="utf-8")
    failures = _build_failures(source_copy)
    assert [f.rule for f in failures if not f.rule == "skipped"] == ["file:unclosed_quote"]
    notes = {f.table: f.message for f in failures if f.rule == "skipped"}
    assert "foreign key chokepoint_id -> chokepoints" in notes["curation/assessments.csv"]


def test_a_missing_optional_column_is_not_called_required():
    frame = cd.load("policy_chokepoints").drop(columns=["note"])
    with pytest.raises(cd.ValidationError) as err:
        cd.validate({"policy_chokepoints": frame})
    (f,) = [f for f in err.value.failures if f.rule == "columns:missing"]
    assert f.message == "column 'note' is missing (optional columns may be empty but must be present)"
    frame = cd.load("policy_chokepoints").drop(columns=["policy_id"])
    with pytest.raises(cd.ValidationError) as err:
        cd.validate({"policy_chokepoints": frame})
    assert "required column 'policy_id' is missing" in [f.message for f in err.value.failures]
