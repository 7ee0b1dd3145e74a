"""Rows of a table for a terminal: ``chokepoint-data show``'s filter and its layout.

``where`` keeps the rows whose column equals a value as the user typed it (a number, a date, a
boolean or a label), says so when nothing matches and offers the nearest values. ``render`` lays
the rows out to fit a terminal's width (long cells cut with ``…``, columns in blocks that each
fit), as records with every cell whole and wrapped (``full``, and a few rows too wide for one
block), or as CSV or JSON. Every cell is
made terminal-safe before it is measured, so what is measured is what is printed.

``show_text`` is the whole command: load (with labels when a filter needs them), add policy
states for ``--in-force`` / ``--as-of``, filter, keep the columns asked for, render.

Imports nothing heavy at module level: the command line imports :func:`terminal_safe` from here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

from .._errors import ArgumentError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["terminal_safe", "display_width", "where", "render", "show_text", "FORMATS", "NoMatch"]

FORMATS = ("table", "csv", "json")
#: the widest a cell is drawn in the table layout before it is cut (``--full`` shows it whole)
MAX_CELL = 40
_GAP = "  "
#: this many rows or fewer print as records (every cell whole) when their columns need more than one block
AS_RECORDS = 3

#: C0 and C1 control characters (but newline and tab), DEL, and the bidirectional overrides
#: that can reorder what a terminal shows: never written raw, always as an escape.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` with every control character written as a visible escape (``\\x1b``)."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide characters take two, combining none."""
    import unicodedata

    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def _cut(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns, ending in ``…`` when it was cut."""
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


class NoMatch(Exception):
    """No row matched a ``--where`` condition; the message names the nearest values."""


# --- filtering -----------------------------------------------------------------------------------


def where(frame: "pd.DataFrame", conditions: Sequence[str], table: str) -> "pd.DataFrame":
    """The rows of ``frame`` meeting every ``COLUMN=VALUE`` condition.

    VALUE is compared as the column's type reads it: ``0.815`` with a share, ``2024-05-24`` with a
    date, ``true``/``false`` with a flag, the text itself with text (case included); an empty
    VALUE keeps the rows where the column is empty. Raises :class:`ArgumentError` for a malformed
    condition or an unknown column (naming the nearest), :class:`NoMatch` when nothing matches.
    """
    import difflib

    for cond in conditions:
        column, sep, value = cond.partition("=")
        column = column.strip()
        if not sep or not column:
            raise ArgumentError(f"--where {cond!r}: write COLUMN=VALUE, e.g. --where {frame.columns[0]}=VALUE")
        if column not in frame.columns:
            close = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ArgumentError(f"--where: {table} has no column {column!r}{hint} "
                                f"(columns: {', '.join(map(str, frame.columns))})")
        kept = frame[_equals(frame[column], value)]
        if kept.empty:
            raise NoMatch(_no_match(frame, column, value, table))
        frame = kept
    return frame


def _equals(series: "pd.Series", value: str) -> "pd.Series":
    """Where ``series`` equals ``value`` read as the column's type (missing never equals)."""
    import pandas as pd

    if value == "":
        return series.isna()
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return (series.astype("string") == value).fillna(False).astype(bool)
    if pd.api.types.is_bool_dtype(dtype):
        flag = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(value.lower())
        return (series == flag).fillna(False).astype(bool) if flag is not None else _none(series)
    if pd.api.types.is_numeric_dtype(dtype):
        try:
            number = float(value)
        except ValueError:
            return _none(series)
        return (series.astype("Float64") == number).fillna(False).astype(bool)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        try:
            when = pd.Timestamp(value)
        except (ValueError, TypeError):
            return _none(series)
        return (series == when).fillna(False).astype(bool)
    return (series.astype("string") == value).fillna(False).astype(bool)


def _none(series: "pd.Series") -> "pd.Series":
    import pandas as pd

    return pd.Series(False, index=series.index)


def _no_match(frame: "pd.DataFrame", column: str, value: str, table: str) -> str:
    """What to say when ``column=value`` keeps no row: the nearest values the column holds."""
    import difflib

    values = sorted({_text(v) for v in frame[column].dropna().unique()})
    folded = [v for v in values if v.casefold() == value.casefold()]
    lower = {v.casefold(): v for v in values}
    close = folded + [lower[m] for m in difflib.get_close_matches(value.casefold(), list(lower), n=5, cutoff=0.6)
                      if lower[m] not in folded]
    if not close:  # a prefix or a part of a value, e.g. a name's first word
        close = [v for v in values if value.casefold() in v.casefold()][:5]
    message = f"no rows of {table} where {column} = {value!r}"
    if close:
        return message + f"; nearest values of {column}: " + ", ".join(close[:5])
    return message + (f"; {column} holds e.g. " + ", ".join(values[:5]) if values else f"; {column} is empty here")


# --- layout --------------------------------------------------------------------------------------


def _text(value: object) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, (str, bytes)) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, float):
        return f"{value:.12g}"
    return str(value)


def _cells(frame: "pd.DataFrame") -> list[list[str]]:
    """Every cell as one terminal-safe line of text (newlines and tabs as spaces; missing empty)."""
    return [[terminal_safe(re.sub(r"[\n\t\r]", " ", _text(v))) for v in row]
            for row in frame.itertuples(index=False, name=None)]


def render(frame: "pd.DataFrame", *, width: int, full: bool = False, fmt: str = "table") -> str:
    """``frame`` as text: ``table`` fits ``width`` columns per line (``full``: records, each cell
    whole and wrapped to ``width``); ``csv`` and ``json`` hold every cell whole."""
    if fmt == "csv":
        return frame.to_csv(index=False, lineterminator="\n").rstrip("\n")
    if fmt == "json":
        return _json(frame)
    if fmt != "table":
        raise ArgumentError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    width = max(int(width), 20)
    header = [terminal_safe(str(c)) for c in frame.columns]
    rows = _cells(frame)
    table = _table(header, rows, width)
    if full or (len(rows) <= AS_RECORDS and "blocks to fit" in table):
        return _records(header, rows, width)
    return table


def _json(frame: "pd.DataFrame") -> str:
    import pandas as pd

    out = frame.copy()
    for column in out.columns:  # dates as dates (2024-05-24), not epoch milliseconds
        if pd.api.types.is_datetime64_any_dtype(out[column].dtype):
            out[column] = out[column].map(lambda v: _text(v) or None)
    return out.to_json(orient="records", force_ascii=False, indent=1)


def _table(header: list[str], rows: list[list[str]], width: int) -> str:
    """Columns in blocks that each fit ``width``; the first column (the key) starts every block."""
    if not header:
        return ""
    cap = min(MAX_CELL, width)
    widths = [min(max([display_width(h)] + [display_width(r[i]) for r in rows]), cap) for i, h in enumerate(header)]
    key = min(widths[0], max(8, width // 3))
    widths[0] = key
    rest_room = width - key - len(_GAP)
    blocks: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i in range(1, len(header)):
        w = min(widths[i], rest_room)
        widths[i] = w
        if current and used + len(_GAP) + w > rest_room:
            blocks.append(current)
            current, used = [], 0
        used += (len(_GAP) if current else 0) + w
        current.append(i)
    if current or not blocks:
        blocks.append(current)
    out: list[str] = []
    for b, block in enumerate(blocks):
        columns = [0, *block]
        if b:
            out.append("")
        for line in [header, *rows]:
            cells = []
            for i in columns:
                text = _cut(line[i], widths[i])
                pad = widths[i] - display_width(text)
                cells.append(text + " " * pad)
            out.append(_GAP.join(cells).rstrip())
    cut = any(display_width(r[i]) > widths[i] for r in [header, *rows] for i in range(len(header)))
    if len(blocks) > 1 or cut:
        import textwrap

        note = (f"({len(header)} columns in {len(blocks)} blocks to fit {width} characters" if len(blocks) > 1
                else "(long cells cut at …") + "; --full shows every cell whole, --format csv or json for machines)"
        out += ["", *textwrap.wrap(note, width)]
    return "\n".join(out)


def _records(header: list[str], rows: list[list[str]], width: int) -> str:
    """One block per row, one ``column  value`` line per cell, the value wrapped to ``width``."""
    import textwrap

    label = min(max((display_width(h) for h in header), default=0), width // 3)
    room = max(width - label - len(_GAP), 10)
    out: list[str] = []
    for n, row in enumerate(rows):
        if n:
            out.append("")
        out.append((f"-- row {n + 1} " + "-" * width)[:width])
        for h, cell in zip(header, row):
            name = _cut(h, label)
            name += " " * (label - display_width(name))
            lines = _wrap(cell, room, textwrap) or [""]
            out.append((name + _GAP + lines[0]).rstrip())
            out += [(" " * (label + len(_GAP)) + more).rstrip() for more in lines[1:]]
    return "\n".join(out)


def _wrap(text: str, room: int, textwrap) -> list[str]:
    """``text`` in lines of at most ``room`` columns (wide characters counted twice)."""
    lines: list[str] = []
    for line in textwrap.wrap(text, room, break_long_words=True, break_on_hyphens=False):
        while display_width(line) > room:  # textwrap counts characters; a wide one takes two columns
            head = _cut(line, room + 1)[:-1]
            lines.append(head)
            line = line[len(head):]
        lines.append(line)
    return lines


def show_text(table: str, *, rows: int = 20, where_: Sequence[str] = (), labels: bool = False,
              width: int | None = None, full: bool = False, fmt: str = "table", commercial_only: bool = False,
              in_force: bool = False, as_of: str | None = None) -> str:
    """What ``chokepoint-data show`` prints for these arguments.

    Raises ArgumentError for arguments that do not fit (the CLI exits 2) and NoMatch when a
    filter keeps no row (exit 1, with the nearest values).
    """
    import shutil

    from ..store import _loader

    plain = [f["name"] for f in _loader.table_schema(table)["fields"]]
    needs_labels = labels or any(c.partition("=")[0].strip() not in plain for c in where_)
    if (in_force or as_of is not None) and table != "policies":
        raise ArgumentError(f"--in-force and --as-of apply to the policies table, not {table}; "
                            "try: chokepoint-data show policies --in-force")
    df = _loader.load(table, labels=needs_labels, commercial_only=commercial_only)
    if in_force or as_of is not None:
        from ..answers._policies import with_state

        df = with_state(df, as_of, in_force_only=in_force, argument="--as-of")
        plain = [plain[0], "state", *plain[1:]]
    df = where(df, where_, table)
    if not labels:
        df = df[[c for c in df.columns if c in plain]]
    return render(df.head(rows), width=width or shutil.get_terminal_size((80, 24)).columns, full=full, fmt=fmt)
