"""Exports: never destroy, never overwrite what is not ours, keys in SQL, text stays text."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import chokepoint_data as cd
from chokepoint_data import ExportError, export as ex
from chokepoint_data.store import _atomic

FILE_FORMATS = ("xlsx", "sqlite", "duckdb")


@pytest.fixture(scope="module")
def package():
    return ex.shipped()


def _target(base: Path, fmt: str) -> Path:
    return base / ("out" if fmt == "csv" else f"out.{fmt}")


def _snapshot(path: Path) -> dict[str, str]:
    """sha256 of a file, or of every file in a folder (by name)."""
    if path.is_dir():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir())}
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _counts(path: Path, fmt: str) -> dict[str, int]:
    names = cd.list_tables()
    if fmt == "csv":
        manifest = json.loads((path / "_manifest.json").read_text())
        for fname, entry in manifest["files"].items():
            assert hashlib.sha256((path / fname).read_bytes()).hexdigest() == entry["sha256"], fname
        return {n: len(pd.read_csv(path / f"{n}.csv")) for n in names}
    if fmt == "sqlite":
        with sqlite3.connect(path) as con:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            return {n: con.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}
    if fmt == "duckdb":
        import duckdb

        con = duckdb.connect(str(path), read_only=True)
        try:
            return {n: con.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}
        finally:
            con.close()
    return {n: len(df) for n, df in pd.read_excel(path, sheet_name=None).items() if n != "README"}


def _expected_counts() -> dict[str, int]:
    return {n: len(cd.load(n)) for n in cd.list_tables()}


# ----------------------------------------------------------------- killed exports


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from chokepoint_data import export as ex
    from chokepoint_data.store import _atomic
    fmt, out, step = sys.argv[1:4]
    def hook(name):
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)
    _atomic._STEP_HOOK = hook
    ex.export(fmt, out)
    print("finished without reaching", step)
""")


@pytest.mark.parametrize("fmt", ["csv", *FILE_FORMATS])
@pytest.mark.parametrize("step", ["write:sources", "replace", "replaced"])
def test_killed_export_leaves_old_intact_or_new_complete(tmp_path, fmt, step):
    out = _target(tmp_path, fmt)
    ex.export(fmt, out)
    before = _snapshot(out)
    result = subprocess.run([sys.executable, "-c", KILL_SCRIPT, fmt, str(out), step], capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr
    if step == "replaced":  # killed after the rename: the new export, complete
        assert _counts(out, fmt) == _expected_counts()
    else:  # killed before it: the old export, byte for byte
        assert _snapshot(out) == before
        assert _leftovers(tmp_path), "a killed export leaves its temporary folder (removed by the next export)"
    ex.export(fmt, out)  # the next export cleans up and completes
    assert _leftovers(tmp_path) == []
    assert _counts(out, fmt) == _expected_counts()


@pytest.mark.parametrize("fmt", ["csv", *FILE_FORMATS])
def test_failed_export_leaves_old_bytes_and_no_temp(tmp_path, fmt, monkeypatch):
    out = _target(tmp_path, fmt)
    ex.export(fmt, out)
    before = _snapshot(out)

    class Boom(Exception):
        pass

    def hook(name):
        if name == "written":
            raise Boom(name)

    monkeypatch.setattr(_atomic, "_STEP_HOOK", hook)
    with pytest.raises(Boom):
        ex.export(fmt, out)
    assert _snapshot(out) == before
    assert _leftovers(tmp_path) == []


# ----------------------------------------------------------------- targets


@pytest.mark.parametrize("fmt", ["csv", *FILE_FORMATS])
def test_empty_target_refused(fmt):
    with pytest.raises(ExportError, match="empty"):
        ex.export(fmt, "")


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_file_format_refuses_a_folder(tmp_path, fmt):
    (tmp_path / "d").mkdir()
    with pytest.raises(ExportError, match="it is a folder"):
        ex.export(fmt, tmp_path / "d")
    assert list((tmp_path / "d").iterdir()) == []


def test_csv_refuses_a_file(tmp_path):
    f = tmp_path / "f.csv"
    f.write_bytes(b"mine")
    with pytest.raises(ExportError, match="it is a file"):
        ex.export("csv", f, force=True)
    assert f.read_bytes() == b"mine"


@pytest.mark.parametrize("fmt", ["csv", *FILE_FORMATS])
def test_missing_parent_refused(tmp_path, fmt):
    with pytest.raises(ExportError, match=r"nodir does not exist"):
        ex.export(fmt, _target(tmp_path / "nodir", fmt))
    assert not (tmp_path / "nodir").exists()


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_file_not_written_by_us_is_not_replaced(tmp_path, fmt):
    out = _target(tmp_path, fmt)
    out.write_bytes(b"someone's thesis")
    with pytest.raises(ExportError, match="not written by chokepoint-data") as err:
        ex.export(fmt, out)
    assert str(out) in str(err.value)
    assert out.read_bytes() == b"someone's thesis"
    assert _leftovers(tmp_path) == []
    ex.export(fmt, out, force=True)
    assert _counts(out, fmt) == _expected_counts()


def test_foreign_sqlite_database_is_not_replaced(tmp_path):
    out = tmp_path / "app.sqlite"
    with sqlite3.connect(out) as con:
        con.execute("create table users(id integer)")
    before = _snapshot(out)
    with pytest.raises(ExportError, match="not written by chokepoint-data"):
        ex.export("sqlite", out)
    assert _snapshot(out) == before


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write read-only files")
@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_read_only_export_is_not_replaced(tmp_path, fmt):
    out = _target(tmp_path, fmt)
    ex.export(fmt, out)
    before = _snapshot(out)
    out.chmod(0o444)
    with pytest.raises(ExportError, match="read-only"):
        ex.export(fmt, out)
    assert _snapshot(out) == before


def test_read_only_check_also_for_root(tmp_path, monkeypatch):
    """The read-only refusal, independent of who runs the test."""
    out = tmp_path / "out.sqlite"
    out.write_bytes(b"x")
    monkeypatch.setattr(ex.os, "access", lambda path, mode: False)
    with pytest.raises(ExportError, match="read-only"):
        ex.export("sqlite", out)
    assert out.read_bytes() == b"x"


def test_csv_folder_not_written_by_us_is_not_replaced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="did not write"):
        ex.export("csv", out)
    assert (out / "notes.txt").read_text() == "keep me"
    # an existing empty folder is fine
    (tmp_path / "empty").mkdir()
    ex.export("csv", tmp_path / "empty")
    assert (tmp_path / "empty" / "_manifest.json").exists()


@pytest.mark.parametrize("fmt,module", [("duckdb", "duckdb"), ("xlsx", "openpyxl")])
def test_missing_optional_dependency_names_the_extra(tmp_path, monkeypatch, fmt, module):
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    with pytest.raises(ExportError, match=r"pip install 'chokepoint-data\[export\]'"):
        ex.export(fmt, tmp_path / f"out.{fmt}")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------- SQL structure


def _fk_pairs(schemas):
    for name, sch in schemas.items():
        for fk in sch.get("foreignKeys", []):
            yield name, fk["fields"], fk["reference"].get("resource") or name, fk["reference"]["fields"]


def test_sqlite_has_keys_indexes_and_meta(tmp_path, schemas):
    out = tmp_path / "x.sqlite"
    ex.export("sqlite", out)
    con = sqlite3.connect(out)
    try:
        for name, sch in schemas.items():
            info = con.execute(f'PRAGMA table_info("{name}")').fetchall()
            pk = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]]
            assert pk == sch["primaryKey"], name
        for name, fields, target, ref in _fk_pairs(schemas):
            fks = con.execute(f'PRAGMA foreign_key_list("{name}")').fetchall()
            assert any(r[2] == target and r[3] == fields[0] and r[4] == ref[0] for r in fks), (name, fields)
            indexed = {con.execute(f'PRAGMA index_info("{ix[1]}")').fetchall()[0][2]
                       for ix in con.execute(f'PRAGMA index_list("{name}")').fetchall()}
            assert fields[0] in indexed, (name, fields)
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        meta = con.execute("select table_name, rows, licence, package, version, exported_at from _meta").fetchall()
        assert {m[0]: m[1] for m in meta} == _expected_counts()
        assert all(m[2] and m[3] == "chokepoint-data" and m[4] == cd.__version__ and m[5] for m in meta)
    finally:
        con.close()


def test_duckdb_has_keys_indexes_and_meta(tmp_path, schemas):
    import duckdb

    out = tmp_path / "x.duckdb"
    ex.export("duckdb", out)
    con = duckdb.connect(str(out), read_only=True)
    try:
        cons = con.execute("select table_name, constraint_type, constraint_column_names from duckdb_constraints()").fetchall()
        for name, sch in schemas.items():
            assert (name, "PRIMARY KEY", sch["primaryKey"]) in cons, name
        indexes = con.execute("select table_name, expressions from duckdb_indexes()").fetchall()
        for name, fields, target, ref in _fk_pairs(schemas):
            assert (name, "FOREIGN KEY", fields) in cons, (name, fields)
            assert (name, f"[{fields[0]}]") in indexes, (name, fields)
        types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                 "where table_name = 'sources'").fetchall())
        assert types["accessed"] == "DATE"
        meta = dict(con.execute("select table_name, rows from _meta").fetchall())
        assert meta == _expected_counts()
    finally:
        con.close()


def test_sql_follows_the_table_schemas_for_a_new_table(tmp_path, package):
    """A table the package does not know yet gets its keys from its Table Schema alone."""
    extra = {"fields": [{"name": "widget_id", "type": "string", "constraints": {"required": True}},
                        {"name": "source_id", "type": "string"}],
             "primaryKey": ["widget_id"],
             "foreignKeys": [{"fields": ["source_id"], "reference": {"resource": "sources", "fields": ["source_id"]}}]}
    frame = pd.DataFrame({"widget_id": ["w1"], "source_id": [package.tables["sources"]["source_id"].iloc[0]]})
    pkg = ex.Package(tables={"widgets": frame, **package.tables}, schemas={"widgets": extra, **package.schemas},
                     licences=package.licences)
    ex.to_sqlite(pkg, tmp_path / "x.sqlite")
    con = sqlite3.connect(tmp_path / "x.sqlite")
    try:
        assert con.execute('PRAGMA foreign_key_list("widgets")').fetchall()[0][2] == "sources"
        assert con.execute('PRAGMA index_list("widgets")').fetchall()
    finally:
        con.close()
    ex.to_duckdb(pkg, tmp_path / "x.duckdb")  # sources is written before metrics though listed after


def test_sql_export_refuses_a_dangling_foreign_key(tmp_path, package):
    tables = dict(package.tables)
    rows = tables["assessments"].copy()
    rows["source_id"] = rows["source_id"].astype("string")
    rows.loc[0, "source_id"] = "no-such-source"
    tables["assessments"] = rows
    pkg = ex.Package(tables=tables, schemas=package.schemas, licences=package.licences)
    for fmt, fn in (("sqlite", ex.to_sqlite), ("duckdb", ex.to_duckdb)):
        with pytest.raises(ExportError, match="foreign key"):
            fn(pkg, tmp_path / f"x.{fmt}")
        assert not (tmp_path / f"x.{fmt}").exists()
    assert _leftovers(tmp_path) == []


def test_views_hook_is_written(tmp_path, package, monkeypatch):
    from chokepoint_data.outputs import _sql  # where the databases read the views from

    monkeypatch.setattr(_sql, "views_sql", lambda pkg, dialect: {"v_sources": 'SELECT source_id FROM "sources"'})
    ex.to_sqlite(package, tmp_path / "x.sqlite")
    with sqlite3.connect(tmp_path / "x.sqlite") as con:
        assert con.execute("select count(*) from v_sources").fetchone()[0] == len(package.tables["sources"])


# ----------------------------------------------------------------- hostile text


FORMULAS = ['=HYPERLINK("http://example.invalid","x")', "+1+1", "-2+3", "@SUM(A1)", "  =1+1", "\t=1", "=", "plain"]


def _hostile_package(package, column_values):
    tables = dict(package.tables)
    src = tables["sources"].head(len(column_values)).copy()
    src["title"] = pd.array(column_values, dtype="string")
    tables = {"sources": src}
    return ex.Package(tables=tables, schemas={"sources": package.schemas["sources"]}, licences=package.licences)


def test_xlsx_writes_formula_like_cells_as_text(tmp_path, package):
    import openpyxl

    out = tmp_path / "x.xlsx"
    ex.to_xlsx(_hostile_package(package, FORMULAS), out)
    with zipfile.ZipFile(out) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/")]
        assert not any(b"<f>" in zf.read(n) or b"<f " in zf.read(n) for n in sheets)
    ws = openpyxl.load_workbook(out)["sources"]
    col = [c.value for c in ws[1]].index("title") + 1
    cells = [ws.cell(row=r, column=col) for r in range(2, 2 + len(FORMULAS))]
    assert [c.value for c in cells] == FORMULAS
    assert all(c.data_type == "s" for c in cells)
    assert all(c.quotePrefix for c, v in zip(cells, FORMULAS) if v != "plain")


def test_xlsx_readme_sheet_has_dictionary_and_licences(tmp_path):
    out = tmp_path / "x.xlsx"
    ex.export("xlsx", out)
    import openpyxl

    ws = openpyxl.load_workbook(out)["README"]
    text = "\n".join(" ".join("" if v is None else str(v) for v in row) for row in ws.iter_rows(values_only=True))
    assert "CC-BY-4.0" in text and cd.__version__ in text
    for name in cd.list_tables():
        for col in cd.describe(name)["column"]:
            assert f"{name} {col} " in text, (name, col)


def test_xlsx_cell_over_excel_limit_is_refused_by_name(tmp_path, package):
    out = tmp_path / "x.xlsx"
    ex.export("xlsx", out)
    before = _snapshot(out)
    long = "x" * (ex.EXCEL_CELL_LIMIT + 1)
    with pytest.raises(ExportError) as err:
        ex.to_xlsx(_hostile_package(package, ["ok", long]), out)
    msg = str(err.value)
    assert "'sources'" in msg and "row 2" in msg and "'title'" in msg and "32767" in msg
    assert _snapshot(out) == before and _leftovers(tmp_path) == []


def test_xlsx_control_character_is_refused_by_name(tmp_path, package):
    with pytest.raises(ExportError) as err:
        ex.to_xlsx(_hostile_package(package, ["ok", "bell\x07"]), tmp_path / "x.xlsx")
    assert "row 2" in str(err.value) and "'title'" in str(err.value)
    assert not (tmp_path / "x.xlsx").exists()


def test_csv_safe_formulas_option(tmp_path, package):
    pkg = _hostile_package(package, FORMULAS)
    ex.to_csv(pkg, tmp_path / "plain")
    ex.to_csv(pkg, tmp_path / "safe", safe_formulas=True)
    plain = pd.read_csv(tmp_path / "plain" / "sources.csv", keep_default_na=False)["title"].tolist()
    safe = pd.read_csv(tmp_path / "safe" / "sources.csv", keep_default_na=False)["title"].tolist()
    assert plain == FORMULAS
    assert safe == [v if v == "plain" else "'" + v for v in FORMULAS]
    assert json.loads((tmp_path / "safe" / "_manifest.json").read_text())["safe_formulas"] is True


def test_csv_safe_formulas_leaves_numbers_alone(tmp_path):
    schema = {"fields": [{"name": "x", "type": "number"}, {"name": "t", "type": "string"}], "primaryKey": ["t"]}
    frame = pd.DataFrame({"x": pd.array([-1.5, 2.0], dtype="Float64"), "t": pd.array(["-a", "b"], dtype="string")})
    ex.to_csv(ex.Package(tables={"t": frame}, schemas={"t": schema}), tmp_path / "safe", safe_formulas=True)
    assert (tmp_path / "safe" / "t.csv").read_text() == "x,t\n-1.5,'-a\n2.0,b\n"


def test_cli_export_force_and_safe_formulas(tmp_path):
    out = tmp_path / "x.sqlite"
    out.write_bytes(b"not ours")
    run = lambda *a: subprocess.run([sys.executable, "-m", "chokepoint_data", "export", *a],  # noqa: E731
                                    capture_output=True, text=True)
    r = run("--format", "sqlite", "--out", str(out))
    assert r.returncode == 1 and "--force" in r.stderr and "Traceback" not in r.stderr
    assert out.read_bytes() == b"not ours"
    r = run("--format", "sqlite", "--out", str(out), "--force")
    assert r.returncode == 0, r.stderr
    r = run("--format", "csv", "--out", str(tmp_path / "c"), "--safe-formulas")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("names", [("a" * 31 + "x", "a" * 31 + "y"), ("readme",), ("a/b",)])
def test_xlsx_sheet_names_excel_cannot_hold_are_refused(tmp_path, names):
    schema = {"fields": [{"name": "t", "type": "string"}]}
    frame = pd.DataFrame({"t": ["x"]})
    pkg = ex.Package(tables={n: frame for n in names}, schemas={n: schema for n in names})
    with pytest.raises(ExportError, match="sheet name"):
        ex.to_xlsx(pkg, tmp_path / "x.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_sql_exports_take_columns_the_schema_does_not_declare(tmp_path, package):
    """A loader may add columns (labels next to ids); they are exported as text."""
    tables = dict(package.tables)
    tables["companies"] = tables["companies"].assign(source_publisher="x")
    pkg = ex.Package(tables=tables, schemas=package.schemas, licences=package.licences)
    ex.to_sqlite(pkg, tmp_path / "x.sqlite")
    ex.to_duckdb(pkg, tmp_path / "x.duckdb")
    with sqlite3.connect(tmp_path / "x.sqlite") as con:
        assert con.execute("select count(*) from companies where source_publisher = 'x'").fetchone()[0] == len(tables["companies"])
