from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture()
def source_copy(tmp_path: Path) -> Path:
    """A copy of schemas/ and curation/ that a test may break."""
    dst = tmp_path / "src"
    shutil.copytree(ROOT / "schemas", dst / "schemas")
    shutil.copytree(ROOT / "curation", dst / "curation")
    return dst


@pytest.fixture(scope="session")
def schemas():
    from chokepoint_data.store import _loader

    return {name: _loader.table_schema(name) for name in _loader.list_tables()}


class NetworkBlocked(RuntimeError):
    pass


@pytest.fixture(autouse=True, scope="session")
def _no_network():
    """Every test in this process runs with outbound sockets blocked."""
    import socket

    def refuse(*args, **kwargs):
        raise NetworkBlocked("network access attempted during tests")

    saved = (socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo)
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo = saved
