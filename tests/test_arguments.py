"""Every public function refuses a bad argument with the package's own ArgumentError, naming it."""

from __future__ import annotations

import pytest

import chokepoint_data as cd
from chokepoint_data import diff, export, figures

CASES = [
    (lambda: cd.load("markets", backend="numpy"), "backend"),
    (lambda: cd.load("markets", commercial_only="yes"), "commercial_only"),
    (lambda: cd.load("markets", labels="x"), "labels"),
    (lambda: cd.load("markets", labels=1), "labels"),
    (lambda: cd.load_all(backend="numpy"), "backend"),
    (lambda: cd.load_all(commercial_only=1), "commercial_only"),
    (lambda: cd.append("markets", 5), "rows"),
    (lambda: cd.validate(lazy="no"), "lazy"),
    (lambda: cd.citation("apa"), "style"),
    (lambda: cd.citation(commercial_only="yes"), "commercial_only"),
    (lambda: cd.status(min_confidence="certain"), "min_confidence"),
    (lambda: cd.status(direction="both"), "direction"),
    (lambda: cd.status(as_of="2020"), "as_of"),
    (lambda: cd.status(since=True), "since"),
    (lambda: cd.concentration(commercial_only="yes"), "commercial_only"),
    (lambda: cd.claims(verdict="maybe"), "verdict"),
    (lambda: cd.timeline(5), "chokepoint_id"),
    (lambda: cd.targets(policy_id=5), "policy_id"),
    (lambda: export.export("csv", "unused-target", force="yes"), "force"),
    (lambda: export.export("csv", "unused-target", safe_formulas=1), "safe_formulas"),
    (lambda: figures.write_figures("unused-target", names=["no-such-figure"]), "no-such-figure"),
    (lambda: diff.check_bump("0.1.0", "0.2.0", "huge"), "level"),
]


@pytest.mark.parametrize(("call", "named"), CASES, ids=[c[1] + str(i) for i, c in enumerate(CASES)])
def test_a_bad_argument_is_an_argument_error_naming_it(call, named, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cd.ArgumentError, match=named):
        call()
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_argument_error_is_still_what_0_2_raised():
    """0.2 raised ValueError for a bad choice and TypeError for a bad flag: both still catch it."""
    with pytest.raises(ValueError):
        cd.load("markets", backend="numpy")
    with pytest.raises(TypeError):
        cd.load("markets", commercial_only="yes")
