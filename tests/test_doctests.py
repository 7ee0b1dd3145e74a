"""Every docstring example in the package runs against the shipped data (offline)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import chokepoint_data

# every module, in the wings too; a face (chokepoint_data.export, ...) is the module it
# stands for, so it is tested once, under that module's own name
MODULES = sorted({importlib.import_module(m.name).__name__
                  for m in pkgutil.walk_packages(chokepoint_data.__path__, "chokepoint_data.")
                  if not m.name.endswith("__main__")} | {"chokepoint_data"})


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module):
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {module} failed (run python -m doctest -v on it)"
