"""The cookbook notebook runs top to bottom against the current data (offline, local kernel)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "cookbook.ipynb"


import pytest


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(tmp_path_factory.mktemp("cookbook"))}}).execute()
    return nb


def test_cookbook_runs(executed):
    nb = executed
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if {"image/png", "image/svg+xml"} & set(o.get("data", {}))]
    assert len(images) >= 5  # the figures are inline
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "did you mean" in text and "looks like a percentage" in text


def test_committed_cookbook_is_up_to_date(executed):
    """The outputs shown in the committed notebook are those of the current data. Like the
    committed figures, they are drawn by one pandas and matplotlib: the newest, which the README
    test run uses; the floors run leaves this check out."""
    nb = executed
    assert nbformat.writes(nb).rstrip("\n") == NOTEBOOK.read_text(encoding="utf-8").rstrip("\n"), (
        "docs/cookbook.ipynb shows outputs of older data or code; re-run: python docs/run_cookbook.py")
