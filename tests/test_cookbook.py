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


def test_the_cookbook_extra_installs_what_the_notebook_imports(root):
    """``pip install '.[cookbook]'`` is enough to open and run the notebook (issue 18)."""
    import ast
    import re
    import tomllib

    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    extra = {re.split(r"[<>=!~ \[]", r)[0].lower() for r in project["optional-dependencies"]["cookbook"]}
    base = {re.split(r"[<>=!~ \[]", r)[0].lower() for r in project["dependencies"]}
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = "\n".join("\n".join(l for l in c.source.splitlines() if not l.startswith("%")) for c in nb.cells
                     if c.cell_type == "code")
    code += "\n" + (root / "docs" / "run_cookbook.py").read_text()
    imported = {(n.module if isinstance(n, ast.ImportFrom) else a.name).split(".")[0]
                for n in ast.walk(ast.parse(code)) if isinstance(n, (ast.Import, ast.ImportFrom)) and
                (not isinstance(n, ast.ImportFrom) or n.level == 0) for a in n.names}
    third_party = imported - set(__import__("sys").stdlib_module_names) - {"chokepoint_data"}
    assert third_party and third_party <= extra | base, third_party - extra - base
    assert {"ipykernel", "nbclient", "notebook", "matplotlib"} <= extra  # a kernel, a runner, a viewer, the figures
    assert "chokepoint-data[cookbook]" in (root / "README.md").read_text() or ".[cookbook]" in (root / "README.md").read_text()


def test_question_4_table_shows_the_charts_source_for_each_year(executed):
    """The table and the chart gave CATL 2022 from two sources (36.2% against 37.0%)."""
    import chokepoint_data as cd
    from chokepoint_data import figures

    ev = figures.ev_battery_frame({n: cd.load(n) for n in cd.list_tables()})
    catl = ev[(ev.holder == "catl") & (ev.year == 2022)]
    assert len(set(catl.share)) > 1  # two sources disagree: the case this pins
    cell = next(c for c in executed.cells if c.cell_type == "code" and "ev_battery_frame" in c.source)
    table = next(o for o in cell.outputs if o.output_type == "execute_result").data["text/plain"]
    row = next(line for line in table.splitlines() if line.lstrip().startswith("CATL"))
    shown = float(catl[catl.primary].share.iloc[0])
    other = float(catl[~catl.primary].share.iloc[0])
    assert f"{shown:.3f}".rstrip("0") in row and f"{other:.3f}".rstrip("0") not in row, row
