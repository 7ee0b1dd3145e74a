"""The SQLite export: tables with keys and indexes, the labelled views and ``_meta``."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Callable

from .._errors import ExportError
from ..store._atomic import step as _step, write_file
from ._common import PACKAGE_NAME, Package, _check_file_target, _records, _run
from ._sql import META_TABLE, _q, _sql_checks, _table_order, _views_and_meta, create_table_sql, index_sql

_SQLITE_MAGIC = b"SQLite format 3\x00"


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


def to_sqlite(package: Package, out: Path, *, force: bool = False,
              finish: Callable[[Any], None] | None = None) -> list[Path]:
    """A SQLite database: tables with keys and indexes, views, and ``_meta``.

    Dates are ISO text (``YYYY-MM-DD``), booleans 0/1. Foreign keys are declared
    ``DEFERRABLE INITIALLY DEFERRED`` and checked when the export commits. ``finish(con)``,
    if given, runs inside the same transaction after the views (the web view adds to its own
    copy there), before the key and integrity checks.
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
            if finish is not None:
                finish(con)
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
