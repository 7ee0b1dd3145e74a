"""Licences: which terms each row carries, and which rows a commercial user may take.

A row carries the terms of every source it cites: the columns with a foreign key to
``sources.source_id`` (``source_id``, ``listed_by``, ``achieved_source_id``,
``end_source_id``, ...), and for ``market_shares`` the source of its market. Our own
curation is CC BY 4.0; a row whose source is licensed non-commercially (the ETO Supply
Chain Explorer data, CC BY-NC 4.0) is non-commercial whatever else it cites.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "CURATION_LICENCE",
    "LICENCES",
    "NONCOMMERCIAL",
    "cited_sources",
    "commercial_masks",
    "licence_entry",
    "noncommercial_rows",
    "source_columns",
]

#: Our own curation (selection, structure, notes, grades).
CURATION_LICENCE = "CC-BY-4.0"
#: Licence id -> (title, URL) for the descriptor and the docs.
LICENCES: dict[str, tuple[str, str]] = {
    "CC-BY-4.0": ("Creative Commons Attribution 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "CC-BY-SA-4.0": ("Creative Commons Attribution-ShareAlike 4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    "CC-BY-NC-4.0": ("Creative Commons Attribution-NonCommercial 4.0 (rows from sources under it: no commercial use)",
                     "https://creativecommons.org/licenses/by-nc/4.0/"),
    "CC-BY-NC-SA-4.0": ("Creative Commons Attribution-NonCommercial-ShareAlike 4.0 (no commercial use)",
                        "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
    "CC0-1.0": ("Creative Commons Zero 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "LicenseRef-US-Government-Work": ("Work of the US federal government (public domain in the US, 17 U.S.C. 105)", ""),
    "LicenseRef-Copyrighted-Facts": ("Facts and short quotations taken from a copyrighted publication; the facts are "
                                     "offered under the curation licence, the publication itself is not (docs/METHOD.md)", ""),
}
#: Licences that forbid commercial use of what is taken from the source.
NONCOMMERCIAL = frozenset({"CC-BY-NC-4.0", "CC-BY-NC-SA-4.0"})
#: Tables whose rows cite their source through a parent row: table -> (column, parent table).
_SOURCE_VIA = {"market_shares": ("market_id", "markets")}


def licence_entry(licence: str) -> dict[str, str]:
    """A Data Package ``licenses`` entry for ``licence``."""
    title, url = LICENCES.get(licence, (licence, ""))
    entry = {"name": licence, "title": title}
    if url:
        entry["path"] = url
    return entry


def source_columns(schema: Mapping[str, Any]) -> list[str]:
    """Columns of a table that cite a source (a foreign key to sources.source_id)."""
    cols = []
    for fk in schema.get("foreignKeys", []):
        ref = fk.get("reference", {})
        if ref.get("resource") == "sources" and list(ref.get("fields", [])) == ["source_id"] and len(fk["fields"]) == 1:
            cols.append(fk["fields"][0])
    return cols


def cited_sources(name: str, frame: "pd.DataFrame", schemas: Mapping[str, Mapping[str, Any]],
                  parents: Mapping[str, "pd.DataFrame"]) -> "pd.DataFrame":
    """One column per citing column of ``frame``: the source id each row cites there (or NA)."""
    import pandas as pd

    out = {}
    for col in source_columns(schemas[name]):
        if col in frame.columns:
            out[col] = frame[col].astype("object")
    via = _SOURCE_VIA.get(name)
    if via is not None and via[0] in frame.columns and via[1] in parents:
        parent = parents[via[1]]
        for col in source_columns(schemas[via[1]]):
            by_id = parent.drop_duplicates(via[0]).set_index(via[0])[col].astype("object")
            out[f"{via[1]}.{col}"] = frame[via[0]].astype("object").map(by_id)
    return pd.DataFrame(out, index=frame.index)


def noncommercial_rows(name: str, frame: "pd.DataFrame", schemas: Mapping[str, Mapping[str, Any]],
                       sources: "pd.DataFrame", parents: Mapping[str, "pd.DataFrame"]) -> "pd.Series":
    """True for each row of ``frame`` that cites a source whose licence forbids commercial use."""
    import pandas as pd

    nc = set(sources.loc[sources["licence"].astype("object").isin(NONCOMMERCIAL), "source_id"].astype("object"))
    cited = cited_sources(name, frame, schemas, parents)
    if name == "sources":  # bibliographic rows: what to cite, never data taken from the source
        return pd.Series(False, index=frame.index)
    if cited.empty:
        return pd.Series(False, index=frame.index)
    return cited.isin(nc).any(axis=1)


def commercial_masks(frames: Mapping[str, "pd.DataFrame"], schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Per table, a boolean numpy array: the rows a commercial user may take.

    A row goes when it cites a non-commercial source, and then so does every row that points at
    a row that went (through a foreign key other than a citation), until nothing changes: what is
    left is a whole package whose keys all resolve. For example a choke point listed only by the
    ETO data goes, and with it the market shares and indicators of that choke point.
    """
    import numpy as np

    keep = {name: ~noncommercial_rows(name, df, schemas, frames["sources"], frames).to_numpy(dtype=bool)
            for name, df in frames.items()}
    links = []
    for name, sch in schemas.items():
        for fk in sch.get("foreignKeys", []):
            target = fk["reference"].get("resource") or name
            if target == "sources" or target not in frames:
                continue
            links.append((name, list(fk["fields"]), target, list(fk["reference"]["fields"])))
    changed = True
    while changed:
        changed = False
        for name, fields, target, ref in links:
            df, tdf = frames[name], frames[target]
            if not set(fields) <= set(df.columns) or not set(ref) <= set(tdf.columns):
                continue
            gone = tdf.loc[~keep[target], ref].astype(object)
            if gone.empty:
                continue
            gone_keys = set(map(tuple, gone.itertuples(index=False, name=None)))
            refs = df[fields].astype(object).itertuples(index=False, name=None)
            hit = np.fromiter((tuple(r) in gone_keys for r in refs), bool, len(df))
            new = keep[name] & ~hit
            if (new != keep[name]).any():
                keep[name] = new
                changed = True
    return keep
