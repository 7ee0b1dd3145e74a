"""Compare two releases of the data: rows and schemas, and the version bump the policy asks for.

Each side is a ``datapackage.json``, a folder holding one, a wheel (``.whl``), or a git ref of
a repository (read with ``git cat-file`` from the committed tree, nothing checked out). Every
resource's bytes are checked against the sha256 its descriptor records before they are read.

The version policy (``docs/RELEASING.md``), one level per change:

- **major**: a table removed; a field removed or renamed; a field's type or format changed; a
  constraint made stricter (or changed in a way that is not plainly looser); a primary key
  changed; a foreign key added or changed; licences, format, mediatype or names changed;
- **minor**: a table added; a field added; rows added or removed; a constraint loosened;
  a foreign key removed;
- **patch**: values of existing rows corrected (grades, sources, figures, notes); descriptions.

While the version is 0.x, a change that needs **major** bumps the minor number (0.1.0 -> 0.2.0).

>>> from chokepoint_data import diff
>>> diff.smallest_version("0.1.0", "major"), diff.smallest_version("1.4.2", "minor")
('0.2.0', '1.5.0')

Standard library only at import; pyarrow is imported when tables are read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ._errors import ChokepointDataError, DescriptorError, IntegrityError

__all__ = [
    "LEVELS",
    "ReleaseCheckError",
    "Package",
    "TableDiff",
    "PackageDiff",
    "open_package",
    "diff_packages",
    "diff",
    "smallest_version",
    "check_bump",
    "render_text",
    "render_markdown",
    "to_json",
]

#: Bump levels, smallest first.
LEVELS = ("none", "patch", "minor", "major")
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_COSMETIC = {"title", "description", "$schema", "example", "examples", "rdfType"}


class ReleaseCheckError(ChokepointDataError):
    """A release's version does not fit the version policy (or cannot be read)."""


# --------------------------------------------------------------------------------------
# reading one side


@dataclass
class Package:
    """One side of a diff: its descriptor and a way to read each resource's verified bytes."""

    label: str
    descriptor: dict[str, Any]
    _read: Callable[[str], bytes] = field(repr=False)

    @property
    def version(self) -> str | None:
        v = self.descriptor.get("version")
        return v if isinstance(v, str) else None

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in self.descriptor["resources"]}

    def read_rows(self, name: str) -> list[dict[str, Any]]:
        """The rows of resource ``name`` as dicts, after checking the bytes' sha256."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        res = self.resources[name]
        data = self._read(res["path"])
        expected = str(res.get("hash", ""))
        if not expected.startswith("sha256:"):
            raise DescriptorError(f"{self.label}: resource {name!r} has no sha256 hash in its descriptor")
        found = hashlib.sha256(data).hexdigest()
        if found != expected[len("sha256:"):]:
            raise IntegrityError(f"{self.label}: {res['path']}", expected[len("sha256:"):], found)
        rows: list[dict[str, Any]] = pq.read_table(pa.BufferReader(data)).to_pylist()
        return rows


def _check_descriptor(desc: Any, where: str) -> dict[str, Any]:
    if not isinstance(desc, dict) or not isinstance(desc.get("resources"), list):
        raise DescriptorError(f"{where} is not a data package descriptor (no 'resources' list)")
    for i, res in enumerate(desc["resources"]):
        if not isinstance(res, dict) or not all(isinstance(res.get(k), str) for k in ("name", "path")):
            raise DescriptorError(f"{where}: resource {i} lacks a name or a path")
        if not isinstance(res.get("schema"), dict):
            raise DescriptorError(f"{where}: resource {res['name']!r} has no inline table schema")
    return desc


def _safe_parts(raw: str, where: str) -> list[str]:
    if "://" in raw or raw.startswith(("/", "\\")) or ":" in raw:
        raise DescriptorError(f"{where}: resource path {raw!r} is absolute or a URL; refused")
    parts = raw.replace("\\", "/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise DescriptorError(f"{where}: resource path {raw!r} has '..', '.' or empty segments; refused")
    return parts


def _parse_json(data: bytes, where: str) -> dict[str, Any]:
    try:
        return _check_descriptor(json.loads(data.decode("utf-8")), where)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DescriptorError(f"{where} is not valid JSON: {exc}") from None


def _from_descriptor_file(path: Path, label: str) -> Package:
    try:
        desc = _parse_json(path.read_bytes(), str(path))
    except OSError as exc:
        raise DescriptorError(f"{path} cannot be read: {exc.strerror}") from None
    base = path.parent.resolve()

    def read(raw: str) -> bytes:
        target = base.joinpath(*_safe_parts(raw, str(path))).resolve()
        if base not in target.parents:
            raise DescriptorError(f"{path}: resource path {raw!r} leads outside {base}; refused")
        try:
            return target.read_bytes()
        except OSError as exc:
            raise IntegrityError(str(target), "(descriptor hash)", None, f"cannot read it: {exc.strerror}") from None

    return Package(label, desc, read)


def _from_wheel(path: Path, label: str) -> Package:
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DescriptorError(f"{path} is not a readable wheel: {exc}") from None
    names = set(zf.namelist())
    candidates = sorted(n for n in names if n.endswith("/datapackage.json") and n.count("/") == 1)
    if not candidates:
        raise DescriptorError(f"{path} holds no <package>/datapackage.json; is it a chokepoint-data wheel?")
    member = candidates[0]
    prefix = member[: -len("datapackage.json")]
    desc = _parse_json(zf.read(member), f"{path}!{member}")

    def read(raw: str) -> bytes:
        name = prefix + "/".join(_safe_parts(raw, f"{path}!{member}"))
        if name not in names:
            raise IntegrityError(f"{path}!{name}", "(descriptor hash)", None, "the wheel does not hold it")
        return zf.read(name)

    return Package(label, desc, read)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except OSError as exc:
        raise DescriptorError(f"git cannot be run ({exc.strerror}); install git or pass files instead of refs") from None


def _from_git(ref: str, repo: Path, label: str) -> Package | None:
    if ref.startswith("-"):
        return None
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0:
        return None
    commit = found.stdout.decode().strip()

    def blob(path: str) -> bytes | None:
        out = _git(repo, "cat-file", "blob", f"{commit}:{path}")
        return out.stdout if out.returncode == 0 else None

    raw = blob("datapackage.json")
    if raw is None:
        raise DescriptorError(f"git ref {ref!r} ({commit[:12]}) has no datapackage.json at the repository root")
    where = f"{ref}:datapackage.json"
    desc = _parse_json(raw, where)

    def read(path: str) -> bytes:
        data = blob("/".join(_safe_parts(path, where)))
        if data is None:
            raise IntegrityError(f"{ref}:{path}", "(descriptor hash)", None, "the commit does not hold it")
        return data

    return Package(label, desc, read)


def open_package(spec: str | os.PathLike[str], *, repo: str | os.PathLike[str] | None = None) -> Package:
    """Open one side of a diff.

    Parameters
    ----------
    spec : a ``datapackage.json`` path, a folder holding one, a ``.whl`` file, or a git ref
        (tag, branch, commit, ``HEAD~1``) of ``repo``. An existing path wins over a ref.
    repo : the git repository for refs (default: the current folder).

    Raises
    ------
    DescriptorError
        ``spec`` is none of these, or what it names is not a data package.
    """
    text = os.fspath(spec)
    label = text
    path = Path(text)
    if path.is_dir():
        inner = path / "datapackage.json"
        if not inner.is_file():
            raise DescriptorError(f"folder {path} holds no datapackage.json")
        return _from_descriptor_file(inner, label)
    if path.is_file():
        if path.suffix == ".whl":
            return _from_wheel(path, label)
        return _from_descriptor_file(path, label)
    where = Path(repo) if repo is not None else Path.cwd()
    pkg = _from_git(text, where, label)
    if pkg is None:
        raise DescriptorError(
            f"{text!r} is not a datapackage.json, a folder, a wheel, or a git ref of {where}; "
            f"pass an existing path or a ref that `git rev-parse` knows (e.g. a tag such as v0.1.0)"
        )
    return pkg


# --------------------------------------------------------------------------------------
# comparing


@dataclass
class Change:
    """One schema-level change, with the bump level the policy gives it."""

    level: str
    table: str
    what: str

    def as_dict(self) -> dict[str, str]:
        return {"level": self.level, "table": self.table, "what": self.what}


@dataclass
class TableDiff:
    name: str
    status: str  # "added", "removed", "changed", "unchanged"
    key_old: list[str] = field(default_factory=list)
    key_new: list[str] = field(default_factory=list)
    matched_by: list[str] | None = None
    rows_old: int = 0
    rows_new: int = 0
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # {"key":{..}, "changes":{col:[old,new]}}
    schema: list[Change] = field(default_factory=list)
    note: str | None = None

    @property
    def level(self) -> str:
        levels = [c.level for c in self.schema]
        if self.added or self.removed:
            levels.append("minor")
        if self.changed:
            levels.append("patch")
        if self.status == "changed" and self.matched_by is None and self.rows_old != self.rows_new:
            levels.append("minor")
        return max(levels, key=LEVELS.index, default="none")


@dataclass
class PackageDiff:
    old: str
    new: str
    old_version: str | None
    new_version: str | None
    tables: list[TableDiff]
    package: list[Change] = field(default_factory=list)

    @property
    def level(self) -> str:
        levels = [t.level for t in self.tables] + [c.level for c in self.package]
        return max(levels, key=LEVELS.index, default="none")

    @property
    def reasons(self) -> list[Change]:
        """The changes that set the level (the largest ones)."""
        out = [c for c in self.package if c.level == self.level]
        for t in self.tables:
            out += [c for c in t.schema if c.level == self.level]
            if self.level == "minor" and (t.added or t.removed):
                out.append(Change("minor", t.name, f"{len(t.added)} row(s) added, {len(t.removed)} removed"))
            if self.level == "patch" and t.changed:
                out.append(Change("patch", t.name, f"{len(t.changed)} row(s) changed"))
        return out

    def smallest_version(self) -> str | None:
        return None if self.old_version is None else smallest_version(self.old_version, self.level)


def _fields(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in schema.get("fields", []) if isinstance(f, dict) and "name" in f}


def _as_list(v: Any) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


def _constraint_level(name: str, old: Any, new: Any) -> tuple[str, str]:
    """('major' | 'minor', words) for one constraint that differs between old and new."""
    looser, stricter = "minor", "major"
    if name in ("required", "unique"):
        return (stricter if new and not old else looser), f"{name} {bool(old)} -> {bool(new)}"
    if old is None:
        return stricter, f"{name} added ({new!r})"
    if new is None:
        return looser, f"{name} removed (was {old!r})"
    if name == "enum" and isinstance(old, list) and isinstance(new, list):
        o, n = set(map(str, old)), set(map(str, new))
        gone, came = sorted(o - n), sorted(n - o)
        words = "enum" + (f" lost {gone}" if gone else "") + (f" gained {came}" if came else "")
        return (stricter if gone else looser), words
    if name in ("minimum", "exclusiveMinimum", "minLength"):
        try:
            return (stricter if new > old else looser), f"{name} {old!r} -> {new!r}"
        except TypeError:
            pass
    if name in ("maximum", "exclusiveMaximum", "maxLength"):
        try:
            return (stricter if new < old else looser), f"{name} {old!r} -> {new!r}"
        except TypeError:
            pass
    return stricter, f"{name} {old!r} -> {new!r}"


def _field_changes(table: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    out: list[Change] = []
    name = new["name"]
    for prop in ("type", "format"):
        if old.get(prop) != new.get(prop):
            out.append(Change("major", table, f"field {name}: {prop} {old.get(prop)!r} -> {new.get(prop)!r}"))
    oc, nc = dict(old.get("constraints") or {}), dict(new.get("constraints") or {})
    for key in sorted(set(oc) | set(nc)):
        if oc.get(key) != nc.get(key):
            level, words = _constraint_level(key, oc.get(key), nc.get(key))
            out.append(Change(level, table, f"field {name}: constraint {words}"))
    for key in sorted((set(old) | set(new)) - {"name", "type", "format", "constraints"}):
        if old.get(key) != new.get(key):
            if key in _COSMETIC:
                out.append(Change("patch", table, f"field {name}: {key} changed"))
            elif key == "categories":
                level, words = _constraint_level("enum", old.get(key), new.get(key))
                out.append(Change(level, table, f"field {name}: categories {words[len('enum'):].strip()}"))
            else:
                out.append(Change("major", table, f"field {name}: {key} {old.get(key)!r} -> {new.get(key)!r}"))
    return out


def _fk_repr(fk: Mapping[str, Any]) -> str:
    ref = fk.get("reference") or {}
    return f"({', '.join(_as_list(fk.get('fields')))}) -> {ref.get('resource') or 'self'}({', '.join(_as_list(ref.get('fields')))})"


def _schema_changes(table: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    out: list[Change] = []
    of, nf = _fields(old), _fields(new)
    for name in nf:
        if name not in of:
            out.append(Change("minor", table, f"field {name} added ({nf[name].get('type', 'any')})"))
    for name in of:
        if name not in nf:
            out.append(Change("major", table, f"field {name} removed"))
    for name in nf:
        if name in of:
            out += _field_changes(table, of[name], nf[name])
    common_old = [n for n in of if n in nf]
    common_new = [n for n in nf if n in of]
    if common_old != common_new:
        out.append(Change("patch", table, "fields reordered"))
    ok, nk = _as_list(old.get("primaryKey")), _as_list(new.get("primaryKey"))
    if ok != nk:
        out.append(Change("major", table, f"primary key ({', '.join(ok)}) -> ({', '.join(nk)})"))
    ofk = {_fk_repr(f) for f in old.get("foreignKeys", []) or []}
    nfk = {_fk_repr(f) for f in new.get("foreignKeys", []) or []}
    for fk in sorted(nfk - ofk):
        out.append(Change("major", table, f"foreign key added {fk}"))
    for fk in sorted(ofk - nfk):
        out.append(Change("minor", table, f"foreign key removed {fk}"))
    for key in sorted((set(old) | set(new)) - {"fields", "primaryKey", "foreignKeys"}):
        if old.get(key) != new.get(key):
            level = "patch" if key in _COSMETIC else "major"
            out.append(Change(level, table, f"schema {key} changed"))
    return out


def _plain(v: Any) -> Any:
    """A JSON-friendly, comparable form of one cell."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return None if v != v else v
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, bytes):
        return v.hex()
    return str(v)


def _index(rows: list[dict[str, Any]], key: Sequence[str]) -> dict[tuple[Any, ...], dict[str, Any]] | None:
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        k = tuple(json.dumps(row.get(c), sort_keys=True) for c in key)
        if k in out:
            return None
        out[k] = row
    return out


def _compare_rows(td: TableDiff, old_rows: list[dict[str, Any]], new_rows: list[dict[str, Any]],
                  old_fields: list[str], new_fields: list[str]) -> None:
    old_rows = [{k: _plain(v) for k, v in r.items()} for r in old_rows]
    new_rows = [{k: _plain(v) for k, v in r.items()} for r in new_rows]
    common = [c for c in new_fields if c in old_fields]
    candidates = [td.key_new, td.key_old] if td.key_new != td.key_old else [td.key_new]
    for key in candidates:
        if not key or not all(c in old_fields and c in new_fields for c in key):
            continue
        oi, ni = _index(old_rows, key), _index(new_rows, key)
        if oi is None or ni is None:
            continue
        td.matched_by = list(key)
        for k, row in ni.items():
            if k not in oi:
                td.added.append(row)
        for k, row in oi.items():
            if k not in ni:
                td.removed.append(row)
        for k, row in ni.items():
            before = oi.get(k)
            if before is None:
                continue
            delta = {c: [before.get(c), row.get(c)] for c in common if before.get(c) != row.get(c)}
            if delta:
                td.changed.append({"key": {c: row.get(c) for c in key}, "changes": delta})
        return
    if not td.key_old and not td.key_new:
        # no key on either side: compare whole rows over the common columns, as multisets
        def sig(r: dict[str, Any]) -> str:
            return json.dumps([r.get(c) for c in common], sort_keys=True)

        pool: dict[str, list[dict[str, Any]]] = {}
        for r in old_rows:
            pool.setdefault(sig(r), []).append(r)
        for r in new_rows:
            bucket = pool.get(sig(r))
            if bucket:
                bucket.pop()
            else:
                td.added.append(r)
        td.removed = [r for bucket in pool.values() for r in bucket]
        td.matched_by = []
        return
    td.note = ("rows not matched one by one: the primary key changed and neither key exists, "
               "unique, on both sides; compare the row counts")


#: Descriptor properties whose change breaks readers or narrows reuse (the rest are descriptive).
_BREAKING_PROPS = {"name", "licenses", "format", "mediatype", "encoding", "dialect", "type"}
_IGNORED_PROPS = {"resources", "version", "schema", "hash", "bytes"}


def _property_changes(table: str, old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> list[Change]:
    out: list[Change] = []
    for key in sorted((set(old) | set(new)) - _IGNORED_PROPS):
        if old.get(key) != new.get(key):
            level = "major" if key in _BREAKING_PROPS else "patch"
            out.append(Change(level, table, f"{where} {key} changed: {old.get(key)!r} -> {new.get(key)!r}"
                              if key in _BREAKING_PROPS else f"{where} {key} changed"))
    return out


def diff_packages(old: Package, new: Package) -> PackageDiff:
    """Compare two opened packages table by table."""
    result = PackageDiff(old.label, new.label, old.version, new.version, [])
    result.package = _property_changes("(package)", old.descriptor, new.descriptor, "package")
    ores, nres = old.resources, new.resources
    for name in ores:
        if name not in nres:
            td = TableDiff(name, "removed", key_old=_as_list(ores[name]["schema"].get("primaryKey")))
            td.rows_old = len(old.read_rows(name))
            td.schema.append(Change("major", name, "table removed"))
            result.tables.append(td)
    for name, res in nres.items():
        schema = res["schema"]
        if name not in ores:
            td = TableDiff(name, "added", key_new=_as_list(schema.get("primaryKey")))
            td.rows_new = len(new.read_rows(name))
            td.schema.append(Change("minor", name, f"table added ({td.rows_new} rows)"))
            result.tables.append(td)
            continue
        oschema = ores[name]["schema"]
        td = TableDiff(name, "changed", key_old=_as_list(oschema.get("primaryKey")),
                       key_new=_as_list(schema.get("primaryKey")))
        td.schema = _schema_changes(name, oschema, schema)
        td.schema += _property_changes(name, ores[name], res, "resource")
        orows, nrows = old.read_rows(name), new.read_rows(name)
        td.rows_old, td.rows_new = len(orows), len(nrows)
        same_bytes = ores[name].get("hash") == res.get("hash")
        if not same_bytes:
            _compare_rows(td, orows, nrows, list(_fields(oschema)), list(_fields(schema)))
        if not (td.schema or td.added or td.removed or td.changed or td.note):
            td.status = "unchanged"
        result.tables.append(td)
    return result


def diff(old: str | os.PathLike[str], new: str | os.PathLike[str], *,
         repo: str | os.PathLike[str] | None = None) -> PackageDiff:
    """Compare two releases; each side as :func:`open_package` takes it.

    Examples
    --------
    >>> from chokepoint_data import diff  # doctest: +SKIP
    >>> d = diff.diff("v0.1.0", "HEAD")   # doctest: +SKIP
    >>> d.level, d.smallest_version()      # doctest: +SKIP
    ('major', '0.2.0')
    """
    return diff_packages(open_package(old, repo=repo), open_package(new, repo=repo))


# --------------------------------------------------------------------------------------
# versions


def _parse_version(v: str, what: str) -> tuple[int, int, int]:
    m = _VERSION.match(v or "")
    if not m:
        raise ReleaseCheckError(f"{what} {v!r} is not a version of the form X.Y.Z")
    return int(m[1]), int(m[2]), int(m[3])


def smallest_version(old: str, level: str) -> str:
    """The smallest version after ``old`` that the policy allows for changes of ``level``.

    ``none`` and ``patch`` give the next patch; while the major number is 0, ``major``
    gives the next minor (0.x: a breaking change bumps the minor).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    x, y, z = _parse_version(old, "the old version")
    if level == "major":
        return f"0.{y + 1}.0" if x == 0 else f"{x + 1}.0.0"
    if level == "minor":
        return f"{x}.{y + 1}.0"
    return f"{x}.{y}.{z + 1}"


def check_bump(old_version: str, new_version: str, level: str) -> str:
    """Refuse a release whose version is not above ``old_version`` by at least what ``level`` needs.

    Returns the smallest allowed version; raises :class:`ReleaseCheckError` otherwise.

    >>> check_bump("0.1.0", "0.2.0", "major")
    '0.2.0'
    """
    need = smallest_version(old_version, level)
    new = _parse_version(new_version, "the new version")
    if new <= _parse_version(old_version, "the old version"):
        raise ReleaseCheckError(f"version {new_version} is not above the previous release {old_version}")
    if new < _parse_version(need, "the smallest version"):
        raise ReleaseCheckError(
            f"version {new_version} is too small a bump from {old_version}: the data changes need "
            f"a {level} bump, so at least {need} (docs/RELEASING.md, version policy)"
        )
    return need


# --------------------------------------------------------------------------------------
# output


def _kv(d: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_cell(v)}" for k, v in d.items())


def _cell(v: Any) -> str:
    if v is None:
        return "null"
    return v if isinstance(v, str) else json.dumps(v)


def _key_of(td: TableDiff, row: Mapping[str, Any]) -> dict[str, Any]:
    return {c: row.get(c) for c in (td.matched_by or [])} or dict(row)


def _limit(items: list[Any], max_rows: int | None) -> tuple[list[Any], int]:
    if max_rows is None or len(items) <= max_rows:
        return items, 0
    return items[:max_rows], len(items) - max_rows


def _bump_line(d: PackageDiff) -> str:
    need = d.smallest_version()
    line = f"smallest version bump the policy allows: {d.level}"
    if need is not None:
        line += f" ({d.old_version} -> at least {need})"
        if d.level == "major" and need.startswith("0."):
            line += "; while 0.x, a breaking change bumps the minor"
    if d.new_version is not None and need is not None:
        try:
            check_bump(d.old_version or "", d.new_version, d.level)
            line += f"; {d.new_version} is allowed"
        except ReleaseCheckError:
            line += f"; {d.new_version} is NOT allowed"
    return line


def render_text(d: PackageDiff, *, max_rows: int | None = None) -> str:
    out = [f"chokepoint-data diff: {d.old} ({d.old_version or '?'}) -> {d.new} ({d.new_version or '?'})",
           _bump_line(d)]
    for r in d.reasons:
        out.append(f"  {r.level}: {r.table}: {r.what}")
    for c in d.package:
        out.append(f"package ({c.level}): {c.what}")
    for td in d.tables:
        if td.status == "unchanged":
            continue
        out.append("")
        if td.status == "added":
            out.append(f"{td.name}: table added, {td.rows_new} rows, key ({', '.join(td.key_new)})")
            continue
        if td.status == "removed":
            out.append(f"{td.name}: table removed ({td.rows_old} rows)")
            continue
        out.append(f"{td.name}: {td.rows_old} -> {td.rows_new} rows; {len(td.added)} added, "
                   f"{len(td.removed)} removed, {len(td.changed)} changed"
                   + (f" (matched by {', '.join(td.matched_by)})" if td.matched_by else ""))
        for c in td.schema:
            out.append(f"  schema ({c.level}): {c.what}")
        if td.note:
            out.append(f"  note: {td.note}")
        for sign, rows in (("+", td.added), ("-", td.removed)):
            shown, more = _limit(rows, max_rows)
            for row in shown:
                out.append(f"  {sign} [{_kv(_key_of(td, row))}] {_kv(row)}")
            if more:
                out.append(f"  {sign} ... and {more} more")
        shown, more = _limit(td.changed, max_rows)
        for ch in shown:
            deltas = "; ".join(f"{c}: {_cell(a)} -> {_cell(b)}" for c, (a, b) in ch["changes"].items())
            out.append(f"  ~ [{_kv(ch['key'])}] {deltas}")
        if more:
            out.append(f"  ~ ... and {more} more")
    if all(td.status == "unchanged" for td in d.tables) and not d.package:
        out.append("no differences in tables, rows or schemas")
    return "\n".join(out)


def _md(v: Any) -> str:
    return _cell(v).replace("|", "\\|").replace("`", "'")


def render_markdown(d: PackageDiff, *, max_rows: int | None = 20) -> str:
    """Bullets for a CHANGELOG release's ``### Data`` heading (edit the prose by hand)."""
    out = [f"<!-- generated by: chokepoint-data diff {d.old} {d.new} --format markdown -->"]
    out += [f"- Package: {c.what}." for c in d.package]
    for td in d.tables:
        if td.status == "unchanged":
            continue
        if td.status == "added":
            out.append(f"- `{td.name}`: new table, {td.rows_new} rows (key: {', '.join(td.key_new) or 'none'}).")
            continue
        if td.status == "removed":
            out.append(f"- `{td.name}`: table removed ({td.rows_old} rows).")
            continue
        counts = f"{len(td.added)} rows added, {len(td.changed)} changed, {len(td.removed)} removed"
        out.append(f"- `{td.name}`: {counts} ({td.rows_old} -> {td.rows_new} rows).")
        for c in td.schema:
            out.append(f"  - Schema: {c.what}.")
        if td.note:
            out.append(f"  - {td.note[0].upper()}{td.note[1:]}.")
        for label, rows in (("Added", td.added), ("Removed", td.removed)):
            shown, more = _limit(rows, max_rows)
            for row in shown:
                out.append(f"  - {label}: `{_md(_kv(_key_of(td, row)))}`")
            if more:
                out.append(f"  - {label}: {more} more (see `chokepoint-data diff`).")
        shown, more = _limit(td.changed, max_rows)
        for ch in shown:
            deltas = "; ".join(f"{c} {_md(a)} -> {_md(b)}" for c, (a, b) in ch["changes"].items())
            out.append(f"  - Changed `{_md(_kv(ch['key']))}`: {deltas}")
        if more:
            out.append(f"  - Changed: {more} more (see `chokepoint-data diff`).")
    if len(out) == 1:
        out.append("- No changes to tables, rows or schemas.")
    return "\n".join(out)


def to_json(d: PackageDiff) -> dict[str, Any]:
    return {
        "old": {"spec": d.old, "version": d.old_version},
        "new": {"spec": d.new, "version": d.new_version},
        "bump": d.level,
        "smallest_version": d.smallest_version(),
        "reasons": [r.as_dict() for r in d.reasons],
        "package_changes": [c.as_dict() for c in d.package],
        "tables": [
            {
                "name": td.name, "status": td.status, "level": td.level,
                "primary_key": {"old": td.key_old, "new": td.key_new}, "matched_by": td.matched_by,
                "rows": {"old": td.rows_old, "new": td.rows_new},
                "schema_changes": [c.as_dict() for c in td.schema],
                "added": td.added, "removed": td.removed, "changed": td.changed, "note": td.note,
            }
            for td in d.tables
        ],
    }


# --------------------------------------------------------------------------------------
# command line (wired into cli.py)


def add_subparser(sub: Any) -> None:
    p = sub.add_parser(
        "diff", help="rows and schema changes between two releases, and the version bump they need",
        description="Compare two releases. Each side is a datapackage.json, a folder holding one, "
                    "a wheel, or a git ref (tag, branch, commit) of the repository.")
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text", dest="diff_format")
    p.add_argument("--repo", default=None, help="git repository for refs (default: the current folder)")
    p.add_argument("--max-rows", type=int, default=None, help="list at most N rows per table and kind")
    p.add_argument("--check", action="store_true",
                   help="exit 1 unless NEW's version is at least the smallest bump the policy allows over OLD's")


def run(args: argparse.Namespace) -> int:
    """The ``diff`` command: print the diff; with ``--check``, refuse a too-small version."""
    d = diff(args.old, args.new, repo=args.repo)
    if args.diff_format == "json":
        print(json.dumps(to_json(d), indent=2, ensure_ascii=False))
    elif args.diff_format == "markdown":
        print(render_markdown(d, max_rows=20 if args.max_rows is None else args.max_rows))
    else:
        print(render_text(d, max_rows=args.max_rows))
    if args.check:
        if d.old_version is None or d.new_version is None:
            raise ReleaseCheckError("both descriptors need a 'version' for --check")
        check_bump(d.old_version, d.new_version, d.level)
    return 0

