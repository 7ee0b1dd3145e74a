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
import json
import os
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .._errors import whole_number
from ._diff_model import LEVELS, Change, PackageDiff, ReleaseCheckError, TableDiff, check_bump, smallest_version
from ..store._packages import Package, open_package

if TYPE_CHECKING:  # pragma: no cover
    from ._diff_report import render_markdown, render_text, to_json

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

_COSMETIC = {"title", "description", "$schema", "example", "examples", "rdfType"}


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


#: Declared key mappings across a remodel: table -> {new column: the old columns it is built
#: from, joined with ':'}. 0.2.0 replaced market_shares' (chokepoint_id, year, scope, basis,
#: breakdown, source_id) with market_id, whose recipe the markets schema states.
KEY_MAPPINGS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "market_shares": {"market_id": ("chokepoint_id", "year", "scope", "basis", "breakdown", "source_id")},
}


def _mapped(table: str, rows: list[dict[str, Any]], fields: list[str], wanted: Sequence[str]) -> list[str]:
    """The columns of ``wanted`` that ``rows`` lack but a declared mapping builds (added in place)."""
    built = []
    for col, parts in (KEY_MAPPINGS.get(table) or {}).items():
        if col in wanted and col not in fields and all(p in fields for p in parts):
            for row in rows:
                row[col] = ":".join("" if row.get(p) is None else str(row.get(p)) for p in parts)
            built.append(col)
    return built


def _match(td: TableDiff, old_rows: list[dict[str, Any]], new_rows: list[dict[str, Any]], key: list[str],
           common: list[str]) -> bool:
    """Match rows on ``key``; False when it is not unique on both sides."""
    oi, ni = _index(old_rows, key), _index(new_rows, key)
    if oi is None or ni is None:
        return False
    td.matched_by = list(key)
    td.added += [row for k, row in ni.items() if k not in oi]
    td.removed += [row for k, row in oi.items() if k not in ni]
    for k, row in ni.items():
        before = oi.get(k)
        if before is None:
            continue
        delta = {c: [before.get(c), row.get(c)] for c in common if c not in key and before.get(c) != row.get(c)}
        if delta:
            td.changed.append({"key": {c: row.get(c) for c in key}, "changes": delta})
    return True


def _compare_rows(td: TableDiff, old_rows: list[dict[str, Any]], new_rows: list[dict[str, Any]],
                  old_fields: list[str], new_fields: list[str]) -> None:
    """Added, removed and changed rows. Rows are matched on the new primary key, else the old one,
    where both sides hold it, unique. When the key changed and neither key is on both sides, rows
    are matched on the new key built through a declared mapping (``KEY_MAPPINGS``), else on the key
    columns both versions share (if unique on both sides), else whole rows over the shared columns;
    ``td.note`` says that the key changed and how rows were matched."""
    old_rows = [{k: _plain(v) for k, v in r.items()} for r in old_rows]
    new_rows = [{k: _plain(v) for k, v in r.items()} for r in new_rows]
    common = [c for c in new_fields if c in old_fields]
    candidates = [td.key_new, td.key_old] if td.key_new != td.key_old else [td.key_new]
    for key in candidates:
        if key and all(c in old_fields and c in new_fields for c in key) and _match(td, old_rows, new_rows, key, common):
            if td.key_new != td.key_old:
                td.note = (f"the primary key changed ({', '.join(td.key_old)}) -> ({', '.join(td.key_new)}); "
                           f"rows matched on ({', '.join(key)}), which both versions hold")
            return
    changed_key = td.key_new != td.key_old
    said = f"the primary key changed ({', '.join(td.key_old)}) -> ({', '.join(td.key_new)}); " if changed_key else ""
    if changed_key and td.key_new:
        built = _mapped(td.name, old_rows, old_fields, td.key_new)
        if built and all(c in old_fields + built and c in new_fields for c in td.key_new):
            if _match(td, old_rows, new_rows, td.key_new, common):
                recipe = "; ".join(f"{c} = {':'.join(KEY_MAPPINGS[td.name][c])} of the old rows" for c in built)
                td.note = said + f"rows matched on the new key, built for the old rows by a declared mapping ({recipe})"
                return
        for row in old_rows:
            for c in built:
                row.pop(c, None)
        shared = [c for c in dict.fromkeys(td.key_new + td.key_old) if c in old_fields and c in new_fields]
        if shared and _match(td, old_rows, new_rows, shared, common):
            td.note = said + f"rows matched on the key columns both versions share ({', '.join(shared)})"
            return
    if td.key_old or td.key_new:
        td.note = said + ("rows matched as whole rows over the columns both versions share "
                          f"({', '.join(common)}): a changed value shows as one row removed and one added")
    # no usable key: compare whole rows over the common columns, as multisets
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


#: Descriptor properties whose change breaks readers or narrows reuse (the rest are descriptive).
_BREAKING_PROPS = {"name", "licenses", "format", "mediatype", "encoding", "dialect", "type"}
_IGNORED_PROPS = {"resources", "version", "schema", "hash", "bytes"}


def _licence_names(value: Any) -> set[str]:
    items = value if isinstance(value, list) else []
    return {str(i.get("name") or i.get("path") or i) if isinstance(i, dict) else str(i) for i in items}


def _property_changes(table: str, old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> list[Change]:
    out: list[Change] = []
    for key in sorted((set(old) | set(new)) - _IGNORED_PROPS):
        if old.get(key) != new.get(key) and key == "licenses":
            before, after = _licence_names(old.get(key)), _licence_names(new.get(key))
            if before == after:
                out.append(Change("patch", table, f"{where} licenses described differently"))
            else:
                words = (f" gained {sorted(after - before)}" if after - before else "") + (
                    f" lost {sorted(before - after)}" if before - after else "")
                out.append(Change("major", table, f"{where} licenses{words} (reuse terms changed)"))
        elif old.get(key) != new.get(key):
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
    p.add_argument("--max-rows", type=whole_number, default=None, help="list at most N rows per table and kind")
    p.add_argument("--check", action="store_true",
                   help="exit 1 unless NEW's version is at least the smallest bump the policy allows over OLD's")


def run(args: argparse.Namespace) -> int:
    """The ``diff`` command: print the diff; with ``--check``, refuse a too-small version."""
    from ._diff_report import render_markdown, render_text, to_json

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



def __getattr__(name: str) -> Any:
    """render_text, render_markdown and to_json live in _diff_report, imported on first use."""
    if name in ("render_text", "render_markdown", "to_json"):
        from . import _diff_report

        return getattr(_diff_report, name)
    raise AttributeError(f"module 'chokepoint_data.diff' has no attribute {name!r}")
