"""What the web view adds to its own SQLite copy and to Datasette's pages: rows first, each
row's own licence, and a market share's choke point and year to facet by.

- ``add_market_columns(con)``: in the served copy only (never in an export), a market share
  gets its market's ``chokepoint_id`` and ``year`` as two more columns at the end, with a
  foreign key to ``chokepoints``, so that its page can open with facets by choke point and
  year. The labelled views, made before, are unchanged.
- ``templates()``: Jinja templates for Datasette's ``--template-dir``. ``table.html`` is
  Datasette's own page with the description, licence, source and column descriptions folded
  into one ``<details>`` line above the rows, so the rows are the first thing on the page;
  ``row.html`` folds them the same way and says the row's own licence: a source's page shows
  that source's ``licence`` (not the sources table's), another row's page links to its row of
  the labelled view, whose ``licence`` column holds the licences that row carries.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Iterable

from ..store._licences import LICENCES

__all__ = ["MARKET_COLUMNS", "MARKER", "add_market_columns", "templates", "FOLDED_SUMMARY"]

#: Columns of ``markets`` copied onto each market share in the served copy, for facets.
MARKET_COLUMNS = ("chokepoint_id", "year")
#: The text of the folded line that holds a page's description, licence and columns.
FOLDED_SUMMARY = "About this table: what a row is, licences, sources and what each column means"


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def add_market_columns(con: Any, table: str = "market_shares") -> None:
    """Copy each row's market's choke point and year onto ``table`` (an open SQLite connection)."""
    have = {r[1] for r in con.execute(f"PRAGMA table_info({_q(table)})").fetchall()}
    if "market_id" not in have:
        return
    con.execute(f"ALTER TABLE {_q(table)} ADD COLUMN {_q('chokepoint_id')} TEXT "
                f"REFERENCES {_q('chokepoints')} ({_q('chokepoint_id')}) DEFERRABLE INITIALLY DEFERRED")
    con.execute(f"ALTER TABLE {_q(table)} ADD COLUMN {_q('year')} INTEGER")
    for column in MARKET_COLUMNS:
        con.execute(f"UPDATE {_q(table)} SET {_q(column)} = (SELECT m.{_q(column)} FROM {_q('markets')} AS m "
                    f"WHERE m.{_q('market_id')} = {_q(table)}.{_q('market_id')})")
        con.execute(f"CREATE INDEX {_q(f'ix_{table}_{column}')} ON {_q(table)} ({_q(column)})")


def _datasette_template(name: str) -> str | None:
    spec = importlib.util.find_spec("datasette")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "templates" / name
    return path.read_text(encoding="utf-8") if path.is_file() else None


_ABOUT_START = '{% block description_source_license %}{% include "_description_source_license.html" %}{% endblock %}'
_COLUMNS_END = "</dl>\n{% endif %}"


def _folded(inner: str, licences: bool = True) -> str:
    summary = FOLDED_SUMMARY + ("{% if metadata.license %} (licences of its rows: {{ metadata.license }}){% endif %}"
                                if licences else "")
    return f'<details class="about-table">\n<summary>{summary}</summary>\n{inner}\n</details>'



def _table_template() -> str | None:
    """Datasette's table page with the description and column descriptions folded above the rows
    (None when the installed Datasette's page does not have the parts this moves)."""
    text = _datasette_template("table.html")
    if text is None or _ABOUT_START not in text:
        return None
    start = text.index(_ABOUT_START)
    end = text.find(_COLUMNS_END, start)
    if end < 0 or "column-descriptions" not in text[start:end]:
        return None
    end += len(_COLUMNS_END)
    return text[:start] + _folded(text[start:end]) + text[end:]


def _licence_links() -> str:
    pairs = ", ".join(f'"{k}": "{url}"' for k, (_title, url) in sorted(LICENCES.items()) if url)
    return "{% set licence_urls = {" + pairs + "} %}"


_ROW = """{% extends "default:row.html" %}
LICENCE_LINKS
{% macro licence_line() -%}
{% if table == "sources" and rows and "licence" in rows[0].keys() -%}
{% set lic = rows[0]["licence"] %}
Licence of this source's material (every row citing it carries it):
{% if lic in licence_urls %}<a href="{{ licence_urls[lic] }}">{{ lic }}</a>{% else %}{{ lic }}{% endif %}
{%- elif primary_keys and table in labelled_tables -%}
Licences of this row: see its <a href="{{ urls.table(database, table ~ '_labelled') }}?{% for k in primary_keys %}{{ {k: primary_key_values[loop.index0]}|urlencode }}{% if not loop.last %}&amp;{% endif %}{% endfor %}">row in {{ table }}_labelled</a> (column licence)
{%- else -%}
Licences of this table's rows: {{ metadata.license }}
{%- endif %}
{%- endmacro %}
{% block description_source_license %}
<p class="row-licence">{{ licence_line() }}</p>
FOLDED
{% endblock %}
{% block footer %}Powered by <a href="https://datasette.io/">Datasette</a> &middot; {{ licence_line() }}{% endblock %}
"""


#: The first line of every template written here: how ``prepare()`` knows a template is its own.
MARKER = "{# written by chokepoint-data: the web view's page templates (chokepoint_data/outputs/_web.py) -#}"


def templates(labelled: Iterable[str] = ()) -> dict[str, str]:
    """File name -> text of the templates the web view serves with (``--template-dir``).

    ``labelled``: the tables that have a ``<table>_labelled`` view (a row's page links to its row there).
    """
    names = "{% set labelled_tables = [" + ", ".join(f'"{t}"' for t in sorted(labelled)) + "] %}"
    out = {"row.html": _ROW.replace("LICENCE_LINKS", _licence_links() + "\n" + names).replace(
        "FOLDED", _folded('{% include "_description_source_license.html" %}', licences=False))}
    table = _table_template()
    if table is not None:
        out["table.html"] = table
    return {name: f"{MARKER}\n{text}" for name, text in out.items()}
