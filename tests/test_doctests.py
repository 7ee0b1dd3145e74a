"""Every docstring example in the package runs against the shipped data (offline)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import chokepoint_data

MODULES = sorted(["chokepoint_data"] + [f"chokepoint_data.{m.name}" for m in pkgutil.iter_modules(chokepoint_data.__path__)
                                        if m.name not in ("__main__",)])


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module):
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {module} failed (run python -m doctest -v on it)"
