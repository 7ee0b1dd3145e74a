"""Failures a person can act on: the nearest existing id, the sum computed, the percentage slip.

``explain(failures, frames)`` is a pure function over the failures of a validation and the
frames that were checked; ``validate()`` calls it last, so every caller (``append()``, the
build, the CLI) gets the same messages. Standard library at import time.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ._failures import Failure, Failures

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["nearest_ids", "explain", "MAX_SUGGESTED"]

_LARGE_POOL = 5_000

#: Nearest-id suggestions are looked up for at most this many failures (each lookup compares
#: the value with every id of the referenced table); the failures after them keep their
#: message as it is. A report that long is read for its first lines and its counts.
MAX_SUGGESTED = 20

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
    return _nearest_in_sorted(str(value), sorted({k for k in known if isinstance(k, str)}), n)


def _nearest_in_sorted(value: str, pool: Any, n: int) -> list[str]:
    if not isinstance(pool, list):  # a large pool as an Arrow array of distinct ids: filter, then sort
        import pyarrow.compute as pc

        prefix = value[:3]
        found = pool.filter(pc.fill_null(pc.starts_with(pool, pattern=prefix), False))
        pool = sorted(found.to_pylist())[:_LARGE_POOL]
    elif len(pool) > _LARGE_POOL:  # compare with the ids that share the value's first characters only
        import bisect

        prefix = value[:3]
        start = bisect.bisect_left(pool, prefix)
        pool = [k for k in pool[start:start + _LARGE_POOL] if k.startswith(prefix)]
    return difflib.get_close_matches(value, pool, n=n, cutoff=0.6)


def _sum_note(found: "tuple[int, float] | None") -> str:
    """What a market-sum failure adds: the market's share count and sum, where known."""
    return "" if found is None else f" (this market's {found[0]} shares sum to {found[1]:.4g})"


def _did_you_mean(close: Sequence[str]) -> str:
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""




def _frame_row(frame: "pd.DataFrame", label: Any) -> Any:
    try:
        row = frame.loc[label]
    except (KeyError, TypeError):
        return None
    return row.iloc[0] if hasattr(row, "columns") else row


def explain(failures: "Sequence[Failure] | Failures", frames: Mapping[str, "pd.DataFrame"]) -> Failures:
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
    >>> from chokepoint_data import Failure
    >>> f = Failure("companies", "foreign_key:source_id->sources.source_id", "value does not resolve",
    ...             column="source_id", row=0, value="reuters-2024-big-fund")
    >>> sources = pd.DataFrame({"source_id": ["reuters-2024-big-fund-3", "bjnews-2019-big-fund-2"]})
    >>> explain([f], {"sources": sources})[0].message
    "value does not resolve; did you mean 'reuters-2024-big-fund-3'?"
    """
    import numpy as np
    import pandas as pd

    def said(f: Failure, message: str) -> Failure:
        return Failure(f.table, f.rule, message, f.column, f.row, f.key, f.value)

    parts = failures.parts() if isinstance(failures, Failures) else list(failures)
    typed_cells: set[tuple[Any, Any, Any]] = set()
    for part in parts:
        if part.rule.startswith("type:"):
            rows = [part.row] if isinstance(part, Failure) else part.rows
            typed_cells.update((part.table, row, part.column) for row in rows)
    pools: dict[tuple[str, str], Any] = {}  # one sorted id list (or Arrow array) per referenced column

    def pool(table: str, column: str) -> Any:
        """The ids of a column: a sorted list, or for a large column its distinct ids in Arrow
        (sorting a million ids for twenty suggestions would cost more than the validation)."""
        if (table, column) not in pools:
            ids = frames[table][column]
            if len(ids) > _LARGE_POOL and isinstance(ids.dtype, pd.StringDtype):
                import pyarrow.compute as pc

                from ._columns import as_arrow_text

                pools[(table, column)] = pc.unique(as_arrow_text(ids).drop_null())
            else:
                pools[(table, column)] = sorted(set(ids.dropna().astype(str).tolist()))
        return pools[(table, column)]

    totals: dict[str, Any] = {}  # table -> (row labels, shares of its market, their sum) per row
    sum_rules = ("market_share_sum", "market_share_rest_sum")

    def market_totals(table: str, labels: Sequence[Any]) -> list[tuple[int, float] | None]:
        """(shares, sum) of the market of each row label; None where the label is not a row."""
        if table not in totals:  # one groupby per table, for every row
            frame = frames[table]
            key = ["market_id"] if "market_id" in frame.columns else [
                c for c in ("chokepoint_id", "year", "scope", "basis", "breakdown", "source_id") if c in frame.columns]
            if not key:
                raise KeyError(table)
            share = frame["share"]
            share = pd.to_numeric(share if pd.api.types.is_numeric_dtype(share.dtype) else share.astype(object), errors="coerce")
            if len(key) == 1:  # the sum skips null shares; the count counts every row, as the rules do
                from ._markets import _group_sum  # pandas' group sum, as the rule sums: the same last digit

                codes = np.asarray(pd.factorize(frame[key[0]], use_na_sentinel=False)[0], dtype=np.int64)
                k = int(codes.max()) + 1 if len(codes) else 0
                values = share.to_numpy(dtype="float64", na_value=np.nan)
                sizes, sums = np.bincount(codes, minlength=k)[codes], _group_sum(values, codes, k)[codes]
            else:
                grouped = share.groupby([frame[c] for c in key], dropna=False, observed=True, sort=False)
                sizes, sums = grouped.transform("size").to_numpy(), grouped.transform("sum").to_numpy()
            totals[table] = (frame.index, sizes, sums)
        index, sizes, sums = totals[table]
        try:
            if index.is_unique:
                at = index.get_indexer(labels)
            else:  # a label on two rows names no one market: no sum for it
                once = ~index.duplicated(keep=False)
                at = pd.Series(once.nonzero()[0], index=index[once]).reindex(labels).fillna(-1).astype("int64").to_numpy()
        except pd.errors.InvalidIndexError:  # labels that name no single row (overlapping intervals)
            at = np.full(len(labels), -1)
        return [(int(sizes[i]), float(sums[i])) if i >= 0 else None for i in at]

    suggested = 0

    def one(f: Failure) -> Failure | None:
        nonlocal suggested
        try:
            if f.rule == "required" and (f.table, f.row, f.column) in typed_cells:
                return None  # the cell did not parse; the type failure already says so
            match = _FK_RULE.match(f.rule)
            if match and f.value is not None and match["table"] in frames and suggested < MAX_SUGGESTED:
                suggested += 1
                ref = match["ref"].split(",")[0]
                f = said(f, f.message + _did_you_mean(_nearest_in_sorted(str(f.value), pool(match["table"], ref), 1)))
            elif f.rule == "market_holder" and f.value is not None and "companies" in frames and suggested < MAX_SUGGESTED:
                suggested += 1
                f = said(f, f.message + _did_you_mean(_nearest_in_sorted(str(f.value), pool("companies", "company_id"), 1)))
            elif (f.rule.startswith("type:number") and f.value is not None and _PERCENT.match(f.value)
                  and "shares are fractions:" not in f.message):
                number = float(f.value.strip().rstrip("%").strip())
                f = said(f, f.message + f"; {f.value.strip()} looks like a percentage: write it as the fraction {number / 100:g}")
            elif f.rule in sum_rules and f.table in frames:
                f = said(f, f.message + _sum_note(market_totals(f.table, [f.row])[0]))
        except (KeyError, ValueError, TypeError, AttributeError):
            pass
        return f

    out = Failures()
    for part in parts:
        if isinstance(part, Failure):
            kept = one(part)
            if kept is not None:
                out.append(kept)
            continue
        # a block of one rule: made into Failures only where a message changes or a row goes
        suggests = bool(_FK_RULE.match(part.rule)) or part.rule == "market_holder"
        if suggests:
            head = max(0, min(len(part), MAX_SUGGESTED - suggested))
            for i in range(head):
                out.append(one(part.item(i)))  # type: ignore[arg-type]
            if head < len(part):
                out.add_part(part.take(list(range(head, len(part)))))
        elif part.rule in sum_rules and part.table in frames:  # each row's message gets its market's sum
            try:
                found = market_totals(part.table, part.rows)
            except (KeyError, ValueError, TypeError, AttributeError):
                out.add_part(part)
                continue
            out.add_part(part.with_messages([m + _sum_note(f) for m, f in zip(part.messages(), found)]))
        elif part.rule.startswith("type:number"):  # a message changes only where a value looks like a percentage
            hints = [one(part.item(i)).message if isinstance(v, str) and _PERCENT.match(v) else None  # type: ignore[union-attr]
                     for i, v in enumerate(part.texts())]
            changed = [h for h in hints if h is not None]
            out.add_part(part.with_messages([m if h is None else h for m, h in zip(part.messages(), hints)]) if changed else part)
        elif part.rule == "required" and any(t == part.table and c == part.column for t, _, c in typed_cells):
            keep = [i for i, row in enumerate(part.rows) if (part.table, row, part.column) not in typed_cells]
            out.add_part(part.take(keep))
        else:
            out.add_part(part)
    return out
