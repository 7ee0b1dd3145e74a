"""The web view: SQLite + Datasette metadata, served on loopback, fetched and stopped in bounded time."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from _serving import WAIT_FOR_DATASETTE, datasette

import chokepoint_data as cd
from chokepoint_data import serve

FETCH = "import sys\nbase = sys.argv[1]\n" + WAIT_FOR_DATASETTE + textwrap.dedent("""
    out = {}
    for key, path in [("html", "/chokepoints/assessments"), ("json", "/chokepoints/assessments.json?_shape=objects&_size=max"),
                      ("sources_html", "/chokepoints/sources?_size=5"), ("meta", "/-/metadata.json"),
                      ("view", "/chokepoints/market_shares_labelled.json?_shape=objects&_size=max"),
                      ("source_page", "/chokepoints/sources/" + sys.argv[2]),
                      ("shares_html", "/chokepoints/market_shares?_size=5"),
                      ("shares_view_html", "/chokepoints/market_shares_labelled?_size=5"),
                      ("share_row", "/chokepoints/market_shares/" + sys.argv[3])]:
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


def _nc_source() -> str:
    sources = cd.load("sources")
    return str(sources.loc[sources.licence == "CC-BY-NC-4.0", "source_id"].iloc[0])


def _a_share() -> str:
    """The row path of a market share: its primary key values, each escaped as Datasette does (tilde)."""
    from urllib.parse import quote

    row = cd.load("market_shares").iloc[0]
    return ",".join(quote(str(v), safe="").replace("-", "~2D").replace("%", "~")
                    for v in (row.market_id, row.holder))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    with datasette(folder, folder / "datasette.log") as (port, db):
        fetched = subprocess.run([sys.executable, "-c", FETCH, f"http://127.0.0.1:{port}", _nc_source(), _a_share()],
                                 capture_output=True, text=True, timeout=180, check=True)
        result = json.loads(fetched.stdout)
        assert "error" not in result, (folder / "datasette.log").read_text()
        yield result, db


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


def _between(html: str, start: str, end: str) -> str:
    i = html.index(start)
    return html[i: html.index(end, i)]


def test_rows_come_before_the_descriptions(served):
    """The table page opens with its rows; the description and column descriptions are folded above them."""
    result, _ = served
    for key in ("html", "shares_html", "shares_view_html"):
        html = result[key]
        folded = _between(html, '<details class="about-table">', "</details>")
        assert 'class="column-descriptions"' in folded and 'class="metadata-description"' in folded, key
        assert html.count('class="column-descriptions"') == 1 and html.count('class="metadata-description"') == 1
        assert html.index("</details>") < html.index('class="rows-and-columns"'), key


def test_source_page_shows_that_sources_licence(served):
    result, _ = served
    html = result["source_page"]
    line = _between(html, '<p class="row-licence">', "</p>")
    assert "CC-BY-NC-4.0" in line
    footer = _between(html, '<footer class="ft">', "</footer>")
    assert "CC-BY-NC-4.0" in footer and "Data license" not in footer


def test_a_rows_page_links_to_its_licences(served):
    result, _ = served
    line = _between(result["share_row"], '<p class="row-licence">', "</p>")
    assert "market_shares_labelled?" in line and "market_id=" in line and "holder=" in line


def test_market_shares_open_with_facets_by_chokepoint_and_year(served):
    result, _ = served
    for key, table, columns in (("shares_html", "market_shares", ("chokepoint_id", "year")),
                                ("shares_view_html", "market_shares_labelled", ("chokepoint_name", "year"))):
        for facet in columns:
            assert f'class="facet-info facet-chokepoints-{table}-{facet}"' in result[key], (key, facet)


def test_served_view_names_countries_and_carries_licences(served):
    result, _ = served
    rows = json.loads(result["view"])["rows"]
    names = {r["holder_name"] for r in rows}
    assert "Netherlands" in names and "NLD" not in names
    assert all(r["licence"].startswith("CC-BY-4.0") for r in rows)
    assert any("CC-BY-NC-4.0" in r["licence"] for r in rows)


def test_metadata_facets_and_licence_column():
    tables = serve.metadata()["databases"]["chokepoints"]["tables"]
    assert tables["market_shares"]["facets"][:2] == ["chokepoint_id", "year"]
    assert tables["market_shares_labelled"]["facets"][:2] == ["chokepoint_name", "year"]
    views = [t for t in tables if t.endswith("_labelled")]
    assert len(views) >= 12
    for view in views:
        assert "licence" in tables[view]["columns"] and "sources.licence" in tables[view]["columns"]["licence"]
    assert "web view only" in tables["market_shares"]["columns"]["year"]


def test_web_database_adds_market_columns_and_keeps_the_views(tmp_path):
    db, _ = serve.prepare(tmp_path)
    con = sqlite3.connect(db)
    try:
        bad = con.execute('SELECT count(*) FROM market_shares s JOIN markets m USING (market_id) '
                          'WHERE s.chokepoint_id IS NOT m.chokepoint_id OR s.year IS NOT m.year').fetchone()[0]
        assert bad == 0
        assert con.execute("SELECT count(*) FROM market_shares WHERE chokepoint_id IS NULL").fetchone()[0] == 0
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        cur = con.execute('SELECT * FROM "market_shares_labelled" LIMIT 1')
        columns = [d[0] for d in cur.description]
    finally:
        con.close()
    assert columns == [*cd.load("market_shares", labels=True).columns, "licence"]


@pytest.mark.parametrize("name", ["metadata.json", "templates/table.html", "templates/row.html", "chokepoints.db"])
def test_prepare_never_replaces_a_users_file(tmp_path, name):
    path = tmp_path / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("my own notes\n")
    with pytest.raises(cd.ChokepointDataError, match="not written by chokepoint-data"):
        serve.prepare(tmp_path)
    assert path.read_text() == "my own notes\n"


def test_prepare_again_replaces_its_own_files(tmp_path):
    serve.prepare(tmp_path)
    db, meta = serve.prepare(tmp_path)
    assert json.loads(meta.read_text())["title"] == cd.datapackage()["title"]
    cmd = serve.command(db, meta)
    assert cmd[cmd.index("--template-dir") + 1] == str(tmp_path / "templates")


def test_table_template_follows_the_installed_datasette(monkeypatch):
    """An installed Datasette whose table page lacks the parts moved keeps its own page (no broken template)."""
    from chokepoint_data.outputs import _web

    assert "table.html" in _web.templates()
    monkeypatch.setattr(_web, "_datasette_template", lambda name: "{% block content %}{% endblock %}")
    assert "table.html" not in _web.templates() and "row.html" in _web.templates()
