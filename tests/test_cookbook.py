"""The cookbook notebook runs top to bottom against the current data (offline, local kernel)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "cookbook.ipynb"


def test_cookbook_runs(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if {"image/png", "image/svg+xml"} & set(o.get("data", {}))]
    assert len(images) >= 5  # the figures are inline
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "did you mean" in text and "looks like a percentage" in text
    # the outputs shown in the committed notebook are those of the current data
    assert nbformat.writes(nb).rstrip("\n") == NOTEBOOK.read_text(encoding="utf-8").rstrip("\n"), (
        "docs/cookbook.ipynb shows outputs of older data or code; re-run: python docs/run_cookbook.py")
