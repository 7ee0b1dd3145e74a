"""The package face: cheap import, explicit API, one version."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib

import chokepoint_data as cd

HEAVY = ("pandas", "pyarrow", "pandera", "frictionless", "polars", "numpy", "matplotlib", "datasette")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_import_loads_nothing_heavy():
    loaded = _modules_after("import chokepoint_data")
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def test_import_loads_nothing_outside_the_package():
    """The face costs about a bare interpreter: no typing, dataclasses, re or inspect (each of
    which pulls in more), checked as the modules a fresh interpreter gains, not as a time."""
    out = subprocess.run([sys.executable, "-c", "import sys, json; before = set(sys.modules); import chokepoint_data; "
                          "print(json.dumps(sorted(set(sys.modules) - before)))"], capture_output=True, text=True, check=True)
    gained = set(json.loads(out.stdout.splitlines()[-1]))
    assert gained == {"chokepoint_data", "chokepoint_data._errors", "chokepoint_data._version"}, gained
    assert not gained & {"typing", "dataclasses", "re", "inspect", "enum", "__future__"}


def test_load_does_not_import_pandera():
    loaded = _modules_after("import chokepoint_data as cd; cd.load('chokepoints')")
    assert "pandas" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("pandera", "frictionless")}


def test_public_names_resolve():
    for name in cd.__all__:
        assert getattr(cd, name) is not None, name


def test_unknown_attribute_raises():
    import pytest

    with pytest.raises(AttributeError):
        cd.no_such_function  # noqa: B018


def test_one_version_everywhere(root):
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "chokepoint_data/_version.py"
    assert cd.datapackage()["version"] == cd.__version__
    top = json.loads((root / "datapackage.json").read_text())
    assert top["version"] == cd.__version__
    changelog = (root / "CHANGELOG.md").read_text()
    first = re.search(r"^## \[?(\d+\.\d+\.\d+)", changelog, re.M)
    assert first and first.group(1) == cd.__version__
    cff = (root / "CITATION.cff").read_text()
    assert re.search(rf"^version: \"?{re.escape(cd.__version__)}\"?$", cff, re.M)
    assert cd.__version__ in cd.citation() and cd.__version__ in cd.citation("bibtex")


def test_citation_rejects_unknown_style():
    import pytest

    with pytest.raises(ValueError):
        cd.citation("apa")  # type: ignore[arg-type]


def _documented_modules(root) -> dict[str, set[str]]:
    """Every public module of the package the docs name (``chokepoint_data.figures.make_figure``
    names ``figures`` and its ``make_figure``), and the package's own alias modules."""
    package = root / "chokepoint_data"
    texts = [root / "README.md", *(root / "docs").glob("*.md"), root / "docs" / "cookbook.ipynb"]
    named: dict[str, set[str]] = {}
    for path in texts:
        for first, rest in re.findall(r"chokepoint_data\.([A-Za-z]\w*)((?:\.\w+)*)", path.read_text(encoding="utf-8")):
            if (package / f"{first}.py").exists() or (package / first / "__init__.py").exists():
                named.setdefault(first, set()).update(part for part in rest.split(".")[1:2] if part)
    for alias in package.glob("*.py"):
        if not alias.name.startswith("_") and alias.stem != "cli":
            named.setdefault(alias.stem, set())
    return named


def test_documented_modules_are_attributes_after_a_bare_import(root):
    """``import chokepoint_data; chokepoint_data.figures.make_figure`` works as the docs write it,
    without a ``from chokepoint_data import figures`` first, and is the module that import gives."""
    named = _documented_modules(root)
    assert {"figures", "export", "diff"} <= set(named) and "make_figure" in named["figures"]
    for module, attributes in sorted(named.items()):
        code = (f"import chokepoint_data, importlib\nm = chokepoint_data.{module}\n"
                f"assert m is importlib.import_module('chokepoint_data.{module}'), m\n"
                + "".join(f"assert callable(chokepoint_data.{module}.{a}) or chokepoint_data.{module}.{a} is not None\n"
                          for a in sorted(attributes))
                + f"assert '{module}' in dir(chokepoint_data)\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode == 0, (module, out.stderr)
