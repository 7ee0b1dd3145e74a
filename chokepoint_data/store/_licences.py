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
    "row_licence_text",
    "row_licences",
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
#: Wholes: a parent row that goes when any of its child rows goes (parent, key, child). A market's
#: shares are one split (a complete split missing a holder no longer sums, a top-n missing its
#: leader misleads); a claim's finding and verdict were written from all its evidence.
_WHOLES = (("markets", "market_id", "market_shares"), ("claims", "claim_id", "claim_evidence"))


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


def row_licences(frames: Mapping[str, "pd.DataFrame"], schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Per table of ``frames``, every licence its rows carry: our curation's, and each cited source's.

    Read from the rows given, so a subset (``commercial_only``) names only the licences its own
    rows carry; the build writes the same into each resource of the descriptor.
    """
    by_source = frames["sources"].drop_duplicates("source_id").set_index("source_id")["licence"].astype(object)
    out: dict[str, list[str]] = {}
    for name, frame in frames.items():
        found = {CURATION_LICENCE}
        if name != "sources":
            cited = cited_sources(name, frame, schemas, frames)
            for col in cited.columns:
                found |= {v for v in cited[col].map(by_source).tolist() if isinstance(v, str)}
        out[name] = sorted(found)
    return out


def row_licence_text(name: str, frame: "pd.DataFrame", schemas: Mapping[str, Mapping[str, Any]],
                     frames: Mapping[str, "pd.DataFrame"]) -> "pd.Series":
    """Per row of ``frame`` (a table named ``name``), the licences that row carries, sorted and
    joined by ", ": our curation's and each cited source's (what ``row_licences`` gathers per
    table, here per row). A row of ``sources`` carries its own ``licence``.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> from chokepoint_data.store import _loader
    >>> from chokepoint_data.store._views import LazyTables
    >>> frames = LazyTables(cd.list_tables(), cd.load)
    >>> schemas = {n: _loader.table_schema(n) for n in cd.list_tables()}
    >>> euv = frames["market_shares"][frames["market_shares"].market_id.str.startswith("euv-lithography:2019")]
    >>> row_licence_text("market_shares", euv, schemas, frames).iloc[0]
    'CC-BY-4.0, CC-BY-NC-4.0'
    """
    import pandas as pd

    if name == "sources":
        return pd.Series(frame["licence"].astype(object).tolist(), index=frame.index, dtype=object)
    by_source = frames["sources"].drop_duplicates("source_id").set_index("source_id")["licence"].astype(object)
    cited = cited_sources(name, frame, schemas, frames)
    found = [{CURATION_LICENCE} for _ in range(len(frame))]
    for col in cited.columns:
        for i, lic in enumerate(cited[col].map(by_source).tolist()):
            if isinstance(lic, str):
                found[i].add(lic)
    return pd.Series([", ".join(sorted(f)) for f in found], index=frame.index, dtype=object)


def _rivals_of_gone_preferred(markets: "pd.DataFrame", kept: Any) -> Any:
    """Markets whose rival group's preferred market is not kept (None if there are none)."""
    import numpy as np

    from ._rivals import rival_codes

    if "preferred" not in markets.columns or not len(markets):
        return None
    preferred = (markets["preferred"] == True).fillna(False).to_numpy(dtype=bool)  # noqa: E712
    gone = preferred & ~kept
    if not gone.any():
        return None
    codes = rival_codes(markets)
    return np.isin(codes, codes[gone])


def commercial_masks(frames: Mapping[str, "pd.DataFrame"], schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Per table, a boolean numpy array: the rows a commercial user may take.

    A row goes when it cites a non-commercial source in any of its citing columns (no
    attribute is blanked: an empty ``ended`` or ``achieved_value`` would read as "still in
    force" or "none found"). Then every row that points at a row that went goes too, until
    nothing changes, through every reference the package resolves (``validate()``):

    - a foreign key other than a citation (an indicator of a choke point that only the ETO data
      lists, a market share of an ETO market);
    - a market share whose holder is a company that went;
    - a claim-evidence row whose key names a row that went;
    - a whole (``_WHOLES``) one of whose parts went: a market that lost a share (and with it
      the rest of its split), a claim that lost a piece of evidence (its finding was written
      from all its evidence and may quote the dropped figures; and with it its other evidence);
    - the rivals of a preferred market that went (``_rivals``): which rival to show was chosen
      for the whole group, and a group without its preferred market would leave that choice to
      whoever reads it (and fail the rule that one rival is preferred).

    What is left is a whole package: every key resolves and it validates.
    """
    keep = {name: ~noncommercial_rows(name, df, schemas, frames["sources"], frames).to_numpy(dtype=bool)
            for name, df in frames.items()}
    links = []
    for name, sch in schemas.items():
        for fk in sch.get("foreignKeys", []):
            target = fk["reference"].get("resource") or name
            if target == "sources" or target not in frames:
                continue
            links.append((name, list(fk["fields"]), target, list(fk["reference"]["fields"])))
    links.append(("market_shares", ["holder"], "companies", ["company_id"]))
    changed = True
    while changed:
        changed = False
        updates = [(name, _points_at_gone(frames, keep, name, fields, target, ref)) for name, fields, target, ref in links]
        updates.append(("claim_evidence", _evidence_gone(frames, schemas, keep)))
        if "markets" in frames:
            updates.append(("markets", _rivals_of_gone_preferred(frames["markets"], keep["markets"])))
        for parent, key, child in _WHOLES:
            if parent in frames and child in frames and key in frames[parent] and key in frames[child]:
                lost = set(frames[child].loc[~keep[child], key].astype(object))
                updates.append((parent, frames[parent][key].astype(object).isin(lost).to_numpy(dtype=bool)))
        for name, hit in updates:
            if hit is None:
                continue
            new = keep[name] & ~hit
            if (new != keep[name]).any():
                keep[name] = new
                changed = True
    return keep


def _points_at_gone(frames: Mapping[str, "pd.DataFrame"], keep: Mapping[str, Any], name: str, fields: list[str],
                    target: str, ref: list[str]) -> Any:
    """True for each row of ``name`` whose ``fields`` name a row of ``target`` that went (None: no link)."""
    import numpy as np

    if name not in frames or target not in frames:
        return None
    df, tdf = frames[name], frames[target]
    if not set(fields) <= set(df.columns) or not set(ref) <= set(tdf.columns):
        return None
    gone = tdf.loc[~keep[target], ref].astype(object)
    if gone.empty:
        return None
    gone_keys = set(map(tuple, gone.itertuples(index=False, name=None)))
    refs = df[fields].astype(object).itertuples(index=False, name=None)
    return np.fromiter((tuple(r) in gone_keys for r in refs), bool, len(df))


def _evidence_gone(frames: Mapping[str, "pd.DataFrame"], schemas: Mapping[str, Mapping[str, Any]],
                   keep: Mapping[str, Any]) -> Any:
    """True for each claim-evidence row whose key names a row that went (None: no such table)."""
    import numpy as np

    from ._keytext import key_strings

    ev = frames.get("claim_evidence")
    if ev is None or not {"evidence_table", "evidence_key"} <= set(ev.columns):
        return None
    hit = np.zeros(len(ev), dtype=bool)
    tables = ev["evidence_table"].astype(object)
    keys = ev["evidence_key"].astype(object)
    for table in sorted({t for t in tables.tolist() if isinstance(t, str)}):
        target, pk = frames.get(table), list(schemas.get(table, {}).get("primaryKey") or [])
        if target is None or not pk or not set(pk) <= set(target.columns) or keep[table].all():
            continue
        gone = set(key_strings(target.loc[~keep[table]], pk).tolist())
        hit |= (tables == table).to_numpy(dtype=bool) & keys.isin(gone).to_numpy(dtype=bool)
    return hit
