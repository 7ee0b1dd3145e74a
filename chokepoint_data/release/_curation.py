"""Reading the curation: the Table Schemas of ``schemas/`` (each checked before it is used)
and the CSV files of ``curation/``, as text, every problem a ``Failure`` naming file, row
and column. The build's first step.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .._errors import BuildError
from ..rules._failures import Failure

__all__ = ["TABLES", "load_schemas", "schema_problems", "read_curation"]

#: Table order in the descriptor: referenced tables before the tables that point at them.
TABLES = (
    "sources", "chokepoints", "assessments", "searches", "companies", "company_chokepoints",
    "markets", "market_shares", "metrics", "indicators", "policies", "policy_chokepoints", "policy_targets",
    "claims", "claim_evidence",
)


def load_schemas(root: Path) -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = {}
    failures: list[Failure] = []
    present = {p.stem for p in (root / "schemas").glob("*.json")}
    for extra in sorted(present - set(TABLES)):
        failures.append(Failure(extra, "schema:unknown", f"schemas/{extra}.json is not one of the package's tables ({', '.join(TABLES)})"))
    for name in TABLES:
        path = root / "schemas" / f"{name}.json"
        try:
            schemas[name] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            failures.append(Failure(name, "schema:missing", f"{path} does not exist"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            failures.append(Failure(name, "schema:invalid", f"{path} is not valid JSON: {exc}"))
        except OSError as exc:
            failures.append(Failure(name, "schema:unreadable", f"{path} cannot be read: {exc.strerror or exc}"))
    for name, sch in schemas.items():
        failures += [Failure(f"schemas/{name}.json", "schema:invalid", message, column=column)
                     for column, message in schema_problems(name, sch, schemas)]
    if failures:
        raise BuildError(failures)
    return schemas


_FIELD_TYPES = ("string", "integer", "number", "boolean", "date")
_CONSTRAINTS: dict[str, type | tuple[type, ...]] = {"required": bool, "unique": bool, "enum": list, "minimum": (int, float), "maximum": (int, float),
                "pattern": str, "maxLength": int, "minLength": int}


def _names(value: Any) -> list[str] | None:
    """A Table Schema field list (a name or a list of names), or None when malformed."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def schema_problems(name: str, schema: Any, schemas: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """What is wrong with one Table Schema that is valid JSON: ``[(field or None, message)]``.

    Checked: an object with a non-empty ``fields`` list; every field an object with a unique
    string ``name`` and a supported ``type``; constraints of the right kinds (a ``pattern``
    that compiles, an ``enum`` of strings for a string field, numeric bounds with minimum <=
    maximum); a ``primaryKey`` and ``foreignKeys`` naming existing fields of existing tables.
    """
    if not isinstance(schema, dict):
        return [(None, "the schema is not a JSON object")]
    fields = schema.get("fields")
    if not isinstance(fields, list) or not fields:
        return [(None, "the schema has no 'fields' list")]
    problems: list[tuple[str | None, str]] = []
    seen: set[str] = set()
    for i, field in enumerate(fields):
        if not isinstance(field, dict) or not isinstance(field.get("name"), str) or not field["name"]:
            problems.append((None, f"field {i} is not an object with a 'name'"))
            continue
        fname = field["name"]
        if fname in seen:
            problems.append((fname, "the field name is used twice"))
        seen.add(fname)
        kind = field.get("type", "string")
        if kind not in _FIELD_TYPES:
            problems.append((fname, f"unknown type {kind!r}; use one of {', '.join(_FIELD_TYPES)}"))
            continue
        c = field.get("constraints", {})
        if not isinstance(c, dict):
            problems.append((fname, "'constraints' is not an object"))
            continue
        for key, value in c.items():
            want = _CONSTRAINTS.get(key)
            if want is None:
                problems.append((fname, f"unknown constraint {key!r}; supported: {', '.join(_CONSTRAINTS)}"))
            elif not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
                problems.append((fname, f"constraint {key!r} has the wrong kind of value {value!r}"))
        if isinstance(c.get("pattern"), str):
            try:
                re.compile(c["pattern"])
            except (re.error, RecursionError, OverflowError) as exc:
                problems.append((fname, f"pattern {c['pattern']!r} is not a valid regular expression: {exc}"))
        if isinstance(c.get("enum"), list):
            if not c["enum"] or (kind == "string" and not all(isinstance(v, str) for v in c["enum"])):
                problems.append((fname, "enum must be a non-empty list of strings"))
            elif len(set(map(str, c["enum"]))) != len(c["enum"]):
                problems.append((fname, "enum lists a value twice"))
        lo, hi = c.get("minimum"), c.get("maximum")
        if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and not isinstance(lo, bool) \
                and not isinstance(hi, bool) and lo > hi:
            problems.append((fname, f"minimum {lo} is above maximum {hi}"))
    pk = schema.get("primaryKey")
    if pk is not None:
        keys = _names(pk)
        if keys is None:
            problems.append((None, "primaryKey must be a field name or a list of field names"))
        else:
            problems += [(k, "primaryKey names a field that does not exist") for k in keys if k not in seen]
    fks = schema.get("foreignKeys", [])
    if not isinstance(fks, list):
        return problems + [(None, "foreignKeys must be a list")]
    for i, fk in enumerate(fks):
        ref = fk.get("reference") if isinstance(fk, dict) else None
        local = _names(fk.get("fields")) if isinstance(fk, dict) else None
        remote = _names(ref.get("fields")) if isinstance(ref, dict) else None
        target = ref.get("resource", "") if isinstance(ref, dict) else None
        if local is None or remote is None or not isinstance(target, str) or len(local) != len(remote):
            problems.append((None, f"foreign key {i} needs 'fields' and a 'reference' with 'resource' and as many 'fields'"))
            continue
        problems += [(f, f"foreign key {i} names a field that does not exist") for f in local if f not in seen]
        target = target or name
        other = schemas.get(target)
        if target not in TABLES:
            problems.append((local[0], f"foreign key {i} points at {target!r}, which is not a table"))
        elif isinstance(other, dict) and isinstance(other.get("fields"), list):
            names = {f.get("name") for f in other["fields"] if isinstance(f, dict)}
            problems += [(local[0], f"foreign key {i} points at {target}.{r}, which does not exist")
                         for r in remote if r not in names]
    return problems


def read_curation(table: str, path: Path) -> tuple[pd.DataFrame, list[Failure]]:
    """Read one curation CSV as text cells; the index is the CSV line number of each row."""
    failures: list[Failure] = []
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return pd.DataFrame(), [Failure(table, "file:missing", f"{path} does not exist")]
    except OSError as exc:  # a folder, no permission, ...
        return pd.DataFrame(), [Failure(table, "file:unreadable", f"{path} cannot be read: {exc.strerror or exc}")]
    if raw.startswith(b"\xef\xbb\xbf"):
        failures.append(Failure(table, "file:bom", f"{path.name} starts with a byte-order mark; save it as UTF-8 without BOM"))
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        column = len(raw[line_start:exc.start].decode("utf-8", errors="replace")) + 1
        bad = raw[exc.start:exc.end].hex(" ")
        more = len(raw.decode("utf-8", errors="replace").split("\ufffd")) - 2
        tail = f"; {more} more undecodable byte sequence(s) follow" if more > 0 else ""
        return pd.DataFrame(), failures + [Failure(
            table, "file:encoding",
            f"{path.name} is not UTF-8: byte(s) {bad} at line {line}, column {column} cannot be decoded{tail}; "
            f"save the file as UTF-8", row=line, value=bad)]
    if not text.strip():
        return pd.DataFrame(), failures + [Failure(table, "file:empty", f"{path.name} is empty; it needs at least a header row")]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1  # the line on which the record being read begins
    try:
        header = next(reader)
        rows, lines = [], []
        start = reader.line_num + 1
        for record in reader:
            if not record or all(cell == "" for cell in record) and len(record) <= 1:
                start = reader.line_num + 1
                continue
            if len(record) != len(header):
                spans = (f"; the record runs from line {start} to line {reader.line_num}: a quote opened on line "
                         f"{start} may be unclosed" if reader.line_num > start else "")
                failures.append(Failure(table, "file:ragged", f"row has {len(record)} cells, the header has {len(header)}{spans}", row=start))
                record = (record + [""] * len(header))[: len(header)]
            rows.append(record)
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        return pd.DataFrame(), failures + [_csv_failure(table, path, exc, start, reader.line_num)]
    stripped = [h.strip() for h in header]
    for h, s in zip(header, stripped):
        if h != s:
            failures.append(Failure(table, "whitespace", "column name has leading or trailing white space", column=s, value=h))
    frame = pd.DataFrame(rows, columns=stripped, index=pd.Index(lines, name="line"), dtype=object)
    return frame, failures


#: File problems after which a table cannot be read at all: reported alone, without the
#: missing-column and foreign-key failures that would follow from an empty table.
_UNREADABLE = frozenset({"file:missing", "file:unreadable", "file:encoding", "file:empty", "file:csv", "file:unclosed_quote",
                         "file:cell_too_large"})


def _csv_failure(table: str, path: Path, exc: csv.Error, start: int, end: int) -> Failure:
    """Point a CSV syntax error at its cause: the line where the broken record begins."""
    text = str(exc)
    if "field larger than field limit" in text:
        return Failure(table, "file:cell_too_large",
                       f"{path.name}: a cell of the record starting at line {start} is larger than the CSV field "
                       f"limit ({csv.field_size_limit()} characters); shorten it, or close a quote opened there",
                       row=start)
    if "unexpected end of data" in text or (end > start and "expected after" in text):
        return Failure(table, "file:unclosed_quote",
                       f"{path.name}: the quoted cell opened on line {start} is never closed (the file reads on to "
                       f"line {end}); add the closing quote", row=start)
    return Failure(table, "file:csv", f"{path.name} is not valid CSV: {exc}", row=end)
