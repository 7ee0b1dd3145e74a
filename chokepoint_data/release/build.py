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

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import pyarrow as pa_arrow
import pyarrow.parquet as pq

from ..store._atomic import step as _step, write_files
from ..store._descriptor import PINS_NAME, pins_source, sha256_hex
from .._errors import BuildError
from ..rules._failures import Failure
from ._curation import _UNREADABLE, TABLES, load_schemas, read_curation, schema_problems  # noqa: F401
from ..rules._schemas import arrow_schema, coerce_frame
from ..rules._validate import check_frames
from .._version import __version__

__all__ = ["TABLES", "BuildResult", "build", "read_curation", "load_schemas", "descriptor_for"]

PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
# The build's steps (read, validate, serialise, then the writer's own) go to the one test
# hook, ``store._atomic._STEP_HOOK``: a test makes it raise to prove a failed or
# interrupted build leaves the previous outputs untouched.


@dataclass(frozen=True)
class BuildResult:
    written: tuple[Path, ...]
    rows: Mapping[str, int]


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
    from ..store._licences import row_licences

    licences = row_licences({name: typed[name] for name in TABLES}, schemas)
    return {name: licences[name] for name in TABLES}


def descriptor_for(schemas: Mapping[str, Mapping[str, Any]], hashes: Mapping[str, str], *, prefix: str,
                   licences: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """The Data Package v2 descriptor; ``prefix`` is the folder of ``data/`` relative to it.

    ``licences`` lists per table every licence its rows carry (``table_licences``); each
    resource's ``licenses`` names them all, so a reader sees which resources hold rows that
    may not be used commercially.
    """
    from ..store._licences import licence_entry

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
    from ..rules._text import text_rule

    out = ["# Data dictionary", "", f"Generated by `chokepoint-data build` for version {__version__}; do not edit by hand.", "",
           text_rule(), ""]
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


def _reads_broken(failure: Failure, broken: set[str]) -> bool:
    """Whether ``failure`` comes from a rule of, or reading, a table that could not be read."""
    from ..rules._invariants import READS

    if failure.table in broken:
        return True
    if failure.rule.startswith("foreign_key:"):
        return failure.rule.split("->", 1)[1].split(".", 1)[0] in broken
    reads = set(READS.get(failure.rule, ()))
    return bool(broken) and ("*" in reads or bool(reads & broken))


def _skipped(schemas: Mapping[str, Mapping[str, Any]], broken: set[str]) -> list[Failure]:
    """One note per table whose rules were not run because a table they read could not be read
    (the broken table's own rules wait too; its one problem is reported as it is)."""
    from ..rules._invariants import READS, RULES

    if not broken:
        return []
    notes = []
    for name in TABLES:
        if name in broken:  # its own problem is reported; its rules wait for it (one failure per file)
            continue
        rules = [f"foreign key {','.join(fk['fields'] if isinstance(fk['fields'], list) else [fk['fields']])}"
                 f" -> {fk['reference'].get('resource') or name}"
                 for fk in schemas[name].get("foreignKeys", []) if (fk["reference"].get("resource") or name) in broken]
        rules += [rule for table, rule, *_ in RULES if table == name
                  and ("*" in READS.get(rule, ()) or set(READS.get(rule, ())) & broken)]
        if rules:
            causes = ", ".join(f"curation/{t}.csv" for t in sorted(broken))
            notes.append(Failure(name, "skipped", f"not checked until {causes} can be read as its schema says "
                                                  f"(see its problems above): {', '.join(rules)}"))
    return notes


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
        if any(f.rule == "columns:missing" for f in found):
            unreadable.add(name)  # not the table its schema describes: the same echoes would follow
        typed[name] = frame
    _step("validate")
    failures += [f for f in check_frames(typed, schemas, lazy=True) if not _reads_broken(f, unreadable)]
    failures += _skipped(schemas, unreadable)
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
