"""What the SQLite and DuckDB exports share: the DDL of a Table Schema (types, keys, indexes),
the labelled views, the ``_meta`` table, and the order in which tables and rows go in."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .._errors import ExportError
from ._common import PACKAGE_NAME, Package, _now

META_TABLE = "_meta"


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
    as LEFT JOINs (see ``_views.sql_views``; the same SQL runs in both engines), country names
    included (those of the codes the exported rows hold), and a ``licence`` column per row,
    over the tables this package exports. Each becomes ``CREATE VIEW <name> AS <select>`` after
    the tables.
    """
    from ..store._views import country_names, sql_views

    return sql_views({name: package.schemas[name] for name in package.tables}, country_names(package.tables))


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


def _views_and_meta(con: Any, package: Package, dialect: str) -> None:
    """The labelled views and the ``_meta`` table, the same in SQLite and DuckDB."""
    for view, select in views_sql(package, dialect).items():
        con.execute(f"CREATE VIEW {_q(view)} AS {select}")
    con.execute(_meta_sql(dialect))
    con.executemany(f"INSERT INTO {META_TABLE} VALUES ({', '.join('?' for _ in META_COLUMNS)})", _meta_rows(package))
