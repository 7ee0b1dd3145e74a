"""The README's tour is the current data's: its Python blocks run as doctests, and the generator agrees."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_blocks_run_as_doctests():
    result = doctest.testfile(str(ROOT / "README.md"), module_relative=False, report=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0, "run python docs/make_readme.py to regenerate the tour"


def test_readme_tour_is_generated_from_the_current_data():
    out = subprocess.run([sys.executable, str(ROOT / "docs" / "make_readme.py"), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, "README tour is stale: run python docs/make_readme.py"
