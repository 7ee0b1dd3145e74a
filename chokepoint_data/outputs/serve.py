"""A browsable web view: the tables in SQLite, served by Datasette with generated metadata.

Needs Datasette (``pip install 'chokepoint-data[web]'``), which runs as a separate process.
``prepare(folder)`` writes ``chokepoints.db`` and ``metadata.json``; ``serve()`` (and
``chokepoint-data serve [--port N]``) prepares a temporary folder and runs Datasette on
127.0.0.1, never another interface unless asked with ``host=``.

One request cannot exhaust the machine: Datasette runs with ``LIMITS`` (a query stops after
``sql_time_limit_ms``, returns at most ``max_returned_rows`` rows, CSV is not streamed past
them) and a plugin that caps every SQLite string or blob at ``MAX_VALUE_BYTES``
(``SQLITE_LIMIT_LENGTH``), so ``select randomblob(1000000000)`` is an error, not a 1 GB value.
``serve()`` checks the port is free before it says it serves, and on Ctrl-C, SIGTERM or SIGHUP
stops Datasette and removes its temporary folder.

The metadata gives the package's title, description and licence, and per table its
description, licence and where its sources are; every column's description (with its unit
where it has one); facets that fit (choke point, year, grade, source kind, status, ...); and
label columns, so that ids link to the row they name with its name shown. Each labelled view
has what ``load(..., labels=True)`` gives plus a ``licence`` column (the row's own licences).

``prepare()`` also writes the page templates of ``_web`` into ``<folder>/templates`` (rows
first, descriptions folded; a row's own licence on its page), and adds to its own copy of
``market_shares`` its market's choke point and year, the facets that page opens with.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..store._atomic import write_files
from ..store._targets import check_file
from .._errors import ChokepointDataError, MissingExtraError
from .._version import __version__
from ._common import shipped
from ._sqlite import to_sqlite
from ._web import MARKER, MARKET_COLUMNS, add_market_columns, templates

__all__ = ["DATABASE", "DEFAULT_HOST", "DEFAULT_PORT", "LIMITS", "MAX_VALUE_BYTES", "metadata", "prepare", "command",
           "serve"]

DATABASE = "chokepoints"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
#: Datasette settings that bound one request (time, rows, CSV size); passed as ``--setting``. The
#: row cap holds the largest table whole (so ``?_size=max`` gives every row), but not much more.
LIMITS = {"sql_time_limit_ms": 1000, "max_returned_rows": 5000, "allow_csv_stream": "off", "max_csv_mb": 20,
          "default_page_size": 50}
#: The largest string or blob SQLite may build for a request (the longest cell of the data is ~2 KB).
MAX_VALUE_BYTES = 64 * 1024
PLUGINS = "plugins"
_PLUGIN = f'''"""Written by chokepoint-data serve: cap every SQLite string or blob a request can build."""
import sqlite3

from datasette import hookimpl


@hookimpl
def prepare_connection(conn):
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, {MAX_VALUE_BYTES})
'''
#: columns worth a facet wherever a table has them, in this order
FACETS = ("chokepoint_id", "year", "confidence", "kind", "licence", "status", "sector", "direction", "metric", "scope",
          "basis", "breakdown", "jurisdiction", "role", "country", "language", "policy_id")
#: values each facet lists before "...": few enough that the rows start within the first screen
FACET_SIZE = 8
#: facets of the labelled views: choke point, year, grade, source kind
VIEW_FACETS = ("chokepoint_name", "year", "confidence", "source_kind", "status", "holder_country", "policy_name")
_LABEL_TEXT = {
    "name": "Name", "direction": "Direction (dependency or leverage)", "country": "Country (ISO 3166-1 alpha-3)",
    "publisher": "Publisher", "published": "Publication date (YYYY, YYYY-MM or YYYY-MM-DD)",
    "kind": "Kind (official, news, market research, ...)", "basis": "Basis (location or headquarters)",
}




def _label_text(label: str, columns: Mapping[str, str]) -> str:
    prefix, _, suffix = label.rpartition("_")
    named = next((c for c in (f"{prefix}_id", prefix) if c in columns), prefix)
    return f"{_LABEL_TEXT.get(suffix, suffix.capitalize())} of {named} (a label added for reading)."
#: the column Datasette shows next to a foreign key into these tables
LABELS = {"sources": "title", "chokepoints": "name_en", "companies": "name_en", "policies": "name_en"}


#: What the ``licence`` column of a labelled view holds.
LICENCE_COLUMN_TEXT = ("The licences this row carries, joined by ', ': our curation's (CC-BY-4.0) and the licence of "
                       "each source it cites (sources.licence); a licence with NC forbids commercial use of the row.")


def _market_columns(markets: Mapping[str, Any]) -> dict[str, str]:
    """Descriptions of the market columns the served copy adds to a market share (for facets)."""
    fields = {f["name"]: f for f in markets["fields"]}
    return {c: (f"{fields[c].get('description', '')} Copied from the share's market (markets.{c}) in the web "
                "view only, so this page can facet by it; not a column of the data package.").strip()
            for c in MARKET_COLUMNS if c in fields}


def _unit(field: Mapping[str, Any]) -> str:
    c = field.get("constraints", {}) or {}
    if field.get("type") == "number" and c.get("maximum") == 1 and c.get("minimum") == 0:
        return " Unit: fraction from 0 to 1 (0.25 = 25%)."
    if field.get("type") == "date":
        return " Format: YYYY-MM-DD."
    if field["name"] == "value":
        return " Unit: see the unit column of the same row."
    return ""


def _licence(resource: Mapping[str, Any], package: Mapping[str, Any]) -> tuple[str, str | None, str]:
    """(licence ids joined by ' + ', the first licence's URL, a sentence with every licence's title)."""
    licences = resource.get("licenses") or package.get("licenses") or []
    names = [str(x.get("name") or x.get("title")) for x in licences]
    url = next((x.get("path") for x in licences if x.get("path")), None)
    titles = "; ".join(f"{x.get('name')}: {x.get('title')}" for x in licences if x.get("title"))
    text = f" Licences of its rows: {titles}." if len(licences) > 1 else ""
    return " + ".join(names) or "see the package licence", url, text


def metadata(descriptor: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The Datasette metadata for the package (a dict ready for ``json.dump``).

    Examples
    --------
    >>> meta = metadata()
    >>> meta["databases"]["chokepoints"]["tables"]["assessments"]["facets"][:3]
    ['chokepoint_id', 'year', 'confidence']
    >>> meta["license"].split(" + ")[:2]
    ['CC-BY-4.0', 'CC-BY-NC-4.0']
    """
    from ..store import _loader

    pkg = descriptor if descriptor is not None else _loader.datapackage()
    pkg_licence, pkg_url, pkg_text = _licence({}, pkg)
    tables: dict[str, Any] = {}
    markets_schema = {res["name"]: res["schema"] for res in pkg["resources"] if res["name"] == "markets"}
    for res in pkg["resources"]:
        schema = res["schema"]
        names = [f["name"] for f in schema["fields"]]
        licence, url, licence_text = _licence(res, pkg)
        entry: dict[str, Any] = {
            "title": res.get("title", res["name"]),
            "description": res.get("description", "") + licence_text,
            "license": licence,
            "source": "Each row cites a row of the sources table (source_id)" if "source_id" in names
            else "Each row cites a source through its market (markets.source_id)" if "market_id" in names
            else "chokepoint-data curation",
            "source_url": f"/{DATABASE}/sources",
            "columns": {f["name"]: (f.get("description", "") + _unit(f)).strip() for f in schema["fields"]},
            "facets": [c for c in FACETS if c in names and [c] != list(schema.get("primaryKey") or [])][:5],
            "facet_size": FACET_SIZE,
        }
        if url:
            entry["license_url"] = url
        if "market_id" in names and res["name"] != "markets" and "markets" in markets_schema:
            entry["columns"].update(_market_columns(markets_schema["markets"]))
            entry["facets"] = [*MARKET_COLUMNS, *[c for c in entry["facets"] if c not in MARKET_COLUMNS]][:5]
        if res["name"] in LABELS:
            entry["label_column"] = LABELS[res["name"]]
        tables[res["name"]] = entry
    from ..store._views import sql_view_columns

    schemas = {res["name"]: res["schema"] for res in pkg["resources"]}
    market_columns = dict(tables["markets"]["columns"]) if "markets" in tables else {}
    for view, columns in sql_view_columns(schemas).items():
        base = tables[view[: -len("_labelled")]]
        known = {**market_columns, **base["columns"]}
        tables[view] = {
            **{k: v for k, v in base.items() if k not in ("facets", "label_column", "columns")},
            "title": f"{base['title']} (with names)",
            "description": f"{base['description']} With the names of the ids next to them.",
            "columns": {c: LICENCE_COLUMN_TEXT if c == "licence" else known.get(c) or _label_text(c, known)
                        for c in columns},
            "facets": [c for c in VIEW_FACETS if c in columns][:5],
        }
    meta: dict[str, Any] = {
        "title": pkg.get("title", "chokepoint-data"),
        "description": f"{pkg.get('description', '')} Data version {pkg.get('version', __version__)}.{pkg_text}",
        "license": pkg_licence,
        "source": "chokepoint-data (per-row citations in the sources table)",
        "source_url": f"/{DATABASE}/sources",
        "databases": {DATABASE: {"tables": tables}},
    }
    if pkg_url:
        meta["license_url"] = pkg_url
    return meta


def _require_datasette() -> None:
    if importlib.util.find_spec("datasette") is None:
        raise MissingExtraError("serve", "datasette", "web")


def _ours_json(path: Path) -> bool:
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("source", "")).startswith("chokepoint-data")
    except (OSError, ValueError, AttributeError):
        return False


def _ours_template(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.readline().rstrip("\n") == MARKER
    except (OSError, UnicodeDecodeError):
        return False


def prepare(folder: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``<folder>/chokepoints.db``, ``<folder>/metadata.json`` and ``<folder>/templates/``;
    return the paths of the first two (``command()`` finds the templates beside the metadata).

    The database is the SQLite export (keys, indexes on foreign keys, labelled views, ``_meta``)
    plus, in ``market_shares``, its market's ``chokepoint_id`` and ``year`` to facet by. A file
    there that chokepoint-data did not write is never replaced (ExportError names it).
    """
    out = Path(folder)
    if not out.is_dir():
        raise ChokepointDataError(f"cannot prepare the web view in {out}: not a folder; create it first")
    db = out / f"{DATABASE}.db"
    meta_path = out / "metadata.json"
    pages = {out / "templates" / name: text.encode("utf-8")
             for name, text in templates([v[: -len("_labelled")] for v in _view_names()]).items()}
    check_file(meta_path, force=False, owned=_ours_json, kind="the web view's metadata")
    for path in pages:
        if path.parent.exists():
            check_file(path, force=False, owned=_ours_template, kind="a web view template")
    to_sqlite(shipped(), db, finish=add_market_columns)
    (out / PLUGINS).mkdir(exist_ok=True)
    write_files({meta_path: json.dumps(metadata(), indent=2, ensure_ascii=False).encode("utf-8"), **pages,
                 out / PLUGINS / "chokepoint_data_limits.py": _PLUGIN.encode("utf-8")})
    return db, meta_path


def _view_names() -> list[str]:
    from ..store import _loader
    from ..store._views import sql_view_columns

    return list(sql_view_columns({n: _loader.table_schema(n) for n in _loader.list_tables()}))


def command(db: Path, meta: Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> list[str]:
    """The Datasette command line that serves ``db`` with ``meta`` (read-only, on ``host:port``),
    with ``LIMITS``, the value cap that ``prepare`` wrote beside ``db``, and its page templates."""
    settings = [x for key, value in LIMITS.items() for x in ("--setting", key, str(value))]
    pages = Path(meta).with_name("templates")
    return [sys.executable, "-m", "datasette", "serve", "--immutable", str(db), "--metadata", str(meta),
            *(["--template-dir", str(pages)] if pages.is_dir() else []),
            "--host", host, "--port", str(int(port)), "--plugins-dir", str(db.parent / PLUGINS), *settings]


def _check_port(host: str, port: int) -> None:
    """Refuse a port another program holds (said before 'serving on', not by uvicorn after)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ChokepointDataError(f"--host {host!r} is not an address of this machine ({exc.strerror})") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        if hasattr(socket, "SO_REUSEADDR"):  # as uvicorn binds: a port in TIME_WAIT is free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ChokepointDataError(
                f"port {port} on {host} cannot be used ({exc.strerror}): another program holds it; "
                f"choose another with --port") from None


class _Stopped(Exception):
    """SIGTERM or SIGHUP arrived: stop Datasette and clean up, as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum: int, frame: Any) -> None:
    raise _Stopped(signum)


def _run(cmd: list[str]) -> int:
    """Run Datasette until it ends; whatever ends this call (a signal, Ctrl-C), it stops Datasette."""
    proc = subprocess.Popen(cmd)
    try:
        return proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _catch_stop_signals() -> dict[int, Any]:
    """SIGTERM and SIGHUP raise ``_Stopped`` (so clean-up runs); returns the handlers replaced."""
    handlers: dict[int, Any] = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            try:
                handlers[sig] = signal.signal(sig, _raise_stopped)
            except ValueError:  # not the main thread: the caller handles its signals
                pass
    return handlers


def serve(*, port: int = DEFAULT_PORT, host: str = DEFAULT_HOST, folder: str | os.PathLike[str] | None = None,
          extra_args: Sequence[str] = ()) -> int:
    """Export the tables and run Datasette on ``host:port`` until interrupted; return its exit code.

    Binds 127.0.0.1 by default, so only this machine can reach it.
    """
    _require_datasette()
    if not 0 < int(port) < 65536:
        raise ChokepointDataError(f"--port must be between 1 and 65535, not {port}")
    if host not in (DEFAULT_HOST, "localhost", "::1"):
        print(f"chokepoint-data: warning: serving on {host}, not only this machine; anyone who can reach it "
              "can read the data", file=sys.stderr)
    _check_port(host, int(port))
    handlers = _catch_stop_signals()
    try:
        with tempfile.TemporaryDirectory(prefix="chokepoint-data-web-") as tmp:
            db, meta = prepare(folder or tmp)
            print(f"chokepoint-data {__version__}: serving on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
            return _run([*command(db, meta, host=host, port=port), *extra_args])
    except KeyboardInterrupt:
        return 0
    except _Stopped as stop:
        return 128 + stop.signum
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
