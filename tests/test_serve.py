"""The web view: SQLite + Datasette metadata, served on loopback, fetched and stopped in bounded time."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import textwrap

import pytest

import chokepoint_data as cd
from chokepoint_data import serve

FETCH = textwrap.dedent("""
    import json, sys, time, urllib.request, urllib.error
    base = sys.argv[1]
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(base + "/-/versions.json", timeout=5).read()
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                print(json.dumps({"error": "datasette did not answer"})); sys.exit(0)
            time.sleep(0.3)
    out = {}
    for key, path in [("html", "/chokepoints/assessments"), ("json", "/chokepoints/assessments.json?_shape=objects&_size=max"),
                      ("sources_html", "/chokepoints/sources?_size=5"), ("meta", "/-/metadata.json"),
                      ("view", "/chokepoints/market_shares_labelled.json?_shape=objects&_size=max")]:
        out[key] = urllib.request.urlopen(base + path, timeout=30).read().decode("utf-8")
    # the labelled view has more rows than one page holds: follow next_url (at most 20 pages)
    page, rows = json.loads(out["view"]), []
    for _ in range(20):
        rows += page["rows"]
        if not page.get("next_url"):
            break
        page = json.loads(urllib.request.urlopen(page["next_url"], timeout=30).read().decode("utf-8"))
    out["view"] = json.dumps({"rows": rows, "complete": not page.get("next_url")})
    print(json.dumps(out))
""")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    db, meta = serve.prepare(folder)
    port = _free_port()
    log = open(folder / "datasette.log", "wb")
    proc = subprocess.Popen(serve.command(db, meta, port=port), stdout=log, stderr=subprocess.STDOUT)
    try:
        fetched = subprocess.run([sys.executable, "-c", FETCH, f"http://127.0.0.1:{port}"],
                                 capture_output=True, text=True, timeout=180, check=True)
        result = json.loads(fetched.stdout)
        assert "error" not in result, (folder / "datasette.log").read_text()
        yield result, db
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def test_table_json_has_every_row(served):
    result, _ = served
    body = json.loads(result["json"])
    shipped = cd.load("assessments")
    assert len(body["rows"]) == len(shipped)
    first = shipped.iloc[0]
    row = next(r for r in body["rows"] if r["chokepoint_id"] == first.chokepoint_id and r["year"] == first.year
               and r["source_id"] == first.source_id)
    assert row["status"] == first.status and row["confidence"] == first.confidence


def test_table_page_shows_metadata(served):
    result, _ = served
    html = result["html"]
    desc = cd.datapackage()["resources"][cd.list_tables().index("assessments")]["description"]
    assert desc.split(":")[0][:40] in html.replace("&#39;", "'")
    assert "CC-BY-4.0" in html and "CC-BY-NC-4.0" in html
    for facet in ("chokepoint_id", "year", "confidence", "status"):
        assert f'class="facet-info facet-chokepoints-assessments-{facet}"' in html
    assert 'data-column-description="Year the judgement describes."' in html


def test_source_urls_are_links(served):
    result, _ = served
    url = cd.load("sources")["url"].dropna().iloc[0]
    assert f'href="{url}"' in result["sources_html"]


def test_metadata_served(served):
    result, _ = served
    meta = json.loads(result["meta"])
    assert meta["title"] == cd.datapackage()["title"]
    tables = meta["databases"]["chokepoints"]["tables"]
    assert tables["market_shares"]["columns"]["share"].endswith("(0.25 = 25%).")
    assert tables["market_shares_labelled"]["facets"][:4] == ["chokepoint_name", "year", "confidence", "source_kind"]


def test_labelled_view_matches_labelled_load(served):
    result, _ = served
    view = json.loads(result["view"])
    rows = view["rows"]
    assert view["complete"], "the labelled view has more pages than the test follows"
    lab = cd.load("market_shares", labels=True)
    assert len(rows) == len(lab)
    got = {(r["chokepoint_id"], r["holder"], r["year"], r["source_id"]): (r["chokepoint_name"], r["source_publisher"])
           for r in rows}
    for r in lab.head(30).itertuples():
        assert got[(r.chokepoint_id, r.holder, r.year, r.source_id)] == (r.chokepoint_name, r.source_publisher)


def test_database_has_keys(tmp_path):
    db, _ = serve.prepare(tmp_path)
    con = sqlite3.connect(db)
    fks = con.execute("PRAGMA foreign_key_list('assessments')").fetchall()
    assert {(r[2], r[3]) for r in fks} >= {("chokepoints", "chokepoint_id"), ("sources", "source_id")}
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    con.close()


def test_binds_loopback_by_default(tmp_path):
    cmd = serve.command(tmp_path / "x.db", tmp_path / "m.json")
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"


def test_missing_datasette_names_the_extra(monkeypatch, capsys):
    import importlib.util

    from chokepoint_data.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "datasette" else real(name, *a))
    assert main(["serve", "--port", "8999"]) == 1
    assert "pip install 'chokepoint-data[web]'" in capsys.readouterr().err


def test_prepare_needs_a_folder(tmp_path):
    with pytest.raises(cd.ChokepointDataError, match="not a folder"):
        serve.prepare(tmp_path / "missing")
