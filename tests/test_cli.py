"""The command line, run the way a user runs it."""

from __future__ import annotations

import re

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
        got = {name: len(df) for name, df in pd.read_excel(target, sheet_name=None).items() if name != "README"}
    assert got == counts


def test_summary_uses_the_status_rule_and_counts_sources_honestly():
    out = run("summary").stdout
    assert "rule: latest year among assessments graded at least medium" in out
    st = cd.status()
    n = int((st['status'] == 'dependent').sum())
    assert re.search(rf"^  dependent +{n}\b", out, re.M), out
    assert "status of the leverage materials" in out
    assert "listed for context only" in out and "non-commercial" in out


def test_show_and_cite_commercial_only():
    import io

    full = pd.read_csv(io.StringIO(run("show", "market_shares", "--rows", "100000", "--format", "csv").stdout))
    kept = pd.read_csv(io.StringIO(run("show", "market_shares", "--rows", "100000", "--commercial-only",
                                       "--format", "csv").stdout))
    assert "eto-" in " ".join(cd.load("markets")["market_id"].astype(str))
    assert len(kept) < len(full) == len(cd.load("market_shares"))
    assert len(kept) == len(cd.load("market_shares", commercial_only=True))
    assert "Emerging Technology Observatory" in run("cite").stdout
    assert "Emerging Technology Observatory" not in run("cite", "--commercial-only").stdout
# --- hostile text and bad invocations (issue 12) -------------------------------------------------


def test_show_never_writes_control_characters(monkeypatch, capsys):
    from chokepoint_data import cli
    from chokepoint_data.store import _loader

    frame = cd.load("policies").head(2).copy()
    frame["name_en"] = frame["name_en"].astype("string")
    frame.loc[0, "name_en"] = "evil\x1b[2J\x1b]0;owned\x07 \u202etxt.exe \x00\x9b"
    real = _loader.load
    monkeypatch.setattr(_loader, "load", lambda name, **kw: frame if name == "policies" else real(name, **kw))
    assert cli.main(["show", "policies"]) == 0
    out = capsys.readouterr().out
    assert not any(ch in out for ch in "\x1b\x07\x00\x9b\u202e")
    assert "\\x1b[2J" in out and "\\u202e" in out and "evil" in out


def test_error_messages_never_write_control_characters(capsys):
    from chokepoint_data import cli

    assert cli.main(["describe", "bad\x1b[31m"]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b" in err


@pytest.mark.parametrize("rows", ["-1", "-20", "x", "1.5"])
def test_show_refuses_bad_row_counts(rows):
    out = run("show", "policies", "--rows", rows)
    assert out.returncode == 2 and "--rows" in out.stderr and "Traceback" not in out.stderr


def test_no_bad_invocation_prints_a_traceback(tmp_path, source_copy):
    foreign = tmp_path / "foreign.sqlite"
    foreign.write_bytes(b"not ours")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    empty = tmp_path / "empty"
    empty.mkdir()
    bad_schema = source_copy
    (bad_schema / "schemas" / "sources.json").write_text('{"fields": [{"name": "x", "type": "text"}]}')
    cases = [
        (2, ["nosuchcommand"]), (2, ["show"]), (2, ["show", "policies", "--rows", "-1"]),
        (2, ["show", "policies", "--where", "novalue"]), (2, ["show", "policies", "--where", "nocolumn=1"]),
        (2, ["export", "--format", "pdf", "--out", str(tmp_path / "x")]), (2, ["export", "--format", "csv"]),
        (1, ["describe", "nope"]), (1, ["show", "nope"]),
        (1, ["export", "--format", "sqlite", "--out", ""]),
        (1, ["export", "--format", "sqlite", "--out", str(tmp_path)]),
        (1, ["export", "--format", "xlsx", "--out", str(tmp_path / "missing" / "x.xlsx")]),
        (1, ["export", "--format", "csv", "--out", str(a_file)]),
        (1, ["export", "--format", "sqlite", "--out", str(foreign)]),
        (1, ["export", "--format", "duckdb", "--out", str(foreign)]),
        (1, ["build", "--root", str(empty)]), (1, ["build", "--root", str(a_file)]),
        (1, ["build", "--root", str(bad_schema)]),
        (1, ["build", "--root", str(bad_schema), "--out", str(a_file)]),
    ]
    for code, argv in cases:
        out = run(*argv)
        assert "Traceback" not in out.stderr + out.stdout, (argv, out.stderr[-2000:])
        assert out.returncode == code, (argv, out.returncode, out.stderr[-500:])
        assert out.stderr.strip(), argv
    assert foreign.read_bytes() == b"not ours" and a_file.read_text() == "x"


def test_closed_pipe_exits_quietly():
    proc = subprocess.Popen([sys.executable, "-m", "chokepoint_data", "show", "sources", "--rows", "100000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()  # the reader leaves, as `| head -1` does
    err = proc.stderr.read().decode()
    proc.stderr.close()
    proc.wait()
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_export_commercial_only_holds_no_noncommercial_row(tmp_path):
    out = tmp_path / "c.sqlite"
    res = run("export", "--format", "sqlite", "--out", str(out), "--commercial-only")
    assert res.returncode == 0, res.stderr
    with sqlite3.connect(out) as con:
        n = con.execute("SELECT COUNT(*) FROM market_shares").fetchone()[0]
        eto = con.execute("SELECT COUNT(*) FROM markets WHERE source_id LIKE 'eto-%'").fetchone()[0]
    assert n == len(cd.load("market_shares", commercial_only=True)) and eto == 0


def test_every_subcommand_has_a_function():
    """A command added to the parser without an entry in the table would end in a KeyError traceback."""
    import argparse

    from chokepoint_data import cli

    sub = next(a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) | {None} == set(cli._COMMANDS)
