"""Text hygiene: which cells of a text column start or end with white space, or hold a control
character. Pure detection over Arrow arrays; ``_coerce`` reports what it finds.

Tab and newline are allowed in the free-text columns of ``MULTILINE``, in no other column.

Invisible characters (``INVISIBLE``: bidirectional controls and marks, zero-width characters,
the word joiner, the byte-order mark, the soft hyphen) can make two different ids look the
same or reorder what a reader sees. The direction overrides, embeddings and isolates
(``REORDERING``, which the command line escapes as unsafe) are refused in every text column;
ids (``is_id_column``) hold none of ``INVISIBLE``; names (``NAME_COLUMNS``) hold none but the
zero-width non-joiner and joiner (U+200C, U+200D), which Persian, Arabic and Indic scripts
need to spell a word right. ``text_rule`` says it in one sentence for the data dictionary.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["MULTILINE", "WHITESPACE", "CONTROL", "INVISIBLE", "REORDERING", "NAME_COLUMNS", "text_flags",
           "control_names", "np_mask", "is_id_column", "barred_invisible", "invisible_flags", "invisible_names",
           "text_rule"]

#: Free-text columns that may hold tab and newline; every other text column may not.
MULTILINE = frozenset({"description", "rationale", "note", "url_note", "usd_rate_note", "tolerance_reason",
                       "definition"})
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
              "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
CONTROL = frozenset(chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)))
_CONTROL_RX = r"[\x00-\x1f\x7f-\x{9f}]"  # CONTROL, as an RE2 character class
_CONTROL_NAMES = {0: "NUL", 7: "BEL", 8: "BS", 9: "TAB", 10: "LF", 13: "CR", 27: "ESC", 127: "DEL"}


REORDERING = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
JOINERS = "\u200c\u200d"
INVISIBLE = REORDERING + "\u200e\u200f\u061c" + "\u200b" + JOINERS + "\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e"
#: Columns holding a name of something (people read them, and tell things apart by them).
NAME_COLUMNS = frozenset({"name", "name_en", "name_zh", "title", "publisher", "author", "claimant"})
#: Columns holding an id or a code, besides those named ``*_id``.
_ID_COLUMNS = frozenset({"holder", "evidence_key", "geo", "country", "jurisdiction", "language", "period"})


def is_id_column(name: str) -> bool:
    return name.endswith("_id") or name in _ID_COLUMNS


def barred_invisible(name: str) -> str:
    """The invisible characters refused in column ``name`` (see the module docstring)."""
    if is_id_column(name):
        return INVISIBLE
    if name in NAME_COLUMNS:
        return "".join(c for c in INVISIBLE if c not in JOINERS)
    return REORDERING


def invisible_flags(a: pa.Array, barred: str) -> np.ndarray:
    """Which cells of a string array hold one of ``barred`` (one RE2 pass over the column)."""
    klass = "".join(f"\\x{{{ord(c):x}}}" for c in barred)
    return np_mask(pc.match_substring_regex(a, f"[{klass}]"))


def invisible_names(value: str, barred: str) -> str:
    """'U+202E RIGHT-TO-LEFT OVERRIDE, U+200B ZERO WIDTH SPACE' for the barred characters of ``value``."""
    import unicodedata

    found = sorted(set(barred).intersection(value))
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'FORMAT CHARACTER')}" for c in found)


def text_rule() -> str:
    """The rule for invisible characters, in words (the data dictionary prints it)."""
    return ("Text never holds a control character (tab and newline only in the free-text columns: "
            f"{', '.join(sorted(MULTILINE))}) nor a direction override, embedding or isolate (U+202A-U+202E, "
            "U+2066-U+2069). Ids and codes (every `*_id` column and "
            f"{', '.join(sorted(_ID_COLUMNS))}) hold no invisible character at all: no direction mark "
            "(U+200E, U+200F, U+061C), zero-width character (U+200B-U+200D), word joiner or invisible "
            "operator (U+2060-U+2064), byte-order mark (U+FEFF), soft hyphen (U+00AD) or U+180E. Names "
            f"({', '.join(sorted(NAME_COLUMNS))}) follow the same rule but may hold the zero-width "
            "non-joiner and joiner (U+200C, U+200D), which Persian, Arabic and Indic scripts need.")


def np_mask(a: pa.Array | pa.ChunkedArray, fill: bool = False) -> np.ndarray:
    return np.asarray(pc.fill_null(a, fill).to_numpy(zero_copy_only=False), dtype=bool)


def _offsets_and_data(a: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    a = a.cast(pa.large_string()) if not pa.types.is_large_string(a.type) else a
    bufs = a.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[a.offset: a.offset + len(a) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


def _python_check(values: list[Any], allow: str) -> tuple[np.ndarray, np.ndarray]:
    ws = np.fromiter((isinstance(v, str) and v != v.strip() for v in values), bool, len(values))
    barred = CONTROL.difference(allow)
    ctrl = np.fromiter((isinstance(v, str) and not barred.isdisjoint(v) for v in values), bool, len(values))
    return ws, ctrl


def text_flags(a: pa.Array, allow: str) -> tuple[np.ndarray, np.ndarray]:
    """(leading/trailing white space, control character) per cell of a string array.

    Bytes first (numpy over the data buffer): the first and last byte decide white space for
    ASCII ends, Arrow decides it for the other ends (against ``WHITESPACE``); cells holding a
    control character (RE2 over the column) are decided exactly in Python, and they are few.
    """
    n = len(a)
    offsets, data = _offsets_and_data(a)
    valid = np_mask(pc.is_valid(a))
    starts, ends = offsets[:-1], offsets[1:]
    filled = valid & (ends > starts)
    first = np.zeros(n, np.uint8)
    last = np.zeros(n, np.uint8)
    first[filled] = data[starts[filled]]
    last[filled] = data[ends[filled] - 1]
    ascii_ws = np.zeros(256, bool)
    ascii_ws[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
    ws = filled & (ascii_ws[first] | ascii_ws[last])
    # a cell that starts or ends with a non-ASCII character: is that character white space?
    wide = np.flatnonzero(filled & ((first >= 0x80) | (last >= 0x80)))
    if len(wide):
        cells = a.take(pa.array(wide, type=pa.int64()))
        spaces = pa.array(list(WHITESPACE), type=pa.large_string())
        ends = pc.or_(pc.is_in(pc.utf8_slice_codeunits(cells, 0, 1), value_set=spaces),
                      pc.is_in(pc.utf8_slice_codeunits(cells, -1, 2**31 - 1), value_set=spaces))
        ws[wide] |= pc.fill_null(ends, False).to_numpy(zero_copy_only=False)
    # control characters: RE2 finds the cells holding one (one pass over the text, faster than
    # numpy over its bytes), and only those are looked at in Python
    rows = np.flatnonzero(np_mask(pc.match_substring_regex(a, _CONTROL_RX)))
    ctrl = np.zeros(n, bool)
    if len(rows):
        values = a.take(pa.array(rows, type=pa.int64())).to_pylist()
        w, c = _python_check(values, allow)
        ws[rows] |= w
        ctrl[rows] = c
    return ws, ctrl


def control_names(value: str, allow: str) -> str:
    """The control characters of ``value`` not in ``allow``: 'U+001B ESC, U+0007 BEL'."""
    found = sorted(CONTROL.difference(allow).intersection(value))
    return ", ".join(f"U+{ord(c):04X}" + (f" {_CONTROL_NAMES[ord(c)]}" if ord(c) in _CONTROL_NAMES else "") for c in found)
