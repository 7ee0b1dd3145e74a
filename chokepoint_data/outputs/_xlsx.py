"""The Excel export: one sheet per table and a ``README`` sheet, every text cell stored as text."""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .._errors import ExportError
from ..store._atomic import step as _step, write_file
from ._common import Package, _check_file_target, _now, _records, _require, _run, looks_like_formula

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

XLSX_PROPERTY = "chokepoint-data"
EXCEL_CELL_LIMIT = 32_767
EXCEL_ROW_LIMIT = 1_048_576
EXCEL_COLUMN_LIMIT = 16_384
EXCEL_SHEET_NAME_LIMIT = 31
README_SHEET = "README"
_XML_ILLEGAL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _owned_xlsx(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            custom = zf.read("docProps/custom.xml")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return f'name="{XLSX_PROPERTY}"'.encode() in custom


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
