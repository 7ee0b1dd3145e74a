"""The rules of claims and their evidence: each evidence row's key names exactly one row of the
table it cites, a claim's verdict has evidence of the bearing it needs, and a claim cannot
support itself (an evidence row whose fact cites the claim's own ``appeared_source_id`` restates
the claim). Registered with the other invariants in ``_invariants.RULES``; ``evidence_sources``
is shared with ``claims()``, so both judge independence the same way.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import pandas as pd

from ._columns import _bool, isin
from ._keys import key_strings, key_texts_of, parse_key

__all__ = ["FACT_SOURCE", "VERDICT_NEEDS", "evidence_sources", "independent_evidence"]


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


#: The column of each evidence table that names the fact's source (market_shares: its market's).
FACT_SOURCE = {"chokepoints": "listed_by", "market_shares": "market_id"}


def _fact_source_column(name: str, target: pd.DataFrame, frames: Mapping[str, pd.DataFrame]) -> pd.Series | None:
    """The source of each row of ``target`` (the table ``name``), or None when it cannot be told."""
    col = FACT_SOURCE.get(name, "source_id")
    if col not in target.columns:
        return None
    if name != "market_shares":
        return target[col].astype("object")
    markets = frames.get("markets")
    if markets is None or not {"market_id", "source_id"} <= set(markets.columns):
        return None
    by_id = markets.drop_duplicates("market_id").set_index(markets.drop_duplicates("market_id")["market_id"].astype("object"))
    return target["market_id"].astype("object").map(by_id["source_id"].astype("object"))


def evidence_sources(evidence: pd.DataFrame, frames: Mapping[str, pd.DataFrame]) -> pd.Series:
    """The source of the fact row each evidence row names (NA where the key names no single row
    or the table has no source column); for a market share, its market's source."""
    out = pd.Series(pd.NA, index=evidence.index, dtype="object")
    if evidence.empty:
        return out
    keys = evidence["evidence_key"].astype("object")
    cols = pd.Series([None if (p := parse_key(k)) is None else "\x1f".join(c for c, _ in p) for k in keys.tolist()],
                     index=evidence.index, dtype="object")
    groups = pd.DataFrame({"t": evidence["evidence_table"].astype("object"), "c": cols}, index=evidence.index)
    for (name, joined), group in groups.dropna().groupby(["t", "c"], sort=False):
        target = frames.get(str(name))
        columns = str(joined).split("\x1f")
        if target is None or not set(columns) <= set(target.columns):
            continue
        source = _fact_source_column(str(name), target, frames)
        if source is None:
            continue
        wanted = keys[group.index].astype("string")
        rows = _rows_that_may_match(target, columns, wanted)
        text = key_strings(rows, columns)
        unique = ~text.duplicated(keep=False)
        lookup = pd.Series(source.loc[rows.index[unique.to_numpy()]].to_numpy(), index=text[unique].astype(object).to_numpy())
        out[group.index] = wanted.astype(object).map(lookup).to_numpy()
    return out


def independent_evidence(evidence: pd.DataFrame, claims: pd.DataFrame, frames: Mapping[str, pd.DataFrame]) -> pd.Series:
    """Per evidence row: True where its fact cites a source other than the claim's
    ``appeared_source_id``, False where it cites that source (it restates the claim), NA where
    the fact's source cannot be told."""
    appeared = claims.drop_duplicates("claim_id").set_index(claims.drop_duplicates("claim_id")["claim_id"].astype("object"))
    own = evidence["claim_id"].astype("object").map(appeared["appeared_source_id"].astype("object"))
    source = evidence_sources(evidence, frames)
    known = source.notna() & own.notna()
    values = (source.astype("object") != own.astype("object")).where(known, pd.NA)
    return pd.Series(pd.array(values.tolist(), dtype="boolean"), index=evidence.index)


def _claim_not_self_supported(frames: Mapping[str, pd.DataFrame]) -> Callable[[pd.DataFrame], pd.Series]:
    """A claim judged ``supported`` needs an independent ``supports`` row, ``refined`` an independent
    row of any bearing: a row citing the claim's own source restates it. A row whose source cannot
    be told counts as independent here (``evidence_resolves`` reports its key)."""
    evidence = frames.get("claim_evidence")

    def ok(d: pd.DataFrame) -> pd.Series:
        if evidence is None or not {"claim_id", "bearing", "evidence_table", "evidence_key"} <= set(evidence.columns) \
                or not {"claim_id", "appeared_source_id", "verdict"} <= set(d.columns):
            return pd.Series(True, index=d.index)
        independent = independent_evidence(evidence, d, frames).fillna(True).to_numpy(dtype=bool)
        ev = evidence.loc[independent, ["claim_id", "bearing"]].astype(object)
        cited = set(zip(ev["claim_id"].tolist(), ev["bearing"].tolist())) | {(c, None) for c in ev["claim_id"].tolist()}
        out = []
        for claim, verdict in zip(d["claim_id"].tolist(), d["verdict"].tolist()):
            need = {"supported": "supports", "refined": None}
            if not isinstance(claim, str) or not isinstance(verdict, str) or verdict not in need:
                out.append(True)
            else:
                out.append((claim, need[verdict]) in cited)
        return _bool(out, d.index)

    return ok
