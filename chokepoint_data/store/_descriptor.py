"""Read the packaged datapackage.json, resolve resource paths safely, check sha256.

Standard library only: this module sits on the bottom floor and is imported by the
loader before anything heavy.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from .._errors import DescriptorError, IntegrityError, UnknownTableError, repair_advice

__all__ = [
    "DESCRIPTOR_NAME",
    "package_dir",
    "read_descriptor",
    "table_names",
    "resource",
    "resource_path",
    "read_verified",
    "sha256_hex",
    "check_shape",
    "shape_problem",
    "pins_source",
]

DESCRIPTOR_NAME = "datapackage.json"
_HASH_PREFIX = "sha256:"
_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


def package_dir() -> Path:
    """The installed ``chokepoint_data`` folder (holds the descriptor and ``data/``)."""
    return Path(__file__).resolve().parent.parent  # this module sits in chokepoint_data/store/


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
        The file is missing, is not JSON, differs from the sha256 pinned by the build, or
        is not shaped as the loader needs (see :func:`check_shape`).
    """
    base = package_dir() if base is None else base
    path = base / DESCRIPTOR_NAME
    try:
        stamp = _stamp(path)
    except (OSError, ValueError) as exc:
        raise DescriptorError(
            f"the packaged descriptor {path} is missing ({getattr(exc, 'strerror', None) or exc}); {repair_advice(base)}"
        ) from None
    with _lock:
        hit = _cache.get(path)
        if hit is None or hit[0] != stamp:
            try:
                raw = path.read_bytes()
                try:
                    _check_pin(raw, base, path)
                except DescriptorError:
                    if not _settle(base):  # not a build replacing the descriptor and its pin: a real mismatch
                        raise
                    stamp = _stamp(path)  # the build has finished: read the new pair once more
                    raw = path.read_bytes()
                    _check_pin(raw, base, path)
                descriptor = json.loads(raw.decode("utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
                detail = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                raise DescriptorError(
                    f"the packaged descriptor {path} cannot be read ({detail}); {repair_advice(base)}"
                ) from None
            check_shape(descriptor, path)
            _cache[path] = (stamp, descriptor)
            hit = _cache[path]
    return hit[1]


def _stamp(path: Path) -> tuple[int, int, int]:
    """What tells one version of a file from the next (a replace gives a new inode)."""
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_size)


#: How long a reader waits for a build that is replacing the data to finish (seconds).
SETTLE_SECONDS = 10.0


def _staged(base: Path) -> bool:
    """True while the atomic writer is replacing the descriptor or its pin (its staged copies
    ``.datapackage.json.<random>.tmp`` / ``._pins.py.<random>.tmp`` sit beside them)."""
    try:
        names = os.listdir(base)
    except OSError:
        return False
    return any(n.startswith((f".{DESCRIPTOR_NAME}.", f".{PINS_NAME}.")) and n.endswith(".tmp") for n in names)


def _settle(base: Path, before: tuple[int, int, int] | None = None) -> bool:
    """Was the data being rebuilt while it was read? Waits (up to ``SETTLE_SECONDS``) for a
    build in progress to finish; True if one was, or if the descriptor changed since
    ``before`` (its stamp when the reader took it), so that one more read sees one version."""
    import time

    raced = False
    deadline = time.monotonic() + SETTLE_SECONDS
    while _staged(base) and time.monotonic() < deadline:
        raced = True
        time.sleep(0.02)
    if before is not None:
        try:
            raced = raced or _stamp(base / DESCRIPTOR_NAME) != before
        except OSError:
            raced = True
    return raced


PINS_NAME = "_pins.py"
_PIN_RE = re.compile(r'^DESCRIPTOR_SHA256 = "([0-9a-f]{64})"$', re.MULTILINE)


def pins_source(descriptor_bytes: bytes) -> str:
    """The text of ``_pins.py``: the sha256 of the packaged descriptor, written by the build."""
    return ('"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,\n'
            'checked by the loader before it trusts the descriptor."""\n\n'
            f'DESCRIPTOR_SHA256 = "{sha256_hex(descriptor_bytes)}"\n')


def _check_pin(raw: bytes, base: Path, path: Path) -> None:
    """Compare the descriptor's bytes with the sha256 the build pinned in ``_pins.py``.

    The pin is read as text from the same folder, so a copy of the package folder carries
    its own pin; without a ``_pins.py`` (a package older than the pin) nothing is compared.
    """
    try:
        text = (base / PINS_NAME).read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as exc:
        raise DescriptorError(f"{base / PINS_NAME} cannot be read ({exc}); {repair_advice(base)}") from None
    match = _PIN_RE.search(text)
    if match is None:
        raise DescriptorError(f"{base / PINS_NAME} holds no descriptor sha256; {repair_advice(base)}")
    found = sha256_hex(raw)
    if found != match.group(1):
        raise DescriptorError(
            f"the packaged descriptor {path} is not the one the build wrote: its sha256 is {found}, "
            f"{PINS_NAME} pins {match.group(1)}; {repair_advice(base)}"
        )


_MAX_DEPTH = 32
_FIELD_TYPES = frozenset({"string", "integer", "number", "boolean", "date"})
_SHA256_RE = re.compile(r"^sha256:[0-9a-fA-F]{64}$")


def _depth(obj: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if d > _MAX_DEPTH:
            return d
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return deepest


def _names(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _path_problem(raw: str) -> str | None:
    if "\x00" in raw:
        return "contains a NUL character"
    if "://" in raw or raw.startswith(("/", "\\")) or os.path.isabs(raw) or ":" in raw:
        return "is absolute or a URL"
    if any(p in ("", ".", "..") for p in raw.replace("\\", "/").split("/")):
        return "has a '..', '.' or empty segment"
    return None


def _schema_problem(name: str, schema: Any, types: frozenset[str] | None = _FIELD_TYPES) -> str | None:
    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list) or not schema["fields"]:
        return f"resource {name!r} has no table schema"
    fields: set[str] = set()
    for i, field in enumerate(schema["fields"]):
        if not isinstance(field, dict) or not isinstance(field.get("name"), str) or not isinstance(field.get("type"), str):
            return f"resource {name!r}: field {i} is not an object with a name and a type"
        if types is not None and field["type"] not in types:
            return f"resource {name!r}: field {field['name']!r} has an unknown type {field['type']!r}"
        if field["name"] in fields:
            return f"resource {name!r}: field {field['name']!r} appears twice"
        fields.add(field["name"])
        c = field.get("constraints", {})
        if not isinstance(c, dict):
            return f"resource {name!r}: field {field['name']!r} has constraints that are not an object"
        if "enum" in c and (not isinstance(c["enum"], list) or not all(isinstance(v, str) for v in c["enum"])):
            return f"resource {name!r}: field {field['name']!r} has an enum that is not a list of strings"
    pk = schema.get("primaryKey", [])
    keys = _names(pk)
    if keys is None or any(k not in fields for k in keys):
        return f"resource {name!r} has a primaryKey that does not name its fields"
    fks = schema.get("foreignKeys", [])
    if not isinstance(fks, list):
        return f"resource {name!r} has foreignKeys that are not a list"
    for fk in fks:
        ref = fk.get("reference") if isinstance(fk, dict) else None
        local = _names(fk.get("fields")) if isinstance(fk, dict) else None
        if local is None or any(f not in fields for f in local) or not isinstance(ref, dict) \
                or _names(ref.get("fields")) is None or not isinstance(ref.get("resource", ""), str):
            return f"resource {name!r} has a malformed foreign key"
    return None


def shape_problem(descriptor: Any, *, any_field_type: bool = False) -> str | None:
    """What makes ``descriptor`` unusable (see :func:`check_shape`), or None when it is sound.

    ``any_field_type`` accepts any string as a field's type (``diff`` reports a type it does
    not know as a change, it does not interpret it); the loader knows only its own types.
    """
    types = None if any_field_type else _FIELD_TYPES
    problem = None
    if _depth(descriptor) > _MAX_DEPTH:
        problem = f"it is nested deeper than {_MAX_DEPTH} levels"
    elif not isinstance(descriptor, dict):
        problem = "it is not a JSON object"
    elif not isinstance(descriptor.get("resources"), list) or not descriptor["resources"]:
        problem = "it has no resources"
    else:
        seen: set[str] = set()
        for i, res in enumerate(descriptor["resources"]):
            if not isinstance(res, dict):
                problem = f"resource {i} is not an object"
            elif not all(isinstance(res.get(k), str) for k in ("name", "path", "hash")):
                problem = f"resource {i} lacks a name, path or hash"
            elif res["name"] in seen:
                problem = f"resource name {res['name']!r} appears twice"
            elif not _SHA256_RE.match(res["hash"]):
                problem = f"resource {res['name']!r} has no sha256 hash of the form sha256:<64 hex digits>"
            elif _path_problem(res["path"]):
                problem = f"resource {res['name']!r} has an unsafe path {res['path']!r}: it {_path_problem(res['path'])}"
            else:
                problem = _schema_problem(res["name"], res.get("schema"), types)
            if problem:
                break
            seen.add(res["name"])
    return problem


def check_shape(descriptor: Any, path: Path) -> None:
    """Refuse a descriptor the loader cannot use safely, with DescriptorError.

    Checked: a JSON object nested at most 32 deep; a non-empty ``resources`` list of
    objects, each with a unique string ``name``, a safe relative ``path`` (no NUL, no URL,
    no absolute path, no ``..``), a ``hash`` of the form ``sha256:<64 hex digits>``, and a
    table schema whose fields are objects with a name and a known type, with enums of
    strings and a primary key and foreign keys that name its fields.
    """
    problem = shape_problem(descriptor)
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
    if "\x00" in raw:
        raise DescriptorError(f"resource {name!r} has an unsafe path {raw!r}: it contains a NUL character")
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
    checked is exactly what the caller parses. A read that raced a rebuild (the descriptor
    changed after it was read, or a build is replacing it) waits for the build to finish
    and reads once more, so it returns one consistent version; only a mismatch that is
    not a rebuild is reported as damaged data.
    """
    folder = package_dir() if base is None else base
    for attempt in (1, 2):
        try:
            before = _stamp(folder / DESCRIPTOR_NAME)
        except OSError:
            before = None
        res = resource(name, base)
        path = resource_path(res, base)
        expected = res["hash"][len(_HASH_PREFIX):].lower()
        advice = repair_advice(folder)
        try:
            data = path.read_bytes()
        except OSError as exc:
            if attempt == 1 and _settle(folder, before):
                continue
            raise IntegrityError(res["path"], expected, None, f"cannot read it: {exc.strerror}", advice) from None
        found = sha256_hex(data)
        if found == expected:
            return data, res
        if attempt == 1 and _settle(folder, before):
            continue
        raise IntegrityError(res["path"], expected, found, advice=advice)
    raise AssertionError("unreachable")  # pragma: no cover
