"""The ``chokepoint-data`` command line: a thin front over the package API."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from ._errors import ArgumentError, ChokepointDataError, whole_number
from ._version import __version__
from .outputs._terminal import SafeStream

__all__ = ["main"]

EXPORT_FORMATS = ("csv", "xlsx", "sqlite", "duckdb", "claimreview")  # export.FORMATS + claimreview; here so --help imports nothing


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chokepoint-data", description="China's industrial choke points: a cited, validated dataset.")
    p.add_argument("--version", action="version", version=f"chokepoint-data {__version__}")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("summary", help="what is in the data (the default)")
    sub.add_parser("list", help="table names")
    d = sub.add_parser("describe", help="data dictionary of a table")
    d.add_argument("table")
    s = sub.add_parser("show", help="print rows of a table")
    s.add_argument("table")
    s.add_argument("--rows", type=whole_number, default=20, help="how many rows to print (default: 20)")
    s.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE",
                   help="keep rows where COLUMN equals VALUE (any column --labels shows, with or without --labels; "
                        "COLUMN= keeps rows where it is empty)")
    s.add_argument("--labels", action="store_true", help="add names next to ids (choke point, company, holder, policy, source)")
    s.add_argument("--width", type=_width, default=None,
                   help="characters per line (default: the terminal's width, or $COLUMNS, or 80)")
    s.add_argument("--full", action="store_true", help="every cell whole: one block per row, long text wrapped")
    s.add_argument("--format", choices=("table", "csv", "json"), default="table", dest="fmt",
                   help="table (default, fits the width), or csv / json with every cell whole")
    s.add_argument("--commercial-only", action="store_true", help="leave out rows citing a non-commercial source (CC BY-NC)")
    s.add_argument("--in-force", action="store_true",
                   help="policies only: keep the policies that bind on --as-of (suspended, ended, not yet effective left out)")
    s.add_argument("--as-of", metavar="YYYY-MM-DD", default=None,
                   help="policies only: the day for --in-force, and add each policy's state on it "
                        "(default: the data's own date, the latest sources.accessed)")
    sub.add_parser("validate", help="check the shipped data against every rule")
    b = sub.add_parser("build", help="curation/*.csv -> validated Parquet + datapackage.json")
    b.add_argument("--root", default=".", help="folder holding schemas/ and curation/ (default: .)")
    b.add_argument("--out", default=None, help="where to write (default: the root)")
    e = sub.add_parser("export", help="write the tables as CSV, Excel, SQLite or DuckDB, or the claims as ClaimReview JSON-LD")
    e.add_argument("--format", choices=EXPORT_FORMATS, required=True)
    e.add_argument("--out", required=True, help="a folder (csv) or a file")
    e.add_argument("--force", action="store_true", help="replace a target that chokepoint-data did not write")
    e.add_argument("--safe-formulas", action="store_true",
                   help="csv: prefix text cells that a spreadsheet would read as a formula with ' (xlsx always does)")
    e.add_argument("--commercial-only", action="store_true", help="leave out rows citing a non-commercial source (CC BY-NC)")
    f = sub.add_parser("figures", help="draw the figures as SVG (needs the [plot] extra)")
    f.add_argument("--out", required=True, help="folder to write the SVG files into")
    f.add_argument("--force", action="store_true", help="replace SVG files there that chokepoint-data did not write")
    w = sub.add_parser("serve", help="browse the tables in a web browser with Datasette (needs the [web] extra)")
    w.add_argument("--port", type=int, default=8001, help="port on 127.0.0.1 (default: 8001)")
    w.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    c = sub.add_parser("cite", help="how to cite this release")
    c.add_argument("--bibtex", action="store_true")
    c.add_argument("--commercial-only", action="store_true", help="cite what --commercial-only loads (no ETO rows)")
    from .release.diff import add_subparser as add_diff

    add_diff(sub)
    return p


def _width(text: str) -> int:
    return whole_number(text, minimum=20, low="is too narrow", why="give 20 characters or more")


def _show(args: argparse.Namespace) -> int:
    from .outputs import _show as show

    try:
        print(show.show_text(args.table, rows=args.rows, where_=args.where, labels=args.labels, width=args.width,
                             full=args.full, fmt=args.fmt, commercial_only=args.commercial_only,
                             in_force=args.in_force, as_of=args.as_of))
    except ArgumentError as exc:  # arguments that do not fit: a usage error
        print(f"chokepoint-data: {exc}", file=sys.stderr)
        return 2
    except show.NoMatch as exc:
        print(f"chokepoint-data: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage, 130 interrupted).

    Everything printed passes through ``outputs._terminal.SafeStream``: data can never send escape
    sequences or other control characters to the terminal.
    """
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(saved[0]), SafeStream(saved[1], required=False)
    try:
        return _main(argv)
    except KeyboardInterrupt as exc:  # a write in progress says what became of its target
        detail = str(exc)
        print(f"chokepoint-data: interrupted{'; ' + detail if detail else ''}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `chokepoint-data show x | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, saved[0].fileno())
        return 1
    except OSError as exc:  # standard output closed (`>&-`) or gone: one line, no traceback
        if exc.errno != errno.EBADF:
            raise
        print(f"chokepoint-data: {exc.strerror}", file=sys.stderr)
        return 1
    finally:
        sys.stdout, sys.stderr = saved


def _summary(args: argparse.Namespace) -> None:
    from .answers._summary import summary_text

    print(summary_text())


def _list(args: argparse.Namespace) -> None:
    from .store import _loader

    print("\n".join(_loader.list_tables()))


def _describe(args: argparse.Namespace) -> None:
    from .store import _loader

    print(_loader.describe(args.table).to_string(index=False))


def _validate(args: argparse.Namespace) -> None:
    from .rules._validate import validate

    tables = validate()
    print(f"ok: {len(tables)} tables, {sum(len(t) for t in tables.values())} rows pass every rule")


def _build(args: argparse.Namespace) -> None:
    from .release.build import build

    result = build(Path(args.root), None if args.out is None else Path(args.out))
    print(f"built {sum(result.rows.values())} rows in {len(result.rows)} tables; wrote {len(result.written)} files")


def _export(args: argparse.Namespace) -> None:
    if args.format == "claimreview":
        from .answers._claims import write_claimreview

        print(write_claimreview(args.out, commercial_only=args.commercial_only, force=args.force))
        return
    from .outputs.export import export, shipped
    from .store import _loader

    package = shipped(loader=lambda name: _loader.load(name, commercial_only=args.commercial_only))
    for path in export(args.format, args.out, package=package, force=args.force, safe_formulas=args.safe_formulas):
        print(path)


def _figures(args: argparse.Namespace) -> None:
    from .outputs.figures import write_figures

    for path in write_figures(args.out, force=args.force):
        print(path)


def _serve(args: argparse.Namespace) -> int:
    from .outputs.serve import serve

    return serve(port=args.port, host=args.host)


def _cite(args: argparse.Namespace) -> None:
    from .answers._citation import citation

    print(citation("bibtex" if args.bibtex else "text", commercial_only=args.commercial_only))


def _diff(args: argparse.Namespace) -> int:
    from .release.diff import run as run_diff

    return run_diff(args)


# Each command: a function of the parsed arguments that prints its answer and returns the exit
# status (None means 0). Imports stay inside them, so a command loads only what it uses.
_COMMANDS: dict[str | None, Callable[[argparse.Namespace], int | None]] = {
    None: _summary, "summary": _summary, "list": _list, "describe": _describe, "show": _show,
    "validate": _validate, "build": _build, "export": _export, "figures": _figures, "serve": _serve,
    "cite": _cite, "diff": _diff,
}


def _main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args) or 0
    except ChokepointDataError as exc:
        print(f"chokepoint-data: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise
    except OSError as exc:  # a file the user named cannot be read or written
        if exc.errno == errno.EBADF:
            raise
        print(f"chokepoint-data: {exc}", file=sys.stderr)
        return 1
