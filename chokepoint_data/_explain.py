"""Failures a person can act on: the nearest existing id, the sum computed, the percentage slip.

``explain(failures, frames)`` is a pure function over the failures of a validation and the
frames that were checked; ``validate()`` calls it last, so every caller (``append()``, the
build, the CLI) gets the same messages. Standard library at import time.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ._errors import Failure

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["nearest_ids", "explain"]

_FK_RULE = re.compile(r"^foreign_key:(?P<fields>[^-]+)->(?P<table>[^.]+)\.(?P<ref>.+)$")
_PERCENT = re.compile(r"^\s*[+-]?\d+(\.\d*)?\s*%\s*$")


def nearest_ids(value: str, known: Iterable[str], *, n: int = 3) -> list[str]:
    """The existing ids closest to ``value`` (difflib ratio), best first; empty if none is close.

    Examples
    --------
    >>> nearest_ids("asmll", ["asml", "nikon", "canon"])
    ['asml']
    >>> nearest_ids("zzz", ["asml", "nikon"])
    []
    """
    pool = sorted({k for k in known if isinstance(k, str)})
    return difflib.get_close_matches(str(value), pool, n=n, cutoff=0.6)


def _did_you_mean(close: Sequence[str]) -> str:
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""




def _frame_row(frame: "pd.DataFrame", label: Any) -> Any:
    try:
        row = frame.loc[label]
    except (KeyError, TypeError):
        return None
    return row.iloc[0] if hasattr(row, "columns") else row


def explain(failures: Sequence[Failure], frames: Mapping[str, "pd.DataFrame"]) -> list[Failure]:
    """Make failures easier to act on; a pure function the validator can call last.

    - a foreign key or market holder that does not resolve names the nearest existing ids;
    - a market-share sum failure shows the sum it computed;
    - a share typed as a percentage (``'33%'``) gets a hint to write it as a fraction, and
      the ``required`` failure that the unparsable cell caused on the same cell is dropped.

    ``frames`` maps table name -> the frames that were checked (typed or as given), with the
    same row labels as the failures. A failure that cannot be enriched is kept as it is.

    Examples
    --------
    >>> import pandas as pd
    >>> from chokepoint_data._errors import Failure
    >>> f = Failure("companies", "foreign_key:source_id->sources.source_id", "value does not resolve",
    ...             column="source_id", row=0, value="reuters-2024-big-fund")
    >>> sources = pd.DataFrame({"source_id": ["reuters-2024-big-fund-3", "bjnews-2019-big-fund-2"]})
    >>> explain([f], {"sources": sources})[0].message
    "value does not resolve; did you mean 'reuters-2024-big-fund-3'?"
    """
    import pandas as pd

    typed_cells = {(f.table, f.row, f.column) for f in failures if f.rule.startswith("type:")}
    out: list[Failure] = []
    for f in failures:
        try:
            if f.rule == "required" and (f.table, f.row, f.column) in typed_cells:
                continue  # the cell did not parse; the type failure already says so
            match = _FK_RULE.match(f.rule)
            if match and f.value is not None and match["table"] in frames:
                ref = match["ref"].split(",")[0]
                close = nearest_ids(f.value, frames[match["table"]][ref].astype(object).tolist(), n=1)
                f = replace(f, message=f.message + _did_you_mean(close))
            elif f.rule == "market_holder" and f.value is not None and "companies" in frames:
                close = nearest_ids(f.value, frames["companies"]["company_id"].astype(object).tolist(), n=1)
                f = replace(f, message=f.message + _did_you_mean(close))
            elif f.rule.startswith("type:number") and f.value is not None and _PERCENT.match(f.value):
                number = float(f.value.strip().rstrip("%").strip())
                f = replace(f, message=f.message + f"; {f.value.strip()} looks like a percentage: write it as the fraction {number / 100:g}")
            elif f.rule in ("market_share_sum", "market_share_rest_sum") and f.table in frames:
                frame = frames[f.table]
                row = _frame_row(frame, f.row)
                key = ["market_id"] if "market_id" in frame.columns else [
                    c for c in ("chokepoint_id", "year", "scope", "basis", "breakdown", "source_id") if c in frame.columns]
                if row is not None and key:
                    same = pd.Series(True, index=frame.index)
                    for col in key:
                        same &= frame[col].astype(object).eq(row[col]).fillna(False).astype(bool)
                    total = pd.to_numeric(frame.loc[same, "share"].astype(object), errors="coerce").sum()
                    f = replace(f, message=f.message + f" (this market's {int(same.sum())} shares sum to {total:.4g})")
        except (KeyError, ValueError, TypeError, AttributeError):
            pass
        out.append(f)
    return out
