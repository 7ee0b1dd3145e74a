"""No network, no pickle, no eval: checked, not promised."""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest

import chokepoint_data as cd

PACKAGE = Path(cd.__file__).parent


def test_network_is_blocked_while_everything_loads_and_validates():
    with pytest.raises(RuntimeError, match="network"):
        socket.create_connection(("127.0.0.1", 9))
    tables = cd.load_all()
    cd.validate(tables)
    for backend in ("pyarrow", "polars"):
        cd.load_all(backend=backend)


def test_package_code_has_no_pickle_eval_or_network():
    banned_imports = {"pickle", "marshal", "shelve", "dill", "urllib", "http", "requests", "socket", "ftplib"}
    # serve binds a local port for a moment to say "in use" before Datasette would (no connection made)
    allowed = {PACKAGE / "outputs" / "serve.py": {"socket"}}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        banned = banned_imports - allowed.get(path, set())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not {a.name.split(".")[0] for a in node.names} & banned, (path, ast.dump(node))
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] not in banned, (path, node.module)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec", "compile", "__import__"}, (path, node.lineno)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in {"read_pickle", "to_pickle"}, (path, node.lineno)


def test_shipped_parquet_has_no_python_objects():
    """Parquet here holds plain columns; the pandas metadata names nullable dtypes only."""
    import json

    import pyarrow.parquet as pq

    for path in (PACKAGE / "data").glob("*.parquet"):
        meta = pq.read_schema(path).metadata or {}
        pandas_meta = json.loads(meta.get(b"pandas", b"{}"))
        for col in pandas_meta.get("columns", []):
            assert col["pandas_type"] in {"unicode", "int64", "float64", "bool", "date", "empty"} or col["numpy_type"] in {
                "string", "Int64", "Float64", "boolean", "object"}, (path.name, col)
