"""Row keys as ``col=value;col=value`` text, the form claim_evidence.evidence_key uses.

One definition, read by the rule that resolves evidence keys (``rules._evidence``), by
``claims()`` and by the commercial subset (``_licences``), so all three read a key the same way.
pandas only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["KEY_SEP", "parse_key", "key_strings", "key_texts_of"]

KEY_SEP = ";"


def parse_key(text: object) -> tuple[tuple[str, str], ...] | None:
    """``'a=1;b=x'`` -> ``(('a', '1'), ('b', 'x'))``; None when the text is not a key."""
    if not isinstance(text, str) or not text:
        return None
    pairs = []
    for part in text.split(KEY_SEP):
        col, sep, value = part.partition("=")
        if not sep or not col:
            return None
        pairs.append((col, value))
    return tuple(pairs)


def key_texts_of(s: "pd.Series") -> "pd.Series":
    """Cell values as key text: dates as YYYY-MM-DD, integers without '.0', nulls as ''."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_bool_dtype(s.dtype):
        out = s.astype("string").str.lower()
    elif pd.api.types.is_float_dtype(s.dtype):
        whole = s.notna() & (s == s.round())
        out = s.astype("string")
        out[whole] = s[whole].astype("Int64").astype("string")
    else:
        out = s.astype("string")
    return out.fillna("")


def key_strings(frame: "pd.DataFrame", columns: Sequence[str]) -> "pd.Series":
    """The key text of every row of ``frame`` over ``columns`` (vectorised)."""
    import pandas as pd

    out = pd.Series("", index=frame.index, dtype="string")
    for i, col in enumerate(columns):
        part = col + "=" + key_texts_of(frame[col])
        out = part if i == 0 else out + KEY_SEP + part
    return out.astype("string")
