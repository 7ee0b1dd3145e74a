"""Build: curation CSV + Table Schemas -> typed, validated Parquet + datapackage.json.

Reads ``curation/<table>.csv`` with the types of ``schemas/<table>.json``, runs every rule
(lazy: all failures at once), and only if all pass writes, atomically:

- ``chokepoint_data/data/<table>.parquet`` (byte-reproducible: same inputs and same
  pyarrow give the same bytes),
- ``chokepoint_data/datapackage.json`` (the descriptor the installed package reads), its
  sha256 pinned in ``chokepoint_data/_pins.py`` (checked by the loader), and
  ``datapackage.json`` at the root (the same descriptor, paths relative to the root),
- ``docs/DATA_DICTIONARY.md``.

On any failure nothing is written and the files already there stay as they were.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd
import pyarrow as pa_arrow
import pyarrow.parquet as pq

from .store._atomic import step as _step, write_files
from .store._descriptor import PINS_NAME, pins_source, sha256_hex
from ._errors import BuildError, Failure
from ._schemas import arrow_schema, coerce_frame
from ._validate import check_frames
from ._version import __version__

__all__ = ["TABLES", "BuildResult", "build", "read_curation", "load_schemas", "descriptor_for"]

#: Table order in the descriptor: referenced tables before the tables that point at them.
TABLES = (
    "sources", "chokepoints", "assessments", "searches", "companies", "company_chokepoints",
    "markets", "market_shares", "metrics", "indicators", "policies", "policy_chokepoints", "policy_targets",
    "claims", "claim_evidence",
)
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
# The build's steps (read, validate, serialise, then the writer's own) go to the one test
# hook, ``store._atomic._STEP_HOOK``: a test makes it raise to prove a failed or
# interrupted build leaves the previous outputs untouched.


@dataclass(frozen=True)
class BuildResult:
    written: tuple[Path, ...]
    rows: Mapping[str, int]


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


def _sort(schema: Mapping[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    pk = list(schema.get("primaryKey") or [])
    return frame.sort_values(pk, kind="mergesort", na_position="first").reset_index(drop=True) if pk else frame.reset_index(drop=True)


def parquet_bytes(schema: Mapping[str, Any], typed: pd.DataFrame) -> bytes:
    """Deterministic Parquet bytes of a typed frame (rows sorted by primary key).

    Arrow types follow the Table Schema (dates as date32). The pandas metadata is kept on
    purpose: it records the nullable dtypes, so readers that go through pandas (among them
    ``frictionless validate``) see nulls as nulls rather than as NaN.
    """
    frame = _sort(schema, typed)
    target = arrow_schema(schema)
    for field in target:
        if pa_arrow.types.is_date32(field.type):
            frame[field.name] = pd.Series(
                [None if pd.isna(v) else pd.Timestamp(v).date() for v in frame[field.name].tolist()],
                index=frame.index, dtype=object)
    table = pa_arrow.Table.from_pandas(frame, schema=target, preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", compression_level=9, use_dictionary=True,
                   write_statistics=True)
    return sink.getvalue()


def table_licences(typed: Mapping[str, pd.DataFrame], schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Per table, every licence its rows carry: our curation's, and each cited source's."""
    from .store._licences import CURATION_LICENCE, cited_sources

    by_source = typed["sources"].drop_duplicates("source_id").set_index("source_id")["licence"].astype(object)
    out: dict[str, list[str]] = {}
    for name in TABLES:
        found = {CURATION_LICENCE}
        if name != "sources":
            cited = cited_sources(name, typed[name], schemas, typed)
            for col in cited.columns:
                found |= {v for v in cited[col].map(by_source).tolist() if isinstance(v, str)}
        out[name] = sorted(found)
    return out


def descriptor_for(schemas: Mapping[str, Mapping[str, Any]], hashes: Mapping[str, str], *, prefix: str,
                   licences: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """The Data Package v2 descriptor; ``prefix`` is the folder of ``data/`` relative to it.

    ``licences`` lists per table every licence its rows carry (``table_licences``); each
    resource's ``licenses`` names them all, so a reader sees which resources hold rows that
    may not be used commercially.
    """
    from .store._licences import licence_entry

    licences = licences or {name: ["CC-BY-4.0"] for name in TABLES}
    resources = []
    for name in TABLES:
        sch = dict(schemas[name])
        resources.append({
            "name": name,
            "type": "table",
            "title": sch.get("title", name),
            "description": sch.get("description", ""),
            "path": f"{prefix}data/{name}.parquet",
            "format": "parquet",
            "mediatype": PARQUET_MEDIATYPE,
            "hash": f"sha256:{hashes[name]}",
            "licenses": [licence_entry(lic) for lic in licences[name]],
            "schema": sch,
        })
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": "chokepoint-data",
        "title": "chokepoint-data: China's industrial choke points",
        "description": ("A curated, cited and validated dataset of the technologies, components and materials "
                        "for which China depends on a few foreign suppliers ('choke points'): market structure, "
                        "indicators, policies, targets and dated assessments. Every fact row cites a row of the "
                        "`sources` resource and carries a confidence grade."),
        "version": __version__,
        "licenses": [licence_entry(lic) for lic in sorted({lic for v in licences.values() for lic in v})],
        "sources": [{"title": "Per-row citations: see the sources resource (one row per cited document)"}],
        "keywords": ["china", "choke points", "semiconductors", "supply chain", "export controls"],
        "resources": resources,
    }


def _dictionary_markdown(schemas: Mapping[str, Mapping[str, Any]], rows: Mapping[str, int]) -> str:
    out = ["# Data dictionary", "", f"Generated by `chokepoint-data build` for version {__version__}; do not edit by hand.", ""]
    for name in TABLES:
        sch = schemas[name]
        out += [f"## {name}", "", sch.get("description", ""), "",
                f"Rows: {rows[name]}. Primary key: {', '.join(sch.get('primaryKey', []))}.", "",
                "| column | type | required | values | description |", "|---|---|---|---|---|"]
        for f in sch["fields"]:
            c = f.get("constraints", {})
            values = ", ".join(c["enum"]) if "enum" in c else (
                f"[{c.get('minimum', '')}, {c.get('maximum', '')}]" if ("minimum" in c or "maximum" in c) else "")
            desc = f.get("description", "").replace("|", "\\|")
            out.append(f"| {f['name']} | {f['type']} | {'yes' if c.get('required') else ''} | {values} | {desc} |")
        for fk in sch.get("foreignKeys", []):
            out.append("")
            out.append(f"Foreign key: {', '.join(fk['fields'])} -> {fk['reference'].get('resource') or name}.{', '.join(fk['reference']['fields'])}")
        out.append("")
    return "\n".join(out)


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def check_targets(out: Path, files: Mapping[Path, bytes]) -> None:
    """Every check that can be made before writing: ``out`` is a folder (or can be one), no
    output path is a folder, no folder on the way is a file.

    Raises
    ------
    BuildError
        Naming each path that cannot be written; nothing has been written.
    """
    failures = []
    if out.exists() and not out.is_dir():
        failures.append(Failure(str(out), "out:not_a_folder",
                                "the build output (--out) is a file; give a folder (default: the root)"))
    else:
        seen: set[Path] = set()
        for path in files:
            for parent in reversed(path.parents):
                if parent in seen or not (parent == out or out in parent.parents):
                    continue
                seen.add(parent)
                if parent.exists() and not parent.is_dir():
                    failures.append(Failure(str(parent), "out:not_a_folder",
                                            f"is a file where the build needs a folder (for {path.name}); move it away"))
            if path.is_dir():
                failures.append(Failure(str(path), "out:not_a_file",
                                        "is a folder where the build writes a file; move it away"))
    if failures:
        raise BuildError(failures)


def _write_outputs(files: Mapping[Path, bytes]) -> None:
    """Replace every output together (see ``store._atomic.write_files``): a failed write
    has changed nothing, and its error names the path."""
    try:
        write_files(files)
    except OSError as exc:
        raise BuildError([Failure(str(exc.filename or "build"), "out:write",
                                  f"cannot write the build output ({exc.strerror or exc}); nothing was changed")]) from None


def build(root: Path | str = ".", out: Path | str | None = None) -> BuildResult:
    """Build the package data from ``root`` (holding ``schemas/`` and ``curation/``) into ``out``.

    Raises
    ------
    BuildError
        Listing every problem (file, row, column, rule); nothing is written.
    """
    root = Path(root)
    out = root if out is None else Path(out)
    check_targets(out, {})  # a file as --out is refused before any work
    schemas = load_schemas(root)
    failures: list[Failure] = []
    typed: dict[str, pd.DataFrame] = {}
    _step("read")
    unreadable: set[str] = set()
    for name in TABLES:
        raw, problems = read_curation(name, root / "curation" / f"{name}.csv")
        failures += problems
        if any(f.rule in _UNREADABLE for f in problems):
            # checked as an empty table, so the other tables are still checked; its own
            # columns and the keys pointing at it would only echo the one real problem
            unreadable.add(name)
            raw = pd.DataFrame(columns=[f["name"] for f in schemas[name]["fields"]], dtype=object)
        frame, found = coerce_frame(name, schemas[name], raw)
        failures += found
        typed[name] = frame
    _step("validate")
    failures += [f for f in check_frames(typed, schemas, lazy=True)
                 if f.table not in unreadable and not any(f"->{t}." in f.rule for t in unreadable)]
    if failures:
        raise BuildError([_in_file(f) for f in failures])
    _step("serialise")
    blobs = {name: parquet_bytes(schemas[name], typed[name]) for name in TABLES}
    hashes = {name: sha256_hex(b) for name, b in blobs.items()}
    rows = {name: len(typed[name]) for name in TABLES}
    files: dict[Path, bytes] = {out / "chokepoint_data" / "data" / f"{n}.parquet": b for n, b in blobs.items()}
    licences = table_licences(typed, schemas)
    package_descriptor = _json(descriptor_for(schemas, hashes, prefix="", licences=licences))
    files[out / "chokepoint_data" / "datapackage.json"] = package_descriptor
    files[out / "chokepoint_data" / PINS_NAME] = pins_source(package_descriptor).encode("utf-8")
    files[out / "datapackage.json"] = _json(descriptor_for(schemas, hashes, prefix="chokepoint_data/", licences=licences))
    files[out / "docs" / "DATA_DICTIONARY.md"] = _dictionary_markdown(schemas, rows).encode("utf-8")
    check_targets(out, files)
    _write_outputs(files)
    return BuildResult(written=tuple(files), rows=rows)


def _in_file(f: Failure) -> Failure:
    """Name the curation file in the table slot, so the message points at what to edit."""
    table = f.table if f.table.startswith("curation/") else f"curation/{f.table}.csv"
    return Failure(table=table, rule=f.rule, message=f.message, column=f.column, row=f.row, key=f.key, value=f.value)
