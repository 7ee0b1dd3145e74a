"""Exports: the tables as a CSV folder, an Excel workbook, a SQLite or a DuckDB database.

One function per format, each taking a :class:`Package` (the frames, their Table Schemas and
licences) so that a caller can export any selection of rows (for example only rows whose
source allows commercial use) without this module knowing how they were chosen.

What every export guarantees
----------------------------
- **Never destroys.** The new export is written completely into a temporary folder
  ``.<name>.<random>.tmp`` beside the target, checked (row counts, foreign keys), and only
  then renamed into place. Killed at any moment, the target is either the old export,
  byte for byte, or the new one, complete. Temporary folders left by a killed export are
  removed by the next export to the same target.
- **Never overwrites what it did not write** unless ``force=True``: a database must hold
  our ``_meta`` table, a workbook our ``chokepoint-data`` document property, a CSV folder
  our ``_manifest.json`` (or be empty). Read-only files are refused too.
- **Refuses bad targets** with :class:`~chokepoint_data.ExportError`: an empty path, a
  folder where a file is expected (or a file where the CSV folder is expected), a missing
  parent folder.
- **Spreadsheet-safe text.** Excel cells that a spreadsheet would read as a formula are
  written as text; CSV does the same with ``safe_formulas=True``. A cell over Excel's
  32,767-character limit is refused by table, row and column before anything is written.

SQLite and DuckDB get one table per Table Schema with its primary key, foreign keys (from
``primaryKey``/``foreignKeys``, so new tables come along without code changes), an index
on every foreign key, the views of :func:`views_sql`, and a ``_meta`` table.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ._errors import ExportError
from ._version import __version__
from .store._atomic import step as _step, write_file, write_folder

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "FORMATS",
    "Package",
    "shipped",
    "export",
    "to_csv",
    "to_xlsx",
    "to_sqlite",
    "to_duckdb",
    "create_table_sql",
    "index_sql",
    "views_sql",
    "looks_like_formula",
]

FORMATS = ("csv", "xlsx", "sqlite", "duckdb")
PACKAGE_NAME = "chokepoint-data"
MANIFEST = "_manifest.json"
META_TABLE = "_meta"
XLSX_PROPERTY = "chokepoint-data"
EXCEL_CELL_LIMIT = 32_767
EXCEL_ROW_LIMIT = 1_048_576
EXCEL_COLUMN_LIMIT = 16_384
EXCEL_SHEET_NAME_LIMIT = 31
README_SHEET = "README"
EXTRA_HINT = "install the export extra: pip install 'chokepoint-data[export]'"

_FORMULA_RE = re.compile(r"^[\s]*[=+\-@]|^[\t\r\n]")
_XML_ILLEGAL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SQLITE_MAGIC = b"SQLite format 3\x00"


# --------------------------------------------------------------------------- the input


@dataclass(frozen=True)
class Package:
    """What an export writes.

    Attributes
    ----------
    tables : ``{name: pandas.DataFrame}`` in the order to write them (as ``load()`` gives them).
    schemas : ``{name: Table Schema dict}`` for every table.
    licences : ``{name: licence text}`` per table (e.g. ``"CC-BY-4.0"``).
    version : the data version written into ``_meta``, the manifest and the README sheet.
    """

    tables: Mapping[str, "pd.DataFrame"]
    schemas: Mapping[str, Mapping[str, Any]]
    licences: Mapping[str, str] = field(default_factory=dict)
    version: str = __version__

    def __post_init__(self) -> None:
        missing = [n for n in self.tables if n not in self.schemas]
        if missing:
            raise ExportError(f"no Table Schema for table(s) {', '.join(missing)}; pass one per table")

    def schema_of(self, name: str) -> dict[str, Any]:
        """The Table Schema of ``name`` fitted to its frame: the frame's columns in its order,
        with columns the schema does not declare (e.g. labels added by a loader) as text."""
        schema = dict(self.schemas[name])
        declared = {f["name"]: f for f in schema.get("fields", [])}
        schema["fields"] = [declared.get(str(c), {"name": str(c), "type": "string"}) for c in self.tables[name].columns]
        return schema


def shipped(loader: Callable[[str], "pd.DataFrame"] | None = None) -> Package:
    """The shipped tables as a :class:`Package`.

    ``loader`` (default ``chokepoint_data.load``) is called with each table name; pass for
    example ``functools.partial(cd.load, labels=True)`` to export another view of the rows.
    """
    from .store import _loader

    load = _loader.load if loader is None else loader
    descriptor = _loader.datapackage()
    tables, schemas, licences = {}, {}, {}
    for res in descriptor["resources"]:
        name = res["name"]
        tables[name] = load(name)
        schemas[name] = res["schema"]
        licences[name] = ", ".join(str(lic.get("name", "")) for lic in res.get("licenses") or descriptor.get("licenses") or [])
    return Package(tables=tables, schemas=schemas, licences=licences, version=str(descriptor.get("version", __version__)))


# --------------------------------------------------------------------------- front door


def export(fmt: str, out: str | os.PathLike[str], *, package: Package | None = None, force: bool = False,
           safe_formulas: bool = False) -> list[Path]:
    """Export every table in format ``fmt`` (one of :data:`FORMATS`) to ``out``.

    ``out`` is a folder for ``csv`` and a file otherwise. Returns the paths written.

    Raises
    ------
    ExportError
        A bad target, a target this package did not write (without ``force``), data that
        the format cannot hold, or a missing optional dependency. The target is unchanged.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    target = _target_path(out)
    writers: dict[str, Callable[..., list[Path]]] = {"csv": to_csv, "xlsx": to_xlsx, "sqlite": to_sqlite, "duckdb": to_duckdb}
    if fmt == "csv":
        return to_csv(package or shipped(), target, force=force, safe_formulas=safe_formulas)
    _require(fmt)  # before loading anything
    return writers[fmt](package or shipped(), target, force=force)


def _require(fmt: str) -> None:
    module = {"xlsx": "openpyxl", "duckdb": "duckdb"}.get(fmt)
    if module is None:
        return
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise ExportError(f"{fmt} export needs {module}, which is not installed; {EXTRA_HINT}") from None


def _target_path(out: str | os.PathLike[str]) -> Path:
    if not isinstance(out, (str, os.PathLike)):
        raise ExportError(f"the export target must be a path, not {type(out).__name__}")
    text = os.fspath(out)
    if isinstance(text, bytes) or not str(text).strip():
        raise ExportError("the export target is empty; give a file (or, for csv, a folder) to write")
    if "\x00" in text:
        raise ExportError(f"the export target {text!r} contains a NUL character")
    return Path(text).expanduser().absolute()


# --------------------------------------------------------------------------- target checks


def _check_parent(target: Path) -> None:
    parent = target.parent
    if not parent.exists():
        raise ExportError(f"cannot export to {target}: the folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise ExportError(f"cannot export to {target}: {parent} is not a folder")


def _check_file_target(target: Path, force: bool, owned: Callable[[Path], bool], kind: str) -> None:
    if target.is_dir():
        raise ExportError(f"cannot export {kind} to {target}: it is a folder; give a file name")
    _check_parent(target)
    if target.exists() or target.is_symlink():
        if not force and not os.access(target, os.W_OK):
            raise ExportError(f"{target} is read-only; not replaced (use --force / force=True to replace it)")
        if not force and not owned(target):
            raise ExportError(f"{target} exists and was not written by chokepoint-data; not replaced "
                              f"(use --force / force=True to replace it, or choose another name)")


def _check_folder_target(target: Path, force: bool) -> None:
    if target.exists() and not target.is_dir():
        raise ExportError(f"cannot export csv to {target}: it is a file; csv export writes a folder")
    _check_parent(target)
    if target.is_dir() and not force and not _owned_csv(target):
        raise ExportError(f"{target} is a folder that chokepoint-data did not write (it has files and no {MANIFEST}); "
                          f"not replaced (use --force / force=True to replace it, or choose another folder)")


def _owned_sqlite(path: Path) -> bool:
    import sqlite3

    try:
        with open(path, "rb") as fh:
            if fh.read(16) != _SQLITE_MAGIC:
                return False
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = con.execute(f"SELECT count(*) FROM {META_TABLE} WHERE package = ?", (PACKAGE_NAME,)).fetchone()
        finally:
            con.close()
    except (OSError, sqlite3.Error):
        return False
    return bool(row and row[0])


def _owned_duckdb(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            if fh.read(12)[8:12] != b"DUCK":
                return False
    except OSError:
        return False
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            row = con.execute(f"SELECT count(*) FROM {META_TABLE} WHERE package = ?", [PACKAGE_NAME]).fetchone()
        finally:
            con.close()
    except duckdb.Error:
        return False
    return bool(row and row[0])


def _owned_xlsx(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            custom = zf.read("docProps/custom.xml")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return f'name="{XLSX_PROPERTY}"'.encode() in custom


def _owned_csv(folder: Path) -> bool:
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    if not entries:
        return True
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("package") == PACKAGE_NAME


# --------------------------------------------------------------------------- writing


def _run(kind: str, target: Path, action: Callable[[], None]) -> None:
    try:
        action()
    except ExportError:
        raise
    except OSError as exc:
        raise ExportError(f"{kind} export to {target} failed ({exc.strerror or exc}); the target is unchanged") from None


# --------------------------------------------------------------------------- values


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet would read ``text`` as a formula (``=``, ``+``, ``-``, ``@``
    at the start, also after white space, or a leading tab, carriage return or newline)."""
    return bool(_FORMULA_RE.match(text))


def _kinds(schema: Mapping[str, Any]) -> dict[str, str]:
    return {f["name"]: str(f.get("type", "string")) for f in schema.get("fields", [])}


def _is_na(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cell(kind: str, value: Any) -> Any:
    """A plain Python value (None, str, int, float, bool, datetime.date) for one cell."""
    if value is None or _is_na(value):
        return None
    if kind == "date":
        return value.date() if hasattr(value, "date") and callable(value.date) else value
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return bool(value)
    return str(value)


def _records(name: str, frame: "pd.DataFrame", schema: Mapping[str, Any]) -> list[list[Any]]:
    kinds = _kinds(schema)
    cols = [(c, kinds.get(str(c), "string")) for c in frame.columns]
    columns = [[_cell(kind, v) for v in frame[c].tolist()] for c, kind in cols]
    return [list(row) for row in zip(*columns)] if columns else []


# --------------------------------------------------------------------------- CSV


def to_csv(package: Package, out: Path, *, force: bool = False, safe_formulas: bool = False) -> list[Path]:
    """A folder of ``<table>.csv`` files plus ``_manifest.json`` (sha256 and rows of each file).

    With ``safe_formulas=True`` a text cell that a spreadsheet would read as a formula gets
    a leading apostrophe (``'=1+1``), the usual guard; numbers are never changed.
    """
    _check_folder_target(out, force)
    frames = {name: _safe_frame(df, package.schemas[name]) if safe_formulas else df for name, df in package.tables.items()}
    _step("checked")

    def write(folder: Path) -> None:
        files = {}
        for name, df in frames.items():
            data = df.to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n").encode("utf-8")
            (folder / f"{name}.csv").write_bytes(data)
            files[f"{name}.csv"] = {"table": name, "rows": len(df), "sha256": hashlib.sha256(data).hexdigest(),
                                    "licence": package.licences.get(name, "")}
            _step(f"write:{name}")
        manifest = {"package": PACKAGE_NAME, "version": package.version, "exported_at": _now(),
                    "safe_formulas": safe_formulas, "files": files}
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    _run("csv", out, lambda: write_folder(out, write))
    return [out / f"{name}.csv" for name in frames] + [out / MANIFEST]


def _safe_frame(df: "pd.DataFrame", schema: Mapping[str, Any]) -> "pd.DataFrame":
    kinds = _kinds(schema)
    out = df.copy()
    for col in df.columns:
        if kinds.get(str(col), "string") != "string":
            continue
        values = [None if _is_na(v) else str(v) for v in df[col].tolist()]
        if any(v is not None and looks_like_formula(v) for v in values):
            out[col] = [v if v is None or not looks_like_formula(v) else "'" + v for v in values]
    return out


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


# --------------------------------------------------------------------------- Excel


def _sheet_names(package: Package) -> dict[str, str]:
    names = {name: name[:EXCEL_SHEET_NAME_LIMIT] for name in package.tables}
    seen: dict[str, str] = {}
    for table, sheet in names.items():
        if not sheet or re.search(r"[\[\]:*?/\\]", sheet) or sheet.startswith("'") or sheet.endswith("'"):
            raise ExportError(f"xlsx: table {table!r} cannot be a sheet name (Excel refuses [ ] : * ? / \\ and "
                              f"leading or trailing apostrophes)")
        other = seen.get(sheet.lower())
        if other is not None or sheet.lower() == README_SHEET.lower():
            raise ExportError(f"xlsx: tables {other or README_SHEET!r} and {table!r} would share the sheet name "
                              f"{sheet!r} (Excel allows {EXCEL_SHEET_NAME_LIMIT} characters); rename one")
        seen[sheet.lower()] = table
    return names


def _xlsx_problems(package: Package, records: Mapping[str, list[list[Any]]]) -> list[str]:
    problems: list[str] = []
    for name, rows in records.items():
        columns = [str(c) for c in package.tables[name].columns]
        if len(rows) + 1 > EXCEL_ROW_LIMIT:
            problems.append(f"table {name!r} has {len(rows)} rows; an Excel sheet holds {EXCEL_ROW_LIMIT - 1} below its header")
        if len(columns) > EXCEL_COLUMN_LIMIT:
            problems.append(f"table {name!r} has {len(columns)} columns; an Excel sheet holds {EXCEL_COLUMN_LIMIT}")
        for col in columns:
            if len(col) > EXCEL_CELL_LIMIT or _XML_ILLEGAL_RE.search(col):
                problems.append(f"table {name!r}, column name {col[:40]!r}: cannot be an Excel cell")
        for i, row in enumerate(rows):
            for col, value in zip(columns, row):
                if not isinstance(value, str):
                    continue
                if len(value) > EXCEL_CELL_LIMIT:
                    problems.append(f"table {name!r}, row {i + 1} (sheet row {i + 2}), column {col!r}: the text has "
                                    f"{len(value)} characters, over Excel's cell limit of {EXCEL_CELL_LIMIT}")
                bad = _XML_ILLEGAL_RE.search(value)
                if bad:
                    problems.append(f"table {name!r}, row {i + 1} (sheet row {i + 2}), column {col!r}: control "
                                    f"character {bad.group()!r} cannot be stored in an Excel cell")
    return problems


def to_xlsx(package: Package, out: Path, *, force: bool = False) -> list[Path]:
    """One sheet per table plus a ``README`` sheet (data dictionary, licences, version).

    Every text cell is stored as text: a cell starting with ``=``, ``+``, ``-`` or ``@`` is
    never a live formula (it is also marked with Excel's quote prefix, so editing it keeps
    it text). Cells over 32,767 characters, control characters and sheet-size overflows are
    refused, by table, row and column, before anything is written.
    """
    _require("xlsx")
    _check_file_target(out, force, _owned_xlsx, "xlsx")
    sheets = _sheet_names(package)
    records = {name: _records(name, df, package.schemas[name]) for name, df in package.tables.items()}
    readme = _readme_rows(package)
    problems = _xlsx_problems(package, records)
    problems += _xlsx_problems(Package(tables={README_SHEET: _frame(readme)}, schemas={README_SHEET: {}}),
                               {README_SHEET: readme[1:]})
    if problems:
        raise ExportError("xlsx export refused, nothing written:\n  - " + "\n  - ".join(problems[:50])
                          + (f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""))
    _step("checked")

    def write(tmp: Path) -> None:
        import openpyxl
        from openpyxl.packaging.custom import StringProperty
        from openpyxl.styles import Font

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = README_SHEET
        _fill(ws, readme, Font)
        for name, rows in records.items():
            sheet = wb.create_sheet(sheets[name])
            _fill(sheet, [[str(c) for c in package.tables[name].columns]] + rows, Font)
            _step(f"write:{name}")
        wb.custom_doc_props.append(StringProperty(name=XLSX_PROPERTY, value=package.version))
        wb.properties.title = "chokepoint-data"
        wb.save(tmp)

    _run("xlsx", out, lambda: write_file(out, write))
    return [out]


def _frame(rows: list[list[Any]]) -> "pd.DataFrame":
    import pandas as pd

    width = max(len(r) for r in rows)
    return pd.DataFrame([r + [None] * (width - len(r)) for r in rows[1:]], columns=[f"c{i}" for i in range(width)])


def _fill(ws: Any, rows: Sequence[Sequence[Any]], font: Any) -> None:
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            cell = ws.cell(row=r, column=c)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # never "f": text is stored as text
                if looks_like_formula(value):
                    cell.quotePrefix = True
            elif isinstance(value, _dt.date):
                cell.number_format = "yyyy-mm-dd"
            if r == 1:
                cell.font = font(bold=True)


def _readme_rows(package: Package) -> list[list[Any]]:
    rows: list[list[Any]] = [
        ["chokepoint-data", "China's industrial choke points: a curated, cited, validated dataset"],
        ["version", package.version],
        ["exported", _now()],
        ["citation", "see the sources sheet: every fact row cites a source_id"],
        [],
        ["table", "rows", "licence", "primary key", "description"],
    ]
    for name, df in package.tables.items():
        sch = package.schemas[name]
        rows.append([name, len(df), package.licences.get(name, ""), ", ".join(sch.get("primaryKey") or []),
                     str(sch.get("description", ""))])
    rows += [[], ["table", "column", "type", "required", "values", "references", "description"]]
    for name in package.tables:
        sch = package.schemas[name]
        refs = {}
        for fk in sch.get("foreignKeys") or []:
            target = fk["reference"].get("resource") or name
            for f, r in zip(fk["fields"], fk["reference"]["fields"]):
                refs[f] = f"{target}.{r}"
        for f in sch.get("fields", []):
            c = f.get("constraints") or {}
            values = ", ".join(map(str, c["enum"])) if "enum" in c else (
                f"[{c.get('minimum', '')}, {c.get('maximum', '')}]" if ("minimum" in c or "maximum" in c) else "")
            rows.append([name, f["name"], f.get("type", "string"), "yes" if c.get("required") else "", values,
                         refs.get(f["name"], ""), str(f.get("description", ""))])
    return rows


# --------------------------------------------------------------------------- SQL


_SQL_TYPES = {
    "sqlite": {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "INTEGER", "date": "TEXT"},
    "duckdb": {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE"},
}


def _q(ident: str) -> str:
    return '"' + str(ident).replace('"', '""') + '"'


def _lit(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _foreign_keys(name: str, schema: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]]) -> list[tuple[list[str], str, list[str]]]:
    """(fields, target table, target fields) of every foreign key that points at a primary key
    of a table being written (SQL engines need the target to be a key)."""
    out = []
    for fk in schema.get("foreignKeys") or []:
        fields = [fk["fields"]] if isinstance(fk["fields"], str) else list(fk["fields"])
        ref = fk["reference"]
        target = ref.get("resource") or name
        ref_fields = [ref["fields"]] if isinstance(ref["fields"], str) else list(ref["fields"])
        if target in schemas and list(schemas[target].get("primaryKey") or []) == ref_fields:
            out.append((fields, target, ref_fields))
    return out


def create_table_sql(name: str, schema: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]], dialect: str) -> str:
    """``CREATE TABLE`` for one Table Schema: types, NOT NULL, enumerations as CHECK,
    the primary key and every foreign key whose target is a primary key."""
    types = _SQL_TYPES[dialect]
    lines = []
    for f in schema["fields"]:
        kind = str(f.get("type", "string"))
        c = f.get("constraints") or {}
        col = f"{_q(f['name'])} {types[kind]}"
        if c.get("required"):
            col += " NOT NULL"
        if "enum" in c and kind == "string":
            col += f" CHECK ({_q(f['name'])} IN ({', '.join(_lit(v) for v in c['enum'])}))"
        if kind == "boolean" and dialect == "sqlite":
            col += f" CHECK ({_q(f['name'])} IN (0, 1))"
        lines.append(col)
    pk = list(schema.get("primaryKey") or [])
    if pk:
        lines.append(f"PRIMARY KEY ({', '.join(_q(c) for c in pk)})")
    for fields, target, ref_fields in _foreign_keys(name, schema, schemas):
        clause = (f"FOREIGN KEY ({', '.join(_q(c) for c in fields)}) "
                  f"REFERENCES {_q(target)} ({', '.join(_q(c) for c in ref_fields)})")
        if dialect == "sqlite":
            clause += " DEFERRABLE INITIALLY DEFERRED"
        lines.append(clause)
    return f"CREATE TABLE {_q(name)} (\n  " + ",\n  ".join(lines) + "\n)"


def index_sql(name: str, schema: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One ``CREATE INDEX`` per foreign key (joins and the engines' own key checks use it)."""
    out = []
    for fields, _target, _ in _foreign_keys(name, schema, schemas):
        ix = f"ix_{name}_{'_'.join(fields)}"
        out.append(f"CREATE INDEX {_q(ix)} ON {_q(name)} ({', '.join(_q(c) for c in fields)})")
    return out


def views_sql(package: Package, dialect: str) -> dict[str, str]:
    """The SQL views written into SQLite and DuckDB exports, as ``{view name: SELECT ...}``.

    One ``<table>_labelled`` view per table with ids: the labels of ``load(name, labels=True)``
    as LEFT JOINs (see ``_views.sql_views``; the same SQL runs in both engines), over the
    tables this package exports. Each becomes ``CREATE VIEW <name> AS <select>`` after the tables.
    """
    from .store._views import sql_views

    return sql_views({name: package.schemas[name] for name in package.tables})


META_COLUMNS = ("table_name", "rows", "licence", "title", "package", "version", "exported_at")


def _meta_rows(package: Package) -> list[tuple[Any, ...]]:
    now = _now()
    return [(name, len(df), package.licences.get(name, ""), str(package.schemas[name].get("title", name)),
             PACKAGE_NAME, package.version, now) for name, df in package.tables.items()]


def _meta_sql(dialect: str) -> str:
    t = _SQL_TYPES[dialect]
    return (f"CREATE TABLE {META_TABLE} (table_name {t['string']} PRIMARY KEY, rows {t['integer']} NOT NULL, "
            f"licence {t['string']}, title {t['string']}, package {t['string']} NOT NULL, "
            f"version {t['string']} NOT NULL, exported_at {t['string']} NOT NULL)")


def _table_order(package: Package) -> list[str]:
    """Tables with every referenced table before the tables that point at it."""
    names = list(package.tables)
    done: list[str] = []
    visiting: set[str] = set()

    def visit(n: str) -> None:
        if n in done or n in visiting:
            return
        visiting.add(n)
        for _f, target, _r in _foreign_keys(n, package.schemas[n], package.schemas):
            if target != n and target in package.tables:
                visit(target)
        visiting.discard(n)
        done.append(n)

    for n in names:
        visit(n)
    return done


def _row_batches(name: str, schema: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]],
                 columns: Sequence[str], rows: list[list[Any]]) -> list[list[list[Any]]]:
    """Rows in batches such that a row pointing at its own table comes after its target."""
    selfrefs = [(f, r) for f, t, r in _foreign_keys(name, schema, schemas) if t == name]
    if not selfrefs:
        return [rows]
    idx = {c: i for i, c in enumerate(columns)}
    pk = list(schema.get("primaryKey") or [])
    have: set[tuple[Any, ...]] = set()
    left, batches = rows, []
    while left:
        ready: list[list[Any]] = []
        wait: list[list[Any]] = []
        for row in left:
            ok = all(any(row[idx[c]] is None for c in f) or tuple(row[idx[c]] for c in f) in have for f, _r in selfrefs)
            (ready if ok else wait).append(row)
        if not ready:  # a dangling or circular reference: let the engine name it
            ready, wait = wait, []
        batches.append(ready)
        have |= {tuple(row[idx[c]] for c in pk) for row in ready}
        left = wait
    return batches


def _sql_checks(package: Package, counts: Mapping[str, int], dialect: str) -> None:
    for name, df in package.tables.items():
        if counts.get(name) != len(df):
            raise ExportError(f"{dialect} export: table {name!r} has {counts.get(name)} rows after writing, "
                              f"{len(df)} expected; nothing replaced")


def to_sqlite(package: Package, out: Path, *, force: bool = False) -> list[Path]:
    """A SQLite database: tables with keys and indexes, views, and ``_meta``.

    Dates are ISO text (``YYYY-MM-DD``), booleans 0/1. Foreign keys are declared
    ``DEFERRABLE INITIALLY DEFERRED`` and checked when the export commits.
    """
    import sqlite3

    _check_file_target(out, force, _owned_sqlite, "sqlite")
    order = _table_order(package)
    records = {name: _records(name, package.tables[name], package.schema_of(name)) for name in order}
    _step("checked")

    def write(tmp: Path) -> None:
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("BEGIN")
            for name in order:
                schema = package.schema_of(name)
                columns = [str(c) for c in package.tables[name].columns]
                con.execute(create_table_sql(name, schema, package.schemas, "sqlite"))
                rows = [[int(v) if isinstance(v, bool) else v.isoformat() if isinstance(v, _dt.date) else v for v in row]
                        for row in records[name]]
                placeholders = ", ".join("?" for _ in columns)
                con.executemany(f"INSERT INTO {_q(name)} ({', '.join(_q(c) for c in columns)}) VALUES ({placeholders})", rows)
                for stmt in index_sql(name, schema, package.schemas):
                    con.execute(stmt)
                _step(f"write:{name}")
            _views_and_meta(con, package, "sqlite")
            bad = con.execute("PRAGMA foreign_key_check").fetchall()
            if bad:
                raise ExportError(f"sqlite export: {len(bad)} row(s) break a foreign key (first: table {bad[0][0]!r} "
                                  f"row {bad[0][1]} -> {bad[0][2]!r}); nothing replaced")
            con.execute("COMMIT")
            counts = {name: con.execute(f"SELECT count(*) FROM {_q(name)}").fetchone()[0] for name in order}
            if con.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise ExportError("sqlite export: the new database failed its integrity check; nothing replaced")
        except sqlite3.Error as exc:
            raise ExportError(f"sqlite export refused the data ({exc}); nothing replaced") from None
        finally:
            con.close()
        _sql_checks(package, counts, "sqlite")

    _run("sqlite", out, lambda: write_file(out, write))
    return [out]


def _views_and_meta(con: Any, package: Package, dialect: str) -> None:
    """The labelled views and the ``_meta`` table, the same in SQLite and DuckDB."""
    for view, select in views_sql(package, dialect).items():
        con.execute(f"CREATE VIEW {_q(view)} AS {select}")
    con.execute(_meta_sql(dialect))
    con.executemany(f"INSERT INTO {META_TABLE} VALUES ({', '.join('?' for _ in META_COLUMNS)})", _meta_rows(package))


def to_duckdb(package: Package, out: Path, *, force: bool = False) -> list[Path]:
    """A DuckDB database: typed tables (DATE, BOOLEAN, ...) with keys and indexes, views, ``_meta``."""
    _require("duckdb")
    import duckdb
    import pandas as pd

    _check_file_target(out, force, _owned_duckdb, "duckdb")
    order = _table_order(package)
    records = {name: _records(name, package.tables[name], package.schema_of(name)) for name in order}
    _step("checked")

    def write(tmp: Path) -> None:
        con = duckdb.connect(str(tmp))
        try:
            for name in order:
                schema = package.schema_of(name)
                columns = [str(c) for c in package.tables[name].columns]
                kinds = _kinds(schema)
                con.execute(create_table_sql(name, schema, package.schemas, "duckdb"))
                select = ", ".join(f"CAST({_q(c)} AS {_SQL_TYPES['duckdb'][kinds.get(c, 'string')]})" for c in columns)
                for batch in _row_batches(name, schema, package.schemas, columns, records[name]):
                    if not batch:
                        continue
                    src = pd.DataFrame(batch, columns=columns, dtype=object)
                    con.register("_src", src)
                    try:
                        con.execute(f"INSERT INTO {_q(name)} ({', '.join(_q(c) for c in columns)}) SELECT {select} FROM _src")
                    finally:
                        con.unregister("_src")
                for stmt in index_sql(name, schema, package.schemas):
                    con.execute(stmt)
                _step(f"write:{name}")
            _views_and_meta(con, package, "duckdb")
            counts = {name: (con.execute(f"SELECT count(*) FROM {_q(name)}").fetchone() or (0,))[0] for name in order}
            con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            raise ExportError(f"duckdb export refused the data ({exc}); nothing replaced") from None
        finally:
            con.close()
        _sql_checks(package, counts, "duckdb")
        wal = tmp.with_name(tmp.name + ".wal")
        if wal.exists():  # pragma: no cover - CHECKPOINT and close fold the log into the file
            raise ExportError("duckdb export left a write-ahead log; nothing replaced")

    _run("duckdb", out, lambda: write_file(out, write))
    return [out]
