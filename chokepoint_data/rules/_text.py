"""Text hygiene: which cells of a text column start or end with white space, or hold a control
character. Pure detection over Arrow arrays; ``_coerce`` reports what it finds.

Tab and newline are allowed in the free-text columns of ``MULTILINE``, in no other column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["MULTILINE", "WHITESPACE", "CONTROL", "text_flags", "control_names", "np_mask"]

#: Free-text columns that may hold tab and newline; every other text column may not.
MULTILINE = frozenset({"description", "rationale", "note", "url_note", "usd_rate_note", "tolerance_reason",
                       "definition"})
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
              "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
CONTROL = frozenset(chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)))
_CONTROL_RX = r"[\x00-\x1f\x7f-\x{9f}]"  # CONTROL, as an RE2 character class
_CONTROL_NAMES = {0: "NUL", 7: "BEL", 8: "BS", 9: "TAB", 10: "LF", 13: "CR", 27: "ESC", 127: "DEL"}


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
