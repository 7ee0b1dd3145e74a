"""The summary the command line prints, computed from the shipped data (the CLI only prints it)."""

from __future__ import annotations

from typing import Any, Literal, Mapping

from .._version import __version__

__all__ = ["summary_text"]


def summary_text() -> str:
    """What ``chokepoint-data summary`` prints: tables, sectors, status by the stated rule, grades,
    sources cited and licences, all computed from the shipped data."""
    from ..store import _loader

    tables = _loader.load_all()
    lines = [f"chokepoint-data {__version__}: China's industrial choke points", ""]
    lines.append("tables (rows):")
    for name, df in tables.items():
        lines.append(f"  {name:<20} {len(df):>5}")
    cp, sources = tables["chokepoints"], tables["sources"]
    lines += ["", "choke points by sector:"]
    for sector, n in cp["sector"].value_counts().sort_index().items():
        if n:
            lines.append(f"  {sector:<20} {n:>5}")
    series = cp["std_item"].notna().sum()
    leverage = cp.loc[cp["direction"] == "leverage", "chokepoint_id"]
    lines.append(f"  ({series} with a confirmed item number in the 2018 Science and Technology Daily series;")
    lines.append(f"   {len(leverage)} are 'leverage' materials China controls, not dependencies)")
    from .analysis import STALE_AFTER, STATUS_RULE, data_date, status

    sections: tuple[tuple[Literal["dependency", "leverage"], str], ...] = (
        ("dependency", "status of the dependencies"), ("leverage", "status of the leverage materials"))
    reference = int(data_date().year)
    for direction, title in sections:
        st = status(direction=direction)
        lines += ["", f"{title}:"]
        stale = st[st["stale"]]
        for value, n in st["status"].value_counts(dropna=True).sort_index().items():
            k = int((stale["status"] == value).sum())
            lines.append(f"  {value:<28} {n:>5}" + (f"   ({k} stale)" if k else ""))
        searched = int((st["basis"] == "searched_nothing_current").sum())
        if searched:
            lines.append(f"  {'(searched, nothing current)':<28} {searched:>5}   a documented search found nothing "
                         "current (table searches)")
        missing = int((st["basis"] == "no_assessment").sum())
        if missing:
            lines.append(f"  {'(no status)':<28} {missing:>5}   no assessment graded medium or higher")
        lines.append(f"  stale: {len(stale)} of these statuses rest on evidence older than {STALE_AFTER} years")
    lines.append("  rule: " + STATUS_RULE.format(min_confidence="medium", as_of="now") + " (docs/METHOD.md)")
    lines.append(f"  age: stale = evidence older than {STALE_AFTER} years before the reference year, the data's own")
    lines.append(f"  date ({data_date():%Y-%m-%d}, the latest sources.accessed): evidence before {reference - STALE_AFTER}; "
                 "a search that found nothing current replaces a stale status")
    facts = ("assessments", "company_chokepoints", "market_shares", "indicators", "policies", "policy_targets")
    grades: dict[str, int] = {}
    for t in facts:
        for grade, n in tables[t]["confidence"].value_counts().items():
            grades[grade] = grades.get(grade, 0) + int(n)
    total = sum(grades.values())
    cited = _cited_source_ids(tables)
    context = len(sources) - len(cited & set(sources["source_id"]))
    lines += ["", f"fact rows: {total}, citing {len(cited)} sources ({context} more listed for context only); "
              "confidence: " + ", ".join(f"{g} {grades.get(g, 0)}" for g in ("high", "medium", "low"))]
    nc = sum(int((~_loader._commercial_mask(name)).sum()) for name in tables)
    lines.append(f"licences: {nc} rows cite a non-commercial source (CC BY-NC 4.0) or depend on such a row (a market or claim goes whole); "
                 "load(..., commercial_only=True) or --commercial-only leaves them out")
    return "\n".join(lines)


def _cited_source_ids(tables: Mapping[str, Any]) -> set[str]:
    from ..store import _loader
    from ..store._licences import cited_sources

    schemas = {t: _loader.table_schema(t) for t in tables}
    ids: set[str] = set()
    for name, df in tables.items():
        if name == "sources":
            continue
        cited = cited_sources(name, df, schemas, tables)
        for col in cited.columns:
            ids |= {v for v in cited[col].tolist() if isinstance(v, str)}
    return ids
