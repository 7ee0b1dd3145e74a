"""Claims with their evidence joined, and the schema.org ClaimReview export.

``claims()`` answers "what does the data say about this claim?" at call time from the
shipped tables: nothing here is stored. ``claimreview_jsonld()`` turns the same tables into
the JSON-LD that fact-checkers publish (one ``ClaimReview`` per claim), and
``write_claimreview()`` writes it atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from .._errors import ArgumentError, ChokepointDataError
from ..rules._evidence import independent_evidence
from ..rules._keys import key_strings, parse_key

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["VERDICT_RATING", "claims", "claimreview_jsonld", "write_claimreview"]

#: ClaimReview ``reviewRating.ratingValue`` of each verdict, on a 1 (worst) to 4 (best)
#: scale: how far the data bears the claim out. ``unsupported`` (no evidence either way)
#: sits above ``contradicted`` (evidence against) and below ``refined`` (true at core,
#: corrected in a figure, date, definition or scope).
VERDICT_RATING: Mapping[str, int] = {"contradicted": 1, "unsupported": 2, "refined": 3, "supported": 4}

#: For each evidence table: the column that holds its figure (or its verdict-like value),
#: the unit column or fixed unit, the year column, and the source column.
_FIGURE: Mapping[str, tuple[str | None, str | None, str | None, str | None]] = {
    "indicators": ("value", "unit", "year", "source_id"),
    "market_shares": ("share", "=share", "year", "source_id"),
    "policy_targets": ("target_value", "unit", "target_year", "source_id"),
    "policies": ("amount", "amount_unit", None, "source_id"),
    "assessments": ("status", None, "year", "source_id"),
    "company_chokepoints": ("role", None, None, "source_id"),
    "policy_chokepoints": (None, None, None, "source_id"),
    "chokepoints": (None, None, None, "listed_by"),
}

_SEP = "\x1f"

_COLUMNS = [
    "claim_id", "claim", "verdict", "finding", "claimant", "appeared_source_id", "appeared_date",
    "chokepoint_id", "evidence_table", "evidence_key", "bearing", "evidence_note",
    "evidence_figure", "evidence_value", "evidence_unit", "evidence_year", "evidence_source_id",
    "evidence_confidence", "independent",
]


def _evidence_rows(evidence: "pd.DataFrame", tables: Mapping[str, "pd.DataFrame"]) -> "pd.DataFrame":
    """One row per evidence row: the figure, unit, year, source and grade of the fact it names."""
    import pandas as pd

    out = pd.DataFrame(index=evidence.index)
    out["evidence_figure"] = pd.Series(pd.NA, index=evidence.index, dtype="string")
    out["evidence_value"] = pd.Series(pd.NA, index=evidence.index, dtype="Float64")
    out["evidence_unit"] = pd.Series(pd.NA, index=evidence.index, dtype="string")
    out["evidence_year"] = pd.Series(pd.NA, index=evidence.index, dtype="Int64")
    out["evidence_source_id"] = pd.Series(pd.NA, index=evidence.index, dtype="string")
    out["evidence_confidence"] = pd.Series(pd.NA, index=evidence.index, dtype="string")
    keys = evidence["evidence_key"].astype(object)
    columns = pd.Series([None if (p := parse_key(k)) is None else _SEP.join(c for c, _ in p) for k in keys],
                        index=evidence.index, dtype=object)
    groups = pd.DataFrame({"t": evidence["evidence_table"].astype(object), "c": columns}, index=evidence.index)
    for (table, joined), group in groups.groupby(["t", "c"], sort=False):
        cols = str(joined).split(_SEP)
        target = tables.get(str(table))
        if target is None or not set(cols) <= set(target.columns):
            continue
        keyed = target.assign(_key=key_strings(target, cols).to_numpy()).drop_duplicates("_key", keep=False).set_index("_key")
        hit = keys[group.index].astype(str)
        hit = hit[hit.isin(keyed.index)]
        if hit.empty:
            continue
        rows = keyed.loc[hit.to_numpy()]
        rows.index = hit.index
        figure_col, unit_col, year_col, source_col = _FIGURE.get(table, (None, None, None, None))
        if figure_col is not None and figure_col in rows:
            values = rows[figure_col]
            out.loc[hit.index, "evidence_figure"] = values.astype("string").to_numpy()
            if pd.api.types.is_numeric_dtype(values.dtype):
                out.loc[hit.index, "evidence_value"] = values.astype("Float64").to_numpy()
        if unit_col is not None:
            unit = unit_col[1:] if unit_col.startswith("=") else rows.get(unit_col)
            out.loc[hit.index, "evidence_unit"] = unit if isinstance(unit, str) else unit.astype("string").to_numpy()
        if year_col is not None and year_col in rows:
            out.loc[hit.index, "evidence_year"] = rows[year_col].astype("Int64").to_numpy()
        if source_col is not None and source_col in rows:
            out.loc[hit.index, "evidence_source_id"] = rows[source_col].astype("string").to_numpy()
        if "confidence" in rows:
            out.loc[hit.index, "evidence_confidence"] = rows["confidence"].astype("string").to_numpy()
    return out


def claims(*, verdict: str | None = None, commercial_only: bool = False) -> "pd.DataFrame":
    """Claims about China's choke points, each with the fact rows its verdict rests on.

    One row per claim and evidence row (a claim without evidence, verdict ``unsupported``,
    appears once with empty evidence columns), sorted by claim and evidence. The evidence
    row's figure, unit, year, source and grade are looked up in the shipped tables at call
    time, so they always match what ``load()`` returns.

    Parameters
    ----------
    verdict : {"supported", "refined", "contradicted", "unsupported"}, optional
        Keep only claims with this verdict.
    commercial_only : bool, default False
        Only the claims of the commercial subset (``load(..., commercial_only=True)``): a
        claim any of whose evidence rows cites a non-commercial source (or points at such a
        row) is left out whole, since its finding was written from that evidence and may
        quote it (docs/METHOD.md, "Licences").

    Returns
    -------
    pandas.DataFrame
        Columns: ``claim_id``, ``claim``, ``verdict``, ``finding``, ``claimant``,
        ``appeared_source_id``, ``appeared_date``, ``chokepoint_id``, ``evidence_table``,
        ``evidence_key`` (the fact row's primary key as ``col=value;...``), ``bearing``
        (supports / contradicts / qualifies), ``evidence_note``, ``evidence_figure`` (the
        row's figure as text: a value, a status, a role), ``evidence_value`` (the number,
        where the figure is one), ``evidence_unit``, ``evidence_year``,
        ``evidence_source_id`` (for a market share, its market's source), ``evidence_confidence``,
        ``independent`` (nullable boolean: False where the fact cites the claim's own
        ``appeared_source_id``, so it restates the claim rather than checking it; NA where there
        is no evidence row or its source cannot be told). A ``supported`` claim has at least one
        independent ``supports`` row, a ``refined`` one at least one independent row (a build
        rule, ``claim_not_self_supported``).

    Raises
    ------
    ArgumentError
        ``verdict`` is not one of the four verdicts.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> c = cd.claims()
    >>> row = c[(c.claim_id == "brief-60-demand-13-supply") & (c.bearing == "supports")].iloc[0]
    >>> row.verdict, row.evidence_table, float(row.evidence_value), int(row.evidence_year)
    ('refined', 'indicators', 0.606, 2016)
    >>> row.evidence_source_id
    'pwc-china-semiconductor-market-2016-data'
    >>> sorted(cd.claims(verdict="contradicted").claim_id.unique())
    ['brief-carbon-fiber-foreign']
    >>> "asml-only-euv" in set(cd.claims(commercial_only=True).claim_id)  # rests on ETO rows
    False
    """
    import pandas as pd

    from ..store import _loader

    if verdict is not None and verdict not in VERDICT_RATING:
        raise ArgumentError(f"claims(): verdict must be one of {', '.join(VERDICT_RATING)}, not {verdict!r}")
    _check_flag("claims()", commercial_only)
    tables = {name: _loader.load(name, commercial_only=commercial_only) for name in _loader.list_tables()}
    base = tables["claims"].copy()
    if verdict is not None:
        base = base[base["verdict"] == verdict]
    evidence = tables["claim_evidence"].rename(columns={"note": "evidence_note"})
    independent = independent_evidence(evidence, tables["claims"], tables)
    markets = tables["markets"][["market_id", "year", "source_id"]]  # a share's year and source are its market's
    lookup = {**tables, "market_shares": tables["market_shares"].merge(markets, on="market_id", how="left")}
    evidence = pd.concat([evidence, _evidence_rows(evidence, lookup)], axis=1).assign(independent=independent)
    for col in ("claim_id", "evidence_table", "bearing"):
        evidence[col] = evidence[col].astype("string")
    base["claim_id"] = base["claim_id"].astype("string")
    joined = base.merge(evidence, on="claim_id", how="left", validate="one_to_many")
    for col in ("verdict", "evidence_table", "bearing"):
        joined[col] = joined[col].astype("string")
    joined = joined.sort_values(["claim_id", "evidence_table", "evidence_key"], kind="mergesort", na_position="first")
    return joined[_COLUMNS].reset_index(drop=True)


def _check_flag(what: str, commercial_only: object) -> None:
    if not isinstance(commercial_only, bool):
        raise ArgumentError(f"{what}: commercial_only must be True or False, not {commercial_only!r}")


def _review_licences(tables: Mapping[str, "pd.DataFrame"]) -> dict[str, set[str]]:
    """Per claim, the licences its evidence rows carry: the curation's and each cited source's
    (a market share, its market's source), looked up by the row's key."""
    from ..store import _loader
    from ..store._licences import CURATION_LICENCE, cited_sources

    schemas = {name: _loader.table_schema(name) for name in tables}
    by_source = tables["sources"].drop_duplicates("source_id").set_index("source_id")["licence"].astype(object)
    evidence = tables["claim_evidence"]
    out: dict[str, set[str]] = {str(c): {CURATION_LICENCE} for c in tables["claims"]["claim_id"].astype(object)}
    for table, group in evidence.groupby(evidence["evidence_table"].astype(object), sort=True):
        target = tables.get(str(table))
        pk = list(schemas.get(str(table), {}).get("primaryKey") or [])
        if target is None or not pk:
            continue
        cited = cited_sources(str(table), target, schemas, tables)
        found = [{v for v in row if isinstance(v, str)} for row in cited.apply(lambda c: c.map(by_source)).itertuples(index=False)]
        by_key = dict(zip(key_strings(target, pk).tolist(), found))
        for claim, key in zip(group["claim_id"].astype(object).tolist(), group["evidence_key"].astype(object).tolist()):
            out.setdefault(str(claim), {CURATION_LICENCE}).update(by_key.get(key, set()))
    return out


def _licence_urls(licences: set[str]) -> list[str]:
    from ..store._licences import LICENCES

    return [LICENCES.get(lic, (lic, ""))[1] or lic for lic in sorted(licences)]


def _text(value: Any) -> str | None:
    import pandas as pd

    return None if value is None or pd.isna(value) else str(value)


def claimreview_jsonld(*, commercial_only: bool = False) -> dict[str, Any]:
    """The claims as schema.org ClaimReview JSON-LD: one ``ClaimReview`` per claim.

    Each review's ``license`` lists the licences its evidence rows carry, and the dataset's
    (``isBasedOn``) every licence of the reviews written; with ``commercial_only`` only the
    claims of the commercial subset are written (see ``claims(commercial_only=True)``).

    ``reviewRating`` carries the verdict as ``alternateName`` and a ``ratingValue`` on the
    scale of ``VERDICT_RATING`` (1 contradicted, 2 unsupported, 3 refined, 4 supported);
    ``itemReviewed`` is the ``Claim`` with its ``appearance`` (the source where the curators
    saw it; ``firstAppearance`` is not given, as first appearances were not established);
    ``author`` is the organisation behind the dataset and ``isBasedOn`` the dataset release.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> from chokepoint_data.answers._claims import claimreview_jsonld
    >>> doc = claimreview_jsonld()
    >>> review = next(r for r in doc["@graph"] if r["claimReviewed"].startswith("China accounts for about 60%"))
    >>> review["reviewRating"]["alternateName"], review["reviewRating"]["ratingValue"]
    ('refined', 3)
    """
    from ..store import _loader
    from .._version import __version__

    _check_flag("claimreview_jsonld()", commercial_only)
    tables = {name: _loader.load(name, commercial_only=commercial_only) for name in _loader.list_tables()}
    sources = tables["sources"].set_index("source_id")
    licences = _review_licences(tables)
    dataset = {
        "@type": "Dataset",
        "name": "chokepoint-data",
        "version": __version__,
        "description": "A curated, cited, validated dataset of China's industrial choke points"
                       + (" (the commercial subset: no row citing a non-commercial source)." if commercial_only else "."),
        "license": _licence_urls(set().union(*licences.values()) if licences else set()),
    }
    author = {"@type": "Organization", "name": "chokepoint-data contributors"}
    evidence = tables["claim_evidence"].groupby("claim_id", observed=True)
    cited = {k: g for k, g in evidence}
    graph = []
    for row in tables["claims"].itertuples(index=False):
        src = sources.loc[row.appeared_source_id]
        appearance: dict[str, Any] = {"@type": "CreativeWork", "url": src["url"], "name": src["title"],
                                      "publisher": {"@type": "Organization", "name": src["publisher"]}}
        if _text(row.appeared_date):
            appearance["datePublished"] = row.appeared_date
        item: dict[str, Any] = {"@type": "Claim", "appearance": appearance}
        if _text(row.appeared_date):
            item["datePublished"] = row.appeared_date
        if _text(row.claimant):
            item["author"] = {"@type": "Organization", "name": row.claimant}
        verdict = str(row.verdict)
        review: dict[str, Any] = {
            "@type": "ClaimReview",
            "identifier": row.claim_id,
            "claimReviewed": row.claim,
            "datePublished": row.reviewed.strftime("%Y-%m-%d"),
            "author": author,
            "isBasedOn": dataset,
            "reviewRating": {"@type": "Rating", "ratingValue": VERDICT_RATING[verdict], "bestRating": 4,
                             "worstRating": 1, "alternateName": verdict, "ratingExplanation": row.finding},
            "itemReviewed": item,
            "license": _licence_urls(licences.get(str(row.claim_id), set())),
        }
        rows = cited.get(row.claim_id)
        if rows is not None:
            review["citation"] = [f"{t}: {k}" for t, k in zip(rows["evidence_table"].astype(str), rows["evidence_key"])]
        graph.append(review)
    return {"@context": "https://schema.org", "@graph": graph}


def _owned_claimreview(path: Path) -> bool:
    """True for a ClaimReview file this package wrote (its reviews are based on chokepoint-data)."""
    try:
        if path.stat().st_size > 64 * 2**20:
            return False
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    graph = doc.get("@graph") if isinstance(doc, dict) else None
    if not isinstance(graph, list):
        return False
    if not graph:
        return doc.get("@context") == "https://schema.org"
    first = graph[0]
    based = first.get("isBasedOn") if isinstance(first, dict) else None
    return isinstance(based, dict) and based.get("name") == "chokepoint-data"


def write_claimreview(out: Path | str, *, commercial_only: bool = False, force: bool = False) -> Path:
    """Write ``claimreview_jsonld(commercial_only=...)`` to ``out`` through the store's atomic writer.

    Killed at any moment, the file at ``out`` is either the old one, whole, or the new one.
    The target is checked as every export's is (``store._targets.check_file``): a file this
    package did not write, or a read-only one, is replaced only with ``force``; a symbolic
    link only with ``force`` (the link, not what it points to); a special file (FIFO,
    device, socket) never. Raises ExportError naming the target and what to do.
    """
    from ..store._atomic import write_bytes
    from ..store._targets import check_file, target_path

    target = target_path(out, "the ClaimReview target")
    check_file(target, force=force, owned=_owned_claimreview, kind="ClaimReview")
    data = (json.dumps(claimreview_jsonld(commercial_only=commercial_only), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return write_bytes(target, data)
