"""The shape of the package (docs/ARCHITECTURE.md), read from its imports so it cannot drift.

Every module is parsed with ``ast``; every import counts, also one inside a function or under
``TYPE_CHECKING``. The graph must have no circle, and no wing may import a higher one:

    base (_errors, _version)  <  store  <  rules  <  answers  <  outputs | release  <  top

``outputs`` and ``release`` are siblings (neither imports the other); the top is the face
(``__init__``, ``cli``, ``__main__`` and the documented module names kept as aliases).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import chokepoint_data

PACKAGE = "chokepoint_data"
ROOT = Path(chokepoint_data.__file__).resolve().parent

#: rank of each wing; a module may import its own wing and lower ranks only
RANKS = {"base": 0, "store": 1, "rules": 2, "answers": 3, "outputs": 4, "release": 4, "top": 5}
BASE = {f"{PACKAGE}._errors", f"{PACKAGE}._version"}
#: the faces kept for the documented module names: each is the wing module it stands for
FACES = {"analysis": "answers", "build": "release", "diff": "release", "export": "outputs", "figures": "outputs",
         "serve": "outputs"}
TOP = {PACKAGE, f"{PACKAGE}.cli", f"{PACKAGE}.__main__"} | {f"{PACKAGE}.{face}" for face in FACES}
#: written by the build beside datapackage.json and read as text, never imported: data, not code
DATA_MODULES = {f"{PACKAGE}._pins"}
#: the one import from the base into a wing: a ValidationError builds its report from
#: rules._failures, which imports nothing of the package (checked below), so no circle can form
ALLOWED = {(f"{PACKAGE}._errors", f"{PACKAGE}.rules._failures")}
MAX_LINES = 450


def module_name(path: Path, root: Path = ROOT, package: str = PACKAGE) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def module_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}`` for every module below ``root``."""
    paths = {module_name(p, root, package): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        here = name if is_package else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names if alias.name.split(".")[0] == package}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != package:
                    continue
                for alias in node.names:  # `from pkg import module` imports the module
                    sub = f"{target}.{alias.name}"
                    edges.add(sub if sub in paths else target)
        graph[name] = {e for e in edges if e != name}
    return graph


def wing_of(module: str, package: str = PACKAGE) -> str:
    if module in BASE:
        return "base"
    if module in TOP or module == package:
        return "top"
    parts = module.split(".")
    return parts[1] if len(parts) >= 2 and parts[1] in RANKS else "flat"


def upward_imports(graph: dict[str, set[str]], allowed: set[tuple[str, str]] = ALLOWED) -> list[tuple[str, str]]:
    """Every import of a higher wing, or of a sibling wing of the same rank."""
    bad = []
    for module, targets in graph.items():
        wing = wing_of(module)
        for target in sorted(targets):
            other = wing_of(target)
            if (module, target) in allowed or other == wing:
                continue
            if "flat" in (wing, other) or RANKS[other] >= RANKS[wing]:
                bad.append((module, target))
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


GRAPH = module_graph()


def test_the_checker_catches_a_circle_and_an_upward_import():
    """A test that cannot fail proves nothing: a made-up graph with one of each is caught."""
    fake = {
        f"{PACKAGE}.store._a": {f"{PACKAGE}.rules._b"},  # upward: the store reads the rules
        f"{PACKAGE}.rules._b": {f"{PACKAGE}.rules._c"},
        f"{PACKAGE}.rules._c": {f"{PACKAGE}.rules._b", f"{PACKAGE}._errors"},  # a circle inside a wing
        f"{PACKAGE}.outputs._d": {f"{PACKAGE}.release._e"},  # sideways: siblings stay apart
        f"{PACKAGE}._loose": {f"{PACKAGE}._errors"},  # a module flat at the top
        f"{PACKAGE}._errors": set(),
    }
    assert cycles(fake) == [[f"{PACKAGE}.rules._b", f"{PACKAGE}.rules._c"]]
    assert upward_imports(fake) == [(f"{PACKAGE}.store._a", f"{PACKAGE}.rules._b"),
                                    (f"{PACKAGE}.outputs._d", f"{PACKAGE}.release._e"),
                                    (f"{PACKAGE}._loose", f"{PACKAGE}._errors")]


def test_the_graph_reads_imports_inside_functions(tmp_path):
    pkg = tmp_path / "pkg"
    for folder in ("store", "rules"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    for empty in ("__init__.py", "_errors.py", "rules/_b.py"):
        (pkg / empty).write_text("")
    (pkg / "store" / "_a.py").write_text("def f():\n    from ..rules import _b\n    from .. import _errors\n")
    (pkg / "store" / "_c.py").write_text("TYPE_CHECKING = False\nif TYPE_CHECKING:\n    from ._a import f\n")
    graph = module_graph(pkg, "pkg")
    assert graph["pkg.store._a"] == {"pkg.rules._b", "pkg._errors"}
    assert graph["pkg.store._c"] == {"pkg.store._a"}


def test_the_real_graph_is_read():
    """Sanity: the checker sees the package (so the tests below are not vacuous)."""
    assert f"{PACKAGE}.rules._schemas" in GRAPH[f"{PACKAGE}.rules._validate"]
    assert f"{PACKAGE}.store._loader" in GRAPH[f"{PACKAGE}.rules._validate"]  # an import inside a function
    assert {wing_of(m) for m in GRAPH} == {"base", "top", "store", "rules", "answers", "outputs", "release", "flat"}


def test_no_import_circles():
    assert cycles(GRAPH) == []


def test_no_wing_imports_a_higher_one():
    assert upward_imports(GRAPH) == []


def test_the_one_allowed_exception_cannot_make_a_circle():
    for module, target in ALLOWED:
        assert GRAPH[target] == set(), f"{target} must import nothing of the package, so {module} may import it"


def test_nothing_flat_at_the_top_but_the_face():
    flat = sorted(m for m in GRAPH if wing_of(m) == "flat")
    assert flat == sorted(DATA_MODULES)
    assert "import" not in (ROOT / "_pins.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("face", sorted(FACES))
def test_a_face_is_only_an_alias_of_its_module(face):
    import importlib

    tree = ast.parse((ROOT / f"{face}.py").read_text(encoding="utf-8"))
    code = [type(node).__name__ for node in tree.body[1:]]  # after the docstring
    assert code == ["Import", "ImportFrom", "Assign", "Assign", "If"], f"{face}.py must only alias chokepoint_data.{FACES[face]}.{face}"
    star = tree.body[-1].body  # if TYPE_CHECKING: the module's names, for type checkers
    assert [(type(n).__name__, n.module, [a.name for a in n.names]) for n in star] == [
        ("ImportFrom", f"{FACES[face]}.{face}", ["*"])]
    module = importlib.import_module(f"{PACKAGE}.{face}")
    assert module is importlib.import_module(f"{PACKAGE}.{FACES[face]}.{face}")


@pytest.mark.parametrize("wing", ["store", "rules", "answers", "outputs", "release"])
def test_each_wing_says_what_lives_there_and_what_it_may_import(wing):
    doc = ast.get_docstring(ast.parse((ROOT / wing / "__init__.py").read_text(encoding="utf-8"))) or ""
    assert "What lives here" in doc and "may import" in doc, wing


def test_every_module_has_a_docstring_and_at_most_450_lines():
    problems = []
    for path in sorted(ROOT.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT).as_posix()
        if path.name != "__main__.py" and not ast.get_docstring(ast.parse(text)) and rel != "_version.py":
            problems.append(f"{rel}: no docstring saying its job")
        if len(text.splitlines()) > MAX_LINES:
            problems.append(f"{rel}: {len(text.splitlines())} lines (at most {MAX_LINES}: does it hold two jobs?)")
    assert problems == []
