"""Execute docs/cookbook.ipynb top to bottom and save it with its outputs (atomically).

    python docs/run_cookbook.py

The test suite runs the same notebook (tests/test_cookbook.py) without saving it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).with_name("cookbook.ipynb")



def _readable(path: str) -> None:
    """mkstemp makes files 0600; give the final file the usual mode (0666 minus the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)

def run(path: Path = NOTEBOOK, *, save: bool = True) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    if save:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            nbformat.write(nb, fh)
        _readable(tmp)
        os.replace(tmp, path)
    return nb


if __name__ == "__main__":
    run()
    print(NOTEBOOK)
    sys.exit(0)
