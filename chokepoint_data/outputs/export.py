"""Exports: the tables as a CSV folder, an Excel workbook, a SQLite or a DuckDB database.

This module is the front door (``export()``) and the names documented since 0.1; each format
is one module beside it (``_csv``, ``_xlsx``, ``_sqlite``, ``_duckdb``, with ``_sql`` shared
by the two databases and ``_common`` by all), and every one of them writes through the
store's atomic writer.

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

import os
from pathlib import Path
from typing import Callable

from .._errors import ExportError, check_flag
from ..store._targets import target_path
from ._common import Package, _require, looks_like_formula, shipped
from ._csv import MANIFEST, to_csv  # noqa: F401 - MANIFEST and the other constants: names of this module since 0.1
from ._duckdb import to_duckdb
from ._sql import META_TABLE, create_table_sql, index_sql, views_sql  # noqa: F401
from ._sqlite import to_sqlite
from ._xlsx import EXCEL_CELL_LIMIT, XLSX_PROPERTY, to_xlsx  # noqa: F401

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
    check_flag("export", "force", force)
    check_flag("export", "safe_formulas", safe_formulas)
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    target = _target_path(out)
    writers: dict[str, Callable[..., list[Path]]] = {"csv": to_csv, "xlsx": to_xlsx, "sqlite": to_sqlite, "duckdb": to_duckdb}
    if fmt == "csv":
        return to_csv(package or shipped(), target, force=force, safe_formulas=safe_formulas)
    _require(fmt)  # before loading anything
    return writers[fmt](package or shipped(), target, force=force)


def _target_path(out: str | os.PathLike[str]) -> Path:
    return target_path(out, "the export target")
