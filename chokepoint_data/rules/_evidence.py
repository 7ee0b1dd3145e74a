"""The rules of claims and their evidence: each evidence row's key names exactly one row of the
table it cites, and a claim's verdict has evidence of the bearing it needs. Registered with
the other invariants in ``_invariants.RULES``.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import pandas as pd

from ._columns import _bool, isin
from ._keys import key_strings, key_texts_of, parse_key

__all__ = ["VERDICT_NEEDS"]


def _rows_that_may_match(target: pd.DataFrame, columns: list[str], keys: pd.Series) -> pd.DataFrame:
    """The key columns of the rows of ``target`` that may match one of ``keys``: a few evidence
    keys against a large table need key text for a few rows only. A row whose value in a key
    column no key names cannot match: text columns are compared whole (hash lookups in Arrow,
    no copies), then the other columns on the few rows left, as key text."""
    if len(target) <= 4 * len(keys) + 1000:
        return target[columns]
    parsed = [pairs for pairs in map(parse_key, keys.tolist()) if pairs]

    def wanted(i: int) -> pd.Series:
        return pd.Series(sorted({pairs[i][1] for pairs in parsed if len(pairs) > i}), dtype=pd.StringDtype("pyarrow"))

    text = [i for i, col in enumerate(columns) if isinstance(target[col].dtype, pd.StringDtype)]
    keep = np.ones(len(target), dtype=bool)
    for i in text:
        values, column = wanted(i), target[columns[i]]
        found = isin(column, values)
        if (values == "").any():  # a null cell's key text is empty
            found |= column.isna().to_numpy(dtype=bool)
        keep &= found
    rows = target.loc[keep, columns]
    for i, col in enumerate(columns):
        if i not in text:
            rows = rows[isin(key_texts_of(rows[col]), wanted(i))]
    return rows


def _evidence_resolves(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    """Each evidence row names a table of the set and a key that matches exactly one row of it.

    Vectorised per (table, key columns) group: the target's key text is computed once per
    group and looked up. A key whose columns the table does not have (for example a
    market_shares key written in a later data model) does not resolve and is reported.
    """
    def ok(d: pd.DataFrame) -> pd.Series:
        out = pd.Series(True, index=d.index)
        table = d["evidence_table"].astype("string")
        cols = d["evidence_key"].map(lambda k: None if (p := parse_key(k)) is None else "\x1f".join(c for c, _ in p))
        checkable = table.notna() & d["evidence_key"].notna()
        out[checkable & cols.isna()] = False
        groups = pd.DataFrame({"t": table, "c": cols})[checkable & cols.notna()]
        for (name, joined), group in groups.groupby(["t", "c"], sort=False):
            target = frames.get(str(name))
            columns = str(joined).split("\x1f")
            if target is None or not set(columns) <= set(target.columns):
                out[group.index] = False
                continue
            keys = d.loc[group.index, "evidence_key"].astype("string")
            counts = key_strings(_rows_that_may_match(target, columns, keys), columns).value_counts()
            found = keys.map(counts).fillna(0)
            out[group.index] = (found == 1).to_numpy()
        return out

    return ok


#: The bearing a claim's evidence must include for each verdict (None: any bearing will do).
VERDICT_NEEDS = {"supported": "supports", "contradicted": "contradicts", "refined": None}


def _claim_has_evidence(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    evidence = frames.get("claim_evidence")
    cited: set[tuple[str, str | None]] = set()
    if evidence is not None and {"claim_id", "bearing"} <= set(evidence.columns):
        pairs = evidence[["claim_id", "bearing"]].dropna(subset=["claim_id"]).astype(object)
        for claim, bearing in zip(pairs["claim_id"].tolist(), pairs["bearing"].tolist()):
            cited.add((claim, None))
            if isinstance(bearing, str):
                cited.add((claim, bearing))

    def ok(d: pd.DataFrame) -> pd.Series:
        out = []
        for claim, verdict in zip(d["claim_id"].tolist(), d["verdict"].tolist()):
            if not isinstance(verdict, str) or verdict not in VERDICT_NEEDS or not isinstance(claim, str):
                out.append(True)
            else:
                out.append((claim, VERDICT_NEEDS[verdict]) in cited)
        return _bool(out, d.index)

    return ok
