"""``chokepoint-data show``: lines that fit the terminal, filters on every visible column, and a
filter that matches nothing saying so with the nearest values."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

import chokepoint_data as cd
from chokepoint_data.outputs import _show as show
from chokepoint_data.outputs._show import display_width


def run(*args: str, columns: int | None = None):
    env = dict(os.environ)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "chokepoint_data", *args], capture_output=True, text=True, env=env)


def widest(text: str) -> int:
    return max((display_width(line) for line in text.splitlines()), default=0)


@pytest.mark.parametrize("columns", [40, 80, 120])
def test_the_readme_example_fits_the_terminal(columns):
    """The README's own example printed 722-762 characters a line."""
    out = run("show", "policies", "--where", "policy_id=big-fund-3", "--labels", columns=columns)
    assert out.returncode == 0, out.stderr
    words = " ".join(out.stdout.split())
    assert "big-fund-3" in words and "National Integrated Circuit Industry Investment Fund" in words
    assert widest(out.stdout) <= columns


@pytest.mark.parametrize("table", cd.list_tables())
@pytest.mark.parametrize("labels", [False, True])
def test_every_table_fits_every_width(table, labels):
    frame = cd.load(table, labels=labels).head(25)
    for width in (20, 33, 80, 131):
        for full in (False, True):
            text = show.render(frame, width=width, full=full)
            assert widest(text) <= width, (table, width, full)


def test_wide_characters_count_twice():
    assert display_width("国家集成电路") == 12 and display_width("ASML") == 4 and display_width("e\u0301") == 1
    frame = pd.DataFrame({"id": ["x"], "name_zh": ["国家集成电路产业投资基金三期股份有限公司" * 3]})
    for width in (21, 30, 45):
        assert widest(show.render(frame, width=width)) <= width
        assert widest(show.render(frame, width=width, full=True)) <= width


def test_full_keeps_every_word_and_machine_formats_every_cell():
    pol = cd.load("policies")
    row = pol[pol.policy_id == "big-fund-3"]
    text = show.render(row, width=60, full=True)
    assert widest(text) <= 60
    assert " ".join(str(row.description.iloc[0]).split()) in " ".join(
        line[len("description"):].strip() if line.startswith("description") else line.strip()
        for line in text.splitlines() if line.startswith(("description", " ")))
    out = run("show", "policies", "--format", "csv", "--rows", "1000")
    assert pd.read_csv(io.StringIO(out.stdout))["description"].tolist() == pol["description"].astype(object).where(
        pol["description"].notna(), float("nan")).tolist()[: len(pol)]
    records = json.loads(run("show", "policies", "--where", "policy_id=big-fund-3", "--format", "json").stdout)
    assert records[0]["description"] == row.description.iloc[0] and records[0]["announced"] == "2024-05-24"


def test_a_cut_cell_says_how_to_see_it_whole():
    frame = pd.DataFrame({"id": ["a", "b"], "text": ["word " * 40, "short"]})
    text = show.render(frame, width=80)
    assert "…" in text and "--full" in text and widest(text) <= 80


def _as_typed(value) -> str:
    return show._text(value)


@pytest.mark.parametrize("table", cd.list_tables())
def test_where_works_on_every_column_the_labelled_table_shows(table):
    """Each column's first value, written as ``show`` prints it, finds its row again."""
    frame = cd.load(table, labels=True)
    for column in frame.columns:
        present = frame[column].dropna()
        if present.empty:
            continue
        index = present.index[0]
        value = _as_typed(present.iloc[0])
        if "\n" in value or "\t" in value:
            continue  # cannot be typed on one command line as printed; the text itself is compared
        kept = show.where(frame, [f"{column}={value}"], table)
        assert index in kept.index, (table, column, value)


def test_where_reads_numbers_dates_flags_and_empty_values():
    shares = cd.load("market_shares")
    assert len(show.where(shares, ["share=0.815"], "market_shares")) == (shares.share == 0.815).sum() > 0
    assert set(show.where(shares, ["is_derived=true"], "market_shares").is_derived) == {True}
    pol = cd.load("policies")
    assert show.where(pol, ["announced=2024-05-24"], "policies").policy_id.tolist() == \
        pol[pol.announced == pd.Timestamp("2024-05-24")].policy_id.tolist()
    assert show.where(pol, ["ended="], "policies").ended.isna().all()


def test_where_on_a_label_column_without_labels():
    out = run("show", "market_shares", "--where", "holder_name=ASML", "--format", "csv", "--rows", "1000")
    assert out.returncode == 0, out.stderr
    got = pd.read_csv(io.StringIO(out.stdout))
    assert set(got.holder) == {"asml"} and "holder_name" not in got.columns
    assert len(got) == (cd.load("market_shares").holder == "asml").sum()
    labelled = run("show", "market_shares", "--where", "holder_name=ASML", "--labels", "--format", "csv", "--rows", "1000")
    assert set(pd.read_csv(io.StringIO(labelled.stdout)).holder_name) == {"ASML"}
    countries = run("show", "policies", "--where", "jurisdiction_name=Netherlands", "--format", "csv")
    assert countries.returncode == 0 and set(pd.read_csv(io.StringIO(countries.stdout)).jurisdiction) == {"NLD"}


def test_a_filter_that_matches_nothing_says_so_with_the_nearest_values():
    out = run("show", "market_shares", "--where", "holder=ASML")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "no rows of market_shares where holder = 'ASML'" in out.stderr and "asml" in out.stderr
    close = run("show", "chokepoints", "--where", "chokepoint_id=lithography-machine")
    assert close.returncode == 1 and "lithography-machines" in close.stderr
    with pytest.raises(show.NoMatch, match="nearest values of name_en: .*ASML"):
        show.where(cd.load("companies"), ["name_en=asml"], "companies")


def test_an_unknown_column_names_the_nearest():
    out = run("show", "market_shares", "--where", "hodler=asml")
    assert out.returncode == 2 and "did you mean holder" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("width", ["10", "x"])
def test_width_is_checked(width):
    out = run("show", "policies", "--width", width)
    assert out.returncode == 2 and "--width" in out.stderr
