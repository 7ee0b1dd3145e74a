"""Figures from the data: one function per figure, each drawing frames onto an axis.

Needs matplotlib (``pip install 'chokepoint-data[plot]'``), imported only when a figure is
drawn. ``write_figures(out)`` (and ``chokepoint-data figures --out DIR``) writes every figure
as SVG. The SVGs are reproducible: the same data and the same matplotlib give the same bytes
(fixed hash salt, no date, text kept as text in the DejaVu Sans font family, fixed sizes).
Every figure carries a caption naming its sources and the data version.

The frame functions (``*_frame``) compute what a figure shows, so a notebook can print the
numbers behind a picture. Concentration and status are computed here with the simplest
rules (see their docstrings) until ``analysis.concentration()``/``analysis.status()`` exist.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from .._errors import ArgumentError, ChokepointDataError, ExportError, MissingExtraError
from .._version import __version__
from ._plots import (  # noqa: F401 - STATUS_ORDER and STATUS_COLOURS: names of this module since 0.1
    CONTROL_KINDS, STATUS_COLOURS, STATUS_ORDER, plot_concentration, plot_controls, plot_ev_batteries, plot_status,
    plot_targets,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "FIGURES",
    "MissingExtraError",
    "status_frame",
    "ev_battery_frame",
    "plot_concentration",
    "plot_status",
    "plot_ev_batteries",
    "plot_targets",
    "plot_controls",
    "make_figure",
    "write_figures",
]

_RC = {
    "svg.hashsalt": "chokepoint-data",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 8.0,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "path.simplify": False,
}




def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt  # headless machines fall back to the Agg backend
    except ImportError:
        raise MissingExtraError("figures", "matplotlib", "plot") from None

    return plt


# --- what the figures show -----------------------------------------------------------------

_MARKET_KEY = ["chokepoint_id", "year", "scope", "basis", "breakdown", "source_id"]


def _shares_with_markets(tables: Mapping[str, "pd.DataFrame"]) -> "pd.DataFrame":
    shares = tables["market_shares"]
    if "market_id" in shares.columns and "chokepoint_id" not in shares.columns and "markets" in tables:
        keep = [c for c in tables["markets"].columns if c not in ("confidence", "note")]
        shares = shares.merge(tables["markets"][keep], on="market_id", how="left")
    if "market_id" not in shares.columns:
        shares = shares.assign(market_id=shares[_MARKET_KEY].astype(str).agg(":".join, axis=1))
    return shares


def status_frame(years: Sequence[int] | None = None) -> "pd.DataFrame":
    """Status of every dependency as it stood at the end of each year, by ``status()``'s rule.

    Columns ``chokepoint_id``, ``year``, ``status``, ``assessed`` (True in a year whose own
    assessment set the status), ``source_id``, ``stale`` (the status rests on evidence more than
    ``STALE_AFTER`` years older than that year) and ``basis`` (as ``status()``). A dependency
    with no assessment graded medium or higher by then has no row for that year, unless a
    documented search found nothing current (``basis`` ``searched_nothing_current``, ``status``
    empty). ``years`` defaults to the span from the first assessed year to the data's own year.
    """
    import pandas as pd

    from ..answers.analysis import data_date, status

    if years is None:
        from ..store._loader import load

        a = load("assessments")
        years = range(int(a["year"].min()), max(int(a["year"].max()), int(data_date().year)) + 1)
    frames = []
    for year in years:
        st = status(as_of=int(year), since=int(year))
        st = st[st["status"].notna() | (st["basis"] == "searched_nothing_current")]
        frames.append(pd.DataFrame({"chokepoint_id": st["chokepoint_id"].astype(str).to_numpy(), "year": int(year),
                                    "status": st["status"].astype(object).where(st["status"].notna(), None).to_numpy(),
                                    "assessed": (st["year"] == year).fillna(False).to_numpy(dtype=bool),
                                    "source_id": st["source_id"].astype(object).where(st["source_id"].notna(), None).to_numpy(),
                                    "stale": st["stale"].to_numpy(dtype=bool),
                                    "basis": st["basis"].astype(str).to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def ev_battery_frame(tables: Mapping[str, "pd.DataFrame"]) -> "pd.DataFrame":
    """Global EV battery installation shares by maker and year, one value per source.

    Columns ``holder``, ``name``, ``country``, ``year``, ``share``, ``source_id``, ``primary``
    (True for the figure the line uses: of the sources giving that maker's share that year,
    the preferred market (``markets.preferred``), else the one listing most makers). Whole
    years only: a market for part of a year (``period``) is left out.
    """
    shares = _shares_with_markets(tables)
    ev = shares[(shares["chokepoint_id"] == "ev-batteries") & (shares["scope"] == "global")
                & (shares["breakdown"] == "company") & (shares["holder"] != "other")].copy()
    if "period" in ev.columns:
        ev = ev[ev["period"].isna()]
    preferred = (ev["preferred"] == True).fillna(False).astype(bool) if "preferred" in ev.columns else ev["year"] < 0  # noqa: E712
    companies = tables["companies"].set_index("company_id")
    ev["name"] = ev["holder"].astype(object).map(companies["name_en"])
    ev["country"] = ev["holder"].astype(object).map(companies["country"])
    counts = ev.assign(p=preferred).groupby(["year", "source_id"]).agg(n=("holder", "size"), p=("p", "max")).reset_index()
    counts = counts.sort_values(["year", "p", "n", "source_id"], ascending=[True, False, False, True], kind="mergesort")
    rank = {(y, src): i for i, (y, src) in enumerate(zip(counts["year"], counts["source_id"]))}
    ev["_rank"] = [rank[(y, src)] for y, src in zip(ev["year"], ev["source_id"])]
    best = ev.sort_values("_rank", kind="mergesort").groupby(["holder", "year"]).head(1).index
    ev["primary"] = ev.index.isin(best)
    out = ev[["holder", "name", "country", "year", "share", "source_id", "primary"]]
    return out.sort_values(["holder", "year", "source_id"], kind="mergesort").reset_index(drop=True)


# --- captions --------------------------------------------------------------------------------

_META = ("re-post", "repost", "mirror", "via ", "of ", "self-media")


def _latin(text: str) -> str:
    """``text`` without CJK characters (the caption font has none), tidied."""
    import re

    kept = "".join(ch for ch in text if ord(ch) < 0x2E80)
    kept = re.sub(r"\(\s*\)|\(\s*(of|via|repost of)?\s*(article)?\s*\)", "", kept)
    return re.sub(r"\s+([,;])", r"\1", re.sub(r"\s{2,}", " ", kept)).strip(" ,;/")


def _has_cjk(text: str) -> bool:
    return any(ord(ch) >= 0x2E80 for ch in text)


def publisher_name(publisher: str, url: str | None = None) -> str:
    """A publisher's name in the caption font (no CJK glyphs): the name itself when it is Latin,
    else its Latin name in brackets ("21世纪经济报道 (21st Century Business Herald)"), else the
    web site it was read on, so a caption never shows a bare "/ (mirror)"."""
    import re

    if not _has_cjk(publisher):
        return publisher.strip()
    head, _, rest = publisher.partition("(")
    inner, _, tail = rest.partition(")")
    if head.strip() and not _has_cjk(head):
        return _latin(head + ("" if _has_cjk(tail) else tail))
    for part in re.split(r"[,;]", inner):
        part = part.strip()
        if part and not _has_cjk(part) and not part.lower().startswith(_META):
            return part
    host = re.match(r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?([^/:?#]+)", (url or "").strip(), re.I)
    return (host.group(1).lower().removeprefix("www.") if host else "") or _latin(publisher) or "a publisher writing in Chinese"


def _caption(fig: "Figure", text: str, source_ids: Sequence[str], tables: Mapping[str, "pd.DataFrame"]) -> None:
    src = tables["sources"]
    used = src[src["source_id"].astype(object).isin(set(source_ids))]
    counts: dict[str, int] = {}
    urls = used["url"].astype(object) if "url" in used.columns else [None] * len(used)
    for pub, url in zip(used["publisher"].astype(str), urls):
        name = publisher_name(pub, url if isinstance(url, str) else None)
        if name:
            counts[name] = counts.get(name, 0) + 1
    publishers = sorted(counts, key=lambda k: (-counts[k], k))  # most cited first
    shown = publishers[:8]
    more = f" and {len(publishers) - len(shown)} more" if len(publishers) > len(shown) else ""
    body = (f"{text} Sources ({len(used)} documents): {'; '.join(shown)}{more}. "
            f"Data: chokepoint-data {__version__} (every source is in its sources table).")
    lines = textwrap.wrap(body, width=int(fig.get_figwidth() * 17))
    fig.text(0.01, 0.005, "\n".join(lines), fontsize=6.5, va="bottom", ha="left", color="#444444")
    height = fig.get_figheight()
    fig.subplots_adjust(bottom=(0.62 + 0.11 * len(lines)) / height)


def _tables() -> dict[str, "pd.DataFrame"]:
    from ..store import _loader

    return {n: _loader.load(n) for n in _loader.list_tables()}


def _fig_concentration(plt: Any, t: Mapping[str, "pd.DataFrame"]) -> "Figure":
    from ..answers.analysis import concentration

    conc = concentration()
    n = conc[(conc["scope"] == "global") & (conc["breakdown"] == "company")]["chokepoint_id"].nunique()
    fig, (ax, hax) = plt.subplots(1, 2, figsize=(9.0, 1.6 + 0.24 * n), sharey=True, gridspec_kw={"width_ratios": [3, 2]})
    src = plot_concentration(conc, t["chokepoints"], t["companies"], ax=ax, hhi_ax=hax)
    fig.suptitle("How concentrated is each choke point's market, and which firm leads it?", x=0.01, ha="left",
                 fontweight="bold")
    fig.subplots_adjust(left=0.37, right=0.98, top=1 - 0.55 / fig.get_figheight(), wspace=0.05)
    _caption(fig, "Latest global market per choke point, firms by headquarters, from concentration(); where two "
             "sources cover the latest year, the preferred one (markets.preferred), else the one naming more firms. HHI counts named firms only: a light bar "
             "('at least') is a lower bound, where the source does not name the whole market.", src, t)
    return fig


def _fig_status(plt: Any, t: Mapping[str, "pd.DataFrame"]) -> "Figure":
    from ..answers.analysis import STALE_AFTER, STATUS_RULE

    status = status_frame()
    cp = t["chokepoints"]
    n = int((cp["direction"] == "dependency").sum())
    fig, ax = plt.subplots(figsize=(8.0, 1.9 + 0.15 * n))
    plot_status(status, cp, ax=ax)
    fig.suptitle("Status of every dependency, year by year", x=0.01, ha="left", fontweight="bold")
    fig.subplots_adjust(left=0.36, right=0.98, top=1 - 0.95 / fig.get_figheight())
    rule = STATUS_RULE.format(min_confidence="medium", as_of="each year")
    _caption(fig, f"Status as it stood at the end of each year, by status(as_of=year): {rule}. A hatched, lighter "
             f"band is stale: its evidence is more than {STALE_AFTER} years older than that year. A ring marks a "
             "documented search that found nothing current (table searches); the band before it is what was last "
             "known. Rows without a band have no assessment graded medium or higher. Leverage materials left out.",
             sorted({s for s in status["source_id"] if isinstance(s, str)}), t)
    return fig


def _fig_ev(plt: Any, t: Mapping[str, "pd.DataFrame"]) -> "Figure":
    ev = ev_battery_frame(t)
    fig, ax = plt.subplots(figsize=(8.0, 4.6))
    plot_ev_batteries(ev, ax=ax)
    fig.suptitle("EV battery makers' share of global installations", x=0.01, ha="left", fontweight="bold")
    fig.subplots_adjust(left=0.09, right=0.76, top=0.86)
    _caption(fig, "Solid lines: Chinese makers; dashed: others. A missing point means no source in the data gives "
             "that maker's share that year, so the line breaks. Lines follow, per year, "
             "the source marked preferred in markets (else the one naming most makers) among those giving that maker's share; "
             "open circles: another source's different figure.", sorted(set(ev["source_id"].astype(str))), t)
    return fig


def _fig_targets(plt: Any, t: Mapping[str, "pd.DataFrame"]) -> "Figure":
    from ..answers._helpers import targets as _targets

    tg = _targets()
    tg = tg[tg["policy_id"].astype(str).str.startswith("mic2025") & (tg["unit"] == "share")]
    fig, ax = plt.subplots(figsize=(9.0, 1.8 + 0.3 * len(tg)))
    plot_targets(tg, ax=ax)
    fig.suptitle("Made in China 2025: targets against what was achieved", x=0.01, ha="left", fontweight="bold")
    fig.subplots_adjust(left=0.42, right=0.98, top=1 - 0.45 / fig.get_figheight())
    ids = set(tg["source_id"].dropna().astype(str)) | set(tg["achieved_source_id"].dropna().astype(str))
    _caption(fig, "Each target as its source words it (MIC 2025 and its 2015 technology roadmap); achieved values "
             "from the sources named in policy_targets, which may measure a related but not identical quantity.",
             sorted(ids), t)
    return fig


def _fig_controls(plt: Any, t: Mapping[str, "pd.DataFrame"]) -> "Figure":
    n = int(t["policies"]["kind"].astype(object).isin(CONTROL_KINDS).sum())
    fig, ax = plt.subplots(figsize=(9.0, 1.8 + 0.26 * n))
    src = plot_controls(t["policies"], ax=ax)
    fig.suptitle("Export controls on China and China's countermeasures", x=0.01, ha="left", fontweight="bold")
    fig.subplots_adjust(left=0.02, right=0.98, top=1 - 1.0 / fig.get_figheight())
    _caption(fig, "Dated by announcement; a line to an x marks when a measure ended for good; a dashed span between "
             "two bars marks a suspension, from its first to its last day (the measure binds again the day after unless "
             "a source extends it; open-ended without a bar at the end). Colour: issuing jurisdiction; shape: kind.",
             src, t)
    return fig


#: figure name -> builder; file names are ``<name>.svg``
FIGURES: dict[str, Callable[[Any, Mapping[str, "pd.DataFrame"]], "Figure"]] = {
    "concentration": _fig_concentration,
    "status": _fig_status,
    "ev_batteries": _fig_ev,
    "mic2025_targets": _fig_targets,
    "export_controls": _fig_controls,
}


def make_figure(name: str, tables: Mapping[str, "pd.DataFrame"] | None = None) -> "Figure":
    """Draw one figure (see ``FIGURES``) and return the matplotlib Figure.

    The figure is not left open in pyplot: a notebook shows it once when a cell returns it,
    and ``fig.savefig(...)`` writes it.

    Examples
    --------
    >>> from chokepoint_data import figures
    >>> fig = figures.make_figure("ev_batteries")
    >>> fig.axes[0].get_title(), fig.get_suptitle()
    ('', "EV battery makers' share of global installations")
    """
    if name not in FIGURES:
        raise ArgumentError(f"unknown figure {name!r}; choose from {', '.join(FIGURES)}")
    plt = _pyplot()
    with plt.rc_context(_RC):
        fig = FIGURES[name](plt, tables if tables is not None else _tables())
    plt.close(fig)
    return fig


def _write_atomic(fig: "Figure", path: Path) -> None:
    from ..store._atomic import write_file

    def save(tmp: Path) -> None:
        with _pyplot().rc_context(_RC):
            fig.savefig(tmp, format="svg", metadata={"Date": None, "Creator": None})

    write_file(path, save)


def _owned_svg(path: Path) -> bool:
    """True for an SVG this package drew (its caption names the data: ``Data: chokepoint-data``)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4 * 2**20)
    except OSError:
        return False
    return b"<svg" in head[:2048] and b"chokepoint-data" in head


def write_figures(out: str | os.PathLike[str], *, names: Sequence[str] | None = None, force: bool = False) -> list[Path]:
    """Write every figure (or ``names``) as ``<out>/<name>.svg``; return the paths written.

    Each file is written atomically. The same data and the same matplotlib version give
    the same bytes. Every target is checked before the first is written (as every export's
    is, see ``store._targets``): an SVG this package did not draw, or a read-only one, is
    replaced only with ``force``; a folder, a special file or a missing parent never.
    ``out`` may not be empty (use ``.`` for the current folder); a missing ``out`` is
    created.

    Raises
    ------
    ExportError
        A bad target; the message names it. Nothing has been written.
    """
    if isinstance(names, str) or not all(isinstance(n, str) and n in FIGURES for n in names or ()):
        raise ArgumentError(f"write_figures(): names must be a list of figure names among {', '.join(FIGURES)}, "
                            f"not {names!r}")  # before anything is created
    from ..store._targets import check_file, target_path

    _pyplot()
    folder = target_path(out, "the figures folder (--out)")
    chosen = list(names or FIGURES)
    unknown = [n for n in chosen if n not in FIGURES]
    if unknown:
        raise ChokepointDataError(f"unknown figure(s) {', '.join(map(repr, unknown))}; choose from {', '.join(FIGURES)}")
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise ExportError(f"the figures folder {folder} is not a folder; give a folder for --out")
        for name in chosen:
            check_file(folder / f"{name}.svg", force=force, owned=_owned_svg, kind="a figure")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the figures folder {folder}: {exc.strerror}; choose another --out") from None
    tables = _tables()
    written = []
    for name in chosen:
        _write_atomic(make_figure(name, tables), folder / f"{name}.svg")
        written.append(folder / f"{name}.svg")
    return written
