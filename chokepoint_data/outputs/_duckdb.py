"""The DuckDB export: typed tables (DATE, BOOLEAN, ...) with keys and indexes, the labelled views and ``_meta``."""

from __future__ import annotations

from pathlib import Path

from .._errors import ExportError
from ..store._atomic import step as _step, write_file
from ._common import PACKAGE_NAME, Package, _check_file_target, _kinds, _records, _require, _run
from ._sql import _SQL_TYPES, META_TABLE, _q, _row_batches, _sql_checks, _table_order, _views_and_meta, create_table_sql, index_sql


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
            if isinstance(exc, getattr(duckdb, "InterruptException", ())):  # Ctrl-C inside DuckDB: an interrupt, not bad data
                raise KeyboardInterrupt from None
            raise ExportError(f"duckdb export refused the data ({exc}); nothing replaced") from None
        finally:
            con.close()
        _sql_checks(package, counts, "duckdb")
        wal = tmp.with_name(tmp.name + ".wal")
        if wal.exists():  # pragma: no cover - CHECKPOINT and close fold the log into the file
            raise ExportError("duckdb export left a write-ahead log; nothing replaced")

    _run("duckdb", out, lambda: write_file(out, write))
    return [out]
