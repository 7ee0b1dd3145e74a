"""The command line, run the way a user runs it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pandas as pd
import pytest

import chokepoint_data as cd


def run(*args: str, cwd=None):
    return subprocess.run([sys.executable, "-m", "chokepoint_data", *args], capture_output=True, text=True, cwd=cwd)


def test_summary_is_the_default():
    out = run()
    assert out.returncode == 0, out.stderr
    assert "chokepoint-data" in out.stdout and "market_shares" in out.stdout
    n = len(cd.load("chokepoints"))
    assert f"chokepoints {n:>13}" in " ".join(out.stdout.split("\n")) or str(n) in out.stdout


def test_list_describe_show():
    assert run("list").stdout.split() == cd.list_tables()
    d = run("describe", "indicators")
    assert d.returncode == 0 and "is_forecast" in d.stdout
    s = run("show", "policies", "--where", "policy_id=big-fund-3")
    assert s.returncode == 0 and "big-fund-3" in s.stdout


def test_unknown_table_exits_1_with_suggestion():
    out = run("describe", "policy")
    assert out.returncode == 1 and "policies" in out.stderr


def test_validate_command():
    out = run("validate")
    assert out.returncode == 0 and out.stdout.startswith("ok:")


def test_cite():
    assert run("cite").stdout.strip() == cd.citation()
    assert run("cite", "--bibtex").stdout.strip().startswith("@misc{")


@pytest.mark.parametrize("fmt", ["csv", "sqlite", "duckdb", "xlsx"])
def test_export_round_trips_row_counts(fmt, tmp_path):
    target = tmp_path / ("out" if fmt == "csv" else f"out.{fmt}")
    out = run("export", "--format", fmt, "--out", str(target))
    assert out.returncode == 0, out.stderr
    counts = {name: len(cd.load(name)) for name in cd.list_tables()}
    if fmt == "csv":
        got = {name: len(pd.read_csv(target / f"{name}.csv")) for name in counts}
    elif fmt == "sqlite":
        with sqlite3.connect(target) as con:
            got = {name: con.execute(f'select count(*) from "{name}"').fetchone()[0] for name in counts}
    elif fmt == "duckdb":
        import duckdb

        con = duckdb.connect(str(target), read_only=True)
        got = {name: con.execute(f'select count(*) from "{name}"').fetchone()[0] for name in counts}
        con.close()
    else:
        got = {name: len(df) for name, df in pd.read_excel(target, sheet_name=None).items()}
    assert got == counts


def test_summary_uses_the_status_rule_and_counts_sources_honestly():
    out = run("summary").stdout
    assert "rule: latest year among assessments graded at least medium" in out
    st = cd.status()
    assert f"{'dependent':<20} {int((st['status'] == 'dependent').sum()):>5}" in out
    assert "status of the leverage materials" in out
    assert "listed for context only" in out and "non-commercial" in out


def test_show_and_cite_commercial_only():
    full = run("show", "market_shares", "--rows", "100000").stdout
    kept = run("show", "market_shares", "--rows", "100000", "--commercial-only").stdout
    assert "eto-" in " ".join(cd.load("markets")["market_id"].astype(str))
    assert len(kept.splitlines()) < len(full.splitlines())
    assert len(kept.splitlines()) - 1 == len(cd.load("market_shares", commercial_only=True))
    assert "Emerging Technology Observatory" in run("cite").stdout
    assert "Emerging Technology Observatory" not in run("cite", "--commercial-only").stdout
