"""Build: curation CSV + Table Schemas -> typed, validated Parquet + datapackage.json.

Reads ``curation/<table>.csv`` with the types of ``schemas/<table>.json``, runs every rule
(lazy: all failures at once), and only if all pass writes, atomically:

- ``chokepoint_data/data/<table>.parquet`` (byte-reproducible: same inputs and same
  pyarrow give the same bytes),
- ``chokepoint_data/datapackage.json`` (the descriptor the installed package reads) and
  ``datapackage.json`` at the root (the same descriptor, paths relative to the root),
- ``docs/DATA_DICTIONARY.md``.

On any failure nothing is written and the files already there stay as they were.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd
import pyarrow as pa_arrow
import pyarrow.parquet as pq

from ._descriptor import sha256_hex
from ._errors import BuildError, Failure
from ._schemas import arrow_schema, coerce_frame
from ._validate import check_frames
from ._version import __version__

__all__ = ["TABLES", "BuildResult", "build", "read_curation", "load_schemas", "descriptor_for"]

#: Table order in the descriptor: referenced tables before the tables that point at them.
TABLES = (
    "sources", "chokepoints", "assessments", "companies", "company_chokepoints",
    "markets", "market_shares", "metrics", "indicators", "policies", "policy_chokepoints", "policy_targets",
)
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
DATA_LICENSE = {"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
                "title": "Creative Commons Attribution 4.0"}
#: Test hook: called with the name of each step; a test makes it raise to prove a failed
#: or interrupted build leaves the previous outputs untouched.
_STEP_HOOK: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if _STEP_HOOK is not None:
        _STEP_HOOK(name)


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
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            failures.append(Failure(name, "schema:invalid", f"{path} is not valid JSON: {exc}"))
    if failures:
        raise BuildError(failures)
    return schemas


def read_curation(table: str, path: Path) -> tuple[pd.DataFrame, list[Failure]]:
    """Read one curation CSV as text cells; the index is the CSV line number of each row."""
    failures: list[Failure] = []
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return pd.DataFrame(), [Failure(table, "file:missing", f"{path} does not exist")]
    if raw.startswith(b"\xef\xbb\xbf"):
        failures.append(Failure(table, "file:bom", f"{path.name} starts with a byte-order mark; save it as UTF-8 without BOM"))
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return pd.DataFrame(), failures + [Failure(table, "file:encoding", f"{path.name} is not UTF-8: {exc}")]
    if not text.strip():
        return pd.DataFrame(), failures + [Failure(table, "file:empty", f"{path.name} is empty; it needs at least a header row")]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        rows, lines = [], []
        for record in reader:
            if not record or all(cell == "" for cell in record) and len(record) <= 1:
                continue
            if len(record) != len(header):
                failures.append(Failure(table, "file:ragged", f"row has {len(record)} cells, the header has {len(header)}", row=reader.line_num))
                record = (record + [""] * len(header))[: len(header)]
            rows.append(record)
            lines.append(reader.line_num)
    except csv.Error as exc:
        return pd.DataFrame(), failures + [Failure(table, "file:csv", f"{path.name} is not valid CSV: {exc}", row=reader.line_num)]
    stripped = [h.strip() for h in header]
    for h, s in zip(header, stripped):
        if h != s:
            failures.append(Failure(table, "whitespace", "column name has leading or trailing white space", column=s, value=h))
    frame = pd.DataFrame(rows, columns=stripped, index=pd.Index(lines, name="line"), dtype=object)
    return frame, failures


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
    from ._licences import CURATION_LICENCE, cited_sources

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
    from ._licences import licence_entry

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


def _atomic_write_all(files: Mapping[Path, bytes]) -> None:
    """Write every file to a temporary sibling, fsync, then rename each into place.

    Nothing visible changes until every temporary file is complete; the renames come last
    and each is atomic. Temporary files are removed if anything fails.
    """
    temps: dict[Path, Path] = {}
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps[path] = Path(tmp_name)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            _step(f"write:{path.name}")
        _step("replace")
        for path, tmp_path in temps.items():
            os.replace(tmp_path, path)
    finally:
        for tmp_path in temps.values():
            if tmp_path.exists():
                tmp_path.unlink()


def build(root: Path | str = ".", out: Path | str | None = None) -> BuildResult:
    """Build the package data from ``root`` (holding ``schemas/`` and ``curation/``) into ``out``.

    Raises
    ------
    BuildError
        Listing every problem (file, row, column, rule); nothing is written.
    """
    root = Path(root)
    out = root if out is None else Path(out)
    schemas = load_schemas(root)
    failures: list[Failure] = []
    typed: dict[str, pd.DataFrame] = {}
    _step("read")
    for name in TABLES:
        raw, problems = read_curation(name, root / "curation" / f"{name}.csv")
        failures += problems
        frame, problems = coerce_frame(name, schemas[name], raw)
        failures += problems
        typed[name] = frame
    _step("validate")
    failures += check_frames(typed, schemas, lazy=True)
    if failures:
        raise BuildError([_in_file(f) for f in failures])
    _step("serialise")
    blobs = {name: parquet_bytes(schemas[name], typed[name]) for name in TABLES}
    hashes = {name: sha256_hex(b) for name, b in blobs.items()}
    rows = {name: len(typed[name]) for name in TABLES}
    files: dict[Path, bytes] = {out / "chokepoint_data" / "data" / f"{n}.parquet": b for n, b in blobs.items()}
    licences = table_licences(typed, schemas)
    files[out / "chokepoint_data" / "datapackage.json"] = _json(descriptor_for(schemas, hashes, prefix="", licences=licences))
    files[out / "datapackage.json"] = _json(descriptor_for(schemas, hashes, prefix="chokepoint_data/", licences=licences))
    files[out / "docs" / "DATA_DICTIONARY.md"] = _dictionary_markdown(schemas, rows).encode("utf-8")
    _atomic_write_all(files)
    return BuildResult(written=tuple(files), rows=rows)


def _in_file(f: Failure) -> Failure:
    """Name the curation file in the table slot, so the message points at what to edit."""
    table = f.table if f.table.startswith("curation/") else f"curation/{f.table}.csv"
    return Failure(table=table, rule=f.rule, message=f.message, column=f.column, row=f.row, key=f.key, value=f.value)
