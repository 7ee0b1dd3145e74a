"""Smoke test of an installed chokepoint-data, run from outside the source tree (release.yml).

Loads every table through the installed package (which checks each file's sha256), validates
them, and runs the command line once.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import chokepoint_data as cd

here = pathlib.Path(cd.__file__).resolve()
assert "site-packages" in here.parts, f"imported from the source tree, not the install: {here}"
tables = cd.load_all()
assert set(tables) == set(cd.list_tables()) and all(len(df) for df in tables.values())
cd.validate()
exe = shutil.which("chokepoint-data", path=str(pathlib.Path(sys.executable).parent))
assert exe, "the chokepoint-data command is not installed"
out = subprocess.run([exe, "summary"], capture_output=True, text=True, check=True).stdout
assert cd.__version__ in out
print(f"chokepoint-data {cd.__version__}: {len(tables)} tables, {sum(map(len, tables.values()))} rows, valid")
