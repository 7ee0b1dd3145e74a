"""Read the packaged datapackage.json, resolve resource paths safely, check sha256.

Standard library only: this module sits on the bottom floor and is imported by the
loader before anything heavy.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from ._errors import DescriptorError, IntegrityError, UnknownTableError, repair_advice

__all__ = [
    "DESCRIPTOR_NAME",
    "package_dir",
    "read_descriptor",
    "table_names",
    "resource",
    "resource_path",
    "read_verified",
    "sha256_hex",
]

DESCRIPTOR_NAME = "datapackage.json"
_HASH_PREFIX = "sha256:"
_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


def package_dir() -> Path:
    """The installed ``chokepoint_data`` folder (holds the descriptor and ``data/``)."""
    return Path(__file__).resolve().parent


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_descriptor(base: Path | None = None) -> dict[str, Any]:
    """Return the packaged descriptor as a dict (a fresh deep copy each call)."""
    return _copy(_cached(base))


def _copy(obj: Any) -> Any:
    return json.loads(json.dumps(obj))


def _cached(base: Path | None = None) -> dict[str, Any]:
    """The parsed descriptor, shared: callers must not change it (public functions copy).

    Raises
    ------
    DescriptorError
        The file is missing, is not JSON, or lacks the resources the loader needs.
    """
    base = package_dir() if base is None else base
    path = base / DESCRIPTOR_NAME
    try:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError as exc:
        raise DescriptorError(
            f"the packaged descriptor {path} is missing ({exc.strerror}); {repair_advice(base)}"
        ) from None
    with _lock:
        hit = _cache.get(path)
        if hit is None or hit[0] != stamp:
            try:
                descriptor = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise DescriptorError(
                    f"the packaged descriptor {path} cannot be read ({exc}); {repair_advice(base)}"
                ) from None
            _check_shape(descriptor, path)
            _cache[path] = (stamp, descriptor)
            hit = _cache[path]
    return hit[1]


def _check_shape(descriptor: Any, path: Path) -> None:
    problem = None
    if not isinstance(descriptor, dict):
        problem = "it is not a JSON object"
    elif not isinstance(descriptor.get("resources"), list) or not descriptor["resources"]:
        problem = "it has no resources"
    else:
        for i, res in enumerate(descriptor["resources"]):
            if not isinstance(res, dict):
                problem = f"resource {i} is not an object"
            elif not all(isinstance(res.get(k), str) for k in ("name", "path", "hash")):
                problem = f"resource {i} lacks a name, path or hash"
            elif not res["hash"].startswith(_HASH_PREFIX) or len(res["hash"]) != len(_HASH_PREFIX) + 64:
                problem = f"resource {res['name']!r} has no sha256 hash"
            elif not isinstance(res.get("schema"), dict) or not isinstance(res["schema"].get("fields"), list):
                problem = f"resource {res['name']!r} has no table schema"
            if problem:
                break
    if problem:
        raise DescriptorError(
            f"the packaged descriptor {path} is damaged: {problem}; {repair_advice(path.parent)}"
        )


def table_names(base: Path | None = None) -> list[str]:
    return [r["name"] for r in _cached(base)["resources"]]


def resource(name: str, base: Path | None = None) -> dict[str, Any]:
    """The descriptor's resource called ``name`` (a copy); unknown names raise UnknownTableError."""
    descriptor = _cached(base)
    for res in descriptor["resources"]:
        if res["name"] == name:
            return _copy(res)
    names = [r["name"] for r in descriptor["resources"]]
    close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.5)
    raise UnknownTableError(str(name), names, close)


def resource_path(res: dict[str, Any], base: Path | None = None) -> Path:
    """Resolve a resource path, refusing anything that leaves the package folder.

    Refused: URLs, absolute paths, ``..`` segments, and links whose target lies outside.
    """
    base = (package_dir() if base is None else base).resolve()
    raw = res["path"]
    name = res.get("name", "?")
    if "://" in raw or raw.startswith(("/", "\\")) or os.path.isabs(raw) or ":" in raw:
        raise DescriptorError(f"resource {name!r} has an unsafe path {raw!r}: absolute paths and URLs are refused")
    parts = raw.replace("\\", "/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise DescriptorError(f"resource {name!r} has an unsafe path {raw!r}: '..', '.' and empty segments are refused")
    candidate = base.joinpath(*parts)
    real = candidate.resolve()
    if base not in real.parents:
        raise DescriptorError(
            f"resource {name!r} path {raw!r} leads outside the package ({real}); refused"
        )
    return real


def read_verified(name: str, base: Path | None = None) -> tuple[bytes, dict[str, Any]]:
    """Read a resource's bytes and check them against the descriptor's sha256.

    Returns the bytes and the resource. The bytes are read once and hashed, so what is
    checked is exactly what the caller parses.
    """
    res = resource(name, base)
    path = resource_path(res, base)
    expected = res["hash"][len(_HASH_PREFIX):].lower()
    advice = repair_advice(package_dir() if base is None else base)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IntegrityError(res["path"], expected, None, f"cannot read it: {exc.strerror}", advice) from None
    found = sha256_hex(data)
    if found != expected:
        raise IntegrityError(res["path"], expected, found, advice=advice)
    return data, res
