"""Drawing: each ``plot_*`` function draws the frame of one figure onto matplotlib axes.

No loading, no captions, no files (``figures`` does those); matplotlib itself is imported by
the caller, so this module imports only the standard library at import time.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["STATUS_ORDER", "STATUS_COLOURS", "CONTROL_KINDS", "plot_concentration", "plot_status", "plot_ev_batteries",
           "plot_targets", "plot_controls"]

STATUS_ORDER = ("dependent", "partial", "largely_overcome", "overcome")
STATUS_COLOURS = {"dependent": "#b2182b", "partial": "#ef8a62", "largely_overcome": "#67a9cf", "overcome": "#2166ac"}

def plot_concentration(conc: "pd.DataFrame", chokepoints: "pd.DataFrame", companies: "pd.DataFrame", *,
                       ax: "Axes", hhi_ax: "Axes") -> list[str]:
    """Bars of the top holder's share and the HHI of each choke point's latest global market.

    Takes ``analysis.concentration()`` (company-level markets are used); returns the source ids used.
    """
    g = conc[(conc["scope"] == "global") & (conc["breakdown"] == "company") & (conc["n_holders"] > 0)]
    if "period" in g.columns:  # whole years only: a quarter's shares are not a year's
        g = g[g["period"].isna()]
    g = g.assign(_preferred=(g["preferred"] == True).fillna(False).astype(bool) if "preferred" in g.columns else False)  # noqa: E712
    g = g.sort_values(["chokepoint_id", "year", "_preferred", "n_holders", "market_id"],
                      ascending=[True, False, False, False, True], kind="mergesort")
    latest = g.groupby("chokepoint_id", sort=False).head(1).sort_values(["top_share", "chokepoint_id"], kind="mergesort")
    names = chokepoints.set_index("chokepoint_id")["name_en"]
    firms = companies.set_index("company_id")["name_en"]
    labels = [f"{textwrap.shorten(str(names.get(c, c)), 38, placeholder='...')} ({y})"
              for c, y in zip(latest["chokepoint_id"], latest["year"])]
    y = range(len(latest))
    ax.barh(list(y), latest["top_share"].astype(float), color="#4d4d4d")
    ax.set_yticks(list(y), labels)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the largest firm")
    for yi, (share, holder) in enumerate(zip(latest["top_share"].astype(float), latest["top_holder"])):
        # inside a long bar (white), after a short one: never past the panel's edge into the HHI panel
        name = textwrap.shorten(str(firms.get(holder, holder)), 24, placeholder="...")
        inside = share >= 0.5
        ax.annotate(f"{name} {share:.0%}", (share, yi), xytext=(-3 if inside else 3, 0), textcoords="offset points",
                    va="center", ha="right" if inside else "left", fontsize=6.5,
                    color="white" if inside else "#222222")
    lower = latest["hhi_lower_bound"].astype(bool).tolist()
    hhi_ax.barh(list(y), latest["hhi"].astype(float), color=["#d8b365" if lb else "#8c510a" for lb in lower],
                hatch=None)
    for yi, (hhi, lb) in enumerate(zip(latest["hhi"].astype(float), lower)):
        if lb:
            hhi_ax.text(hhi + 120, yi, "at least", va="center", fontsize=6, color="#8c510a")
    hhi_ax.set_xlim(0, 10000)
    hhi_ax.axvline(2500, color="#999999", lw=0.8, ls="--")
    hhi_ax.text(2550, 1.0, "above 2,500: highly concentrated", fontsize=6, va="bottom", color="#666666",
                transform=hhi_ax.get_xaxis_transform())
    hhi_ax.set_xlabel("HHI of the named firms (0-10,000)")
    hhi_ax.tick_params(labelleft=False)
    return sorted(set(latest["source_id"].astype(str)))


def plot_status(status: "pd.DataFrame", chokepoints: "pd.DataFrame", *, ax: "Axes") -> None:
    """One row per dependency: its status year by year as bands, a dot where an assessment set it.

    Takes ``status_frame()``. A stale year (``stale``) is drawn lighter and hatched; a year whose
    row reports a search that found nothing current gets a ring and no band. Rows are ordered by
    the latest year: current statuses (most advanced first), then searched rows, then rows of
    ``chokepoints`` (dependencies) without any status, with an empty band.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    last_year = int(status["year"].max())
    last = status[status["year"] == last_year]
    has = last[last["status"].notna()]
    order = [r.chokepoint_id for r in sorted(has.itertuples(index=False), key=lambda r: (-rank[r.status], r.chokepoint_id))]
    order += sorted(set(last.loc[last["status"].isna(), "chokepoint_id"]))
    deps = chokepoints[chokepoints["direction"] == "dependency"]
    ids = order + sorted(set(deps["chokepoint_id"].astype(str)) - set(order))
    pos = {c: i for i, c in enumerate(ids)}
    names = chokepoints.set_index("chokepoint_id")["name_en"]
    stale = status["stale"].astype(bool) if "stale" in status.columns else status["year"] < 0
    handles = []
    for s in STATUS_ORDER:
        colour = STATUS_COLOURS[s]
        for flag, alpha, hatch in ((False, 1.0, None), (True, 0.35, "////")):
            sub = status[(status["status"] == s) & (stale == flag)]
            for c, g in sub.groupby("chokepoint_id"):
                ax.broken_barh([(y - 0.5, 1.0) for y in g["year"]], (pos[c] - 0.38, 0.76), facecolor=colour,
                               alpha=alpha, hatch=hatch, edgecolor="white" if hatch else "none", lw=0)
        handles.append(Patch(facecolor=colour, label=s.replace("_", " ")))
    handles.append(Patch(facecolor="#999999", alpha=0.35, hatch="////", edgecolor="white", lw=0, label="stale"))
    set_by = status[status["assessed"]]
    ax.scatter(set_by["year"], [pos[c] for c in set_by["chokepoint_id"]], s=6, color="white", zorder=3,
               edgecolors="#444444", linewidths=0.3)
    handles.append(Line2D([], [], ls="", marker="o", ms=2.5, markerfacecolor="white", markeredgecolor="#444444",
                          markeredgewidth=0.3, label="assessed that year"))
    searched = status[status["status"].isna()] if "basis" in status.columns else status.iloc[:0]
    if len(searched):
        ax.scatter(searched["year"], [pos[c] for c in searched["chokepoint_id"]], s=16, facecolors="none",
                   edgecolors="#222222", linewidths=0.8, zorder=3)
        handles.append(Line2D([], [], ls="", marker="o", ms=4, markerfacecolor="none", markeredgecolor="#222222",
                              markeredgewidth=0.8, label="searched, nothing current"))
    ax.set_yticks(range(len(ids)), [textwrap.shorten(str(names.get(c, c)), 48, placeholder="...") for c in ids],
                  fontsize=6.5)
    ax.set_ylim(len(ids) - 0.5, -0.5)
    years = sorted(set(status["year"]))
    ax.set_xticks(range(min(years), max(years) + 1, 2))
    ax.set_xlim(min(years) - 0.6, max(years) + 0.6)
    ax.grid(axis="x", color="#eeeeee", lw=0.6)
    ax.set_axisbelow(True)
    ax.legend(handles=handles, loc="lower left", fontsize=7, frameon=False, ncol=4, bbox_to_anchor=(0, 1.0),
              borderaxespad=0.2, handletextpad=0.4, columnspacing=1.0)


def plot_ev_batteries(ev: "pd.DataFrame", *, ax: "Axes") -> None:
    """Lines of each maker's share over the years; a year without a sourced figure is a gap."""
    import numpy as np

    years = list(range(int(ev["year"].min()), int(ev["year"].max()) + 1))
    latest = ev[ev["primary"]].sort_values("year").groupby("holder").tail(1)
    makers = latest.sort_values(["share", "holder"], ascending=[False, True], kind="mergesort")["holder"].tolist()
    makers += sorted(set(ev["holder"]) - set(makers))
    cmap = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
            "#1f78b4", "#b2df8a", "#fb9a99", "#cab2d6"]
    for i, holder in enumerate(makers):
        rows = ev[ev["holder"] == holder]
        prim = rows[rows["primary"]].set_index("year")["share"].astype(float)
        series = [float(prim[y]) if y in prim.index else np.nan for y in years]
        first = rows.iloc[0]
        style = "-" if first["country"] == "CHN" else "--"
        colour = cmap[i % len(cmap)]
        ax.plot(years, series, style, marker="o", ms=3.5, lw=1.4, color=colour,
                label=f"{textwrap.shorten(str(first['name']), 26, placeholder='...')} ({first['country']})")
        other = rows[~rows["primary"]]
        differs = np.array([y not in prim.index or abs(float(v) - float(prim[y])) > 1e-9
                            for v, y in zip(other["share"], other["year"])], dtype=bool)
        other = other.loc[differs]
        ax.scatter(other["year"], other["share"].astype(float), marker="o", s=22, facecolors="none",
                   edgecolors=colour, lw=0.9, zorder=3)
    ax.set_xticks(years)
    ax.set_ylim(0, None)
    ax.yaxis.set_major_formatter(_percent(1.0, decimals=0))
    ax.set_ylabel("share of global EV battery installations")
    ax.legend(fontsize=6.5, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def plot_targets(targets: "pd.DataFrame", *, ax: "Axes") -> None:
    """One line per target: the target (open diamond) and what was achieved (filled dot)."""
    t = targets.sort_values(["target_year", "scope"], kind="mergesort").reset_index(drop=True)
    for i, r in t.iterrows():
        ax.scatter([float(r["target_value"])], [i], marker="D", s=30, facecolors="none", edgecolors="#2166ac",
                   lw=1.2, zorder=3, label="target" if i == 0 else None)
        if not _isna(r["achieved_value"]):
            a = float(r["achieved_value"])
            ax.plot([a, float(r["target_value"])], [i, i], color="#bbbbbb", lw=1.5, zorder=1)
            ax.scatter([a], [i], s=30, color="#b2182b", zorder=3, label="achieved" if "achieved" not in
                       [h.get_label() for h in ax.collections] else None)
            ax.text(a - 0.015, i, f"{a:.0%} in {int(r['achieved_year'])}", fontsize=6, va="center", ha="right",
                    color="#b2182b")
        else:
            target = float(r["target_value"])
            right = target <= 0.6  # a high target leaves no room on its right: write on its left
            ax.text(target + (0.025 if right else -0.025), i, "no achieved value sourced", fontsize=6, va="center",
                    ha="left" if right else "right", color="#888888")
    labels = [f"{textwrap.shorten(str(s), 58, placeholder='...')} - by {int(y)}"
              for s, y in zip(t["scope"], t["target_year"])]
    ax.set_yticks(range(len(t)), labels, fontsize=6.5)
    ax.set_ylim(len(t) - 0.5, -0.5)
    ax.set_xlim(0, 1.05)
    ax.xaxis.set_major_formatter(_percent(1.0))
    ax.set_xlabel("share (domestic share, self-sufficiency or localisation, as each target defines it)")
    ax.grid(axis="x", color="#eeeeee", lw=0.6)
    ax.legend(fontsize=7, frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, borderaxespad=0.2)


def _percent(xmax: float, decimals: int | None = None) -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax, decimals=decimals)


def _isna(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


CONTROL_KINDS = ("export_control", "entity_listing", "countermeasure")
_JURISDICTION_COLOURS = {"USA": "#1f78b4", "NLD": "#ff7f00", "JPN": "#6a3d9a", "CHN": "#e31a1c"}
_KIND_MARKERS = {"export_control": "o", "entity_listing": "s", "countermeasure": "^"}


def plot_controls(policies: "pd.DataFrame", *, ax: "Axes") -> list[str]:
    """Export controls, entity listings and China's countermeasures in date order; returns source ids."""
    p = policies[policies["kind"].astype(object).isin(CONTROL_KINDS)].sort_values(["announced", "policy_id"], kind="mergesort")
    p = p.reset_index(drop=True)
    middle = p["announced"].min() + (p["announced"].max() - p["announced"].min()) / 2
    for i, r in p.iterrows():
        colour = _JURISDICTION_COLOURS.get(str(r["jurisdiction"]), "#555555")
        ax.scatter([r["announced"]], [i], marker=_KIND_MARKERS[str(r["kind"])], s=36, color=colour, zorder=3)
        name = textwrap.shorten(str(r["name_en"]), 62, placeholder="...")
        ended = r["ended"] if "ended" in p.columns and not _isna(r["ended"]) else None
        if r["announced"] <= middle:  # after the last marker of the row (its end, if any)
            ax.annotate(f"{r['announced']:%Y-%m-%d}  {name}", (ended if ended is not None else r["announced"], i),
                        xytext=(5, 0), textcoords="offset points", fontsize=6.5, va="center", ha="left")
        else:  # before its first marker: the span runs to the right, away from the text
            ax.annotate(f"{name}  {r['announced']:%Y-%m-%d}", (r["announced"], i), xytext=(-5, 0),
                        textcoords="offset points", fontsize=6.5, va="center", ha="right")
    if "suspended_from" in p.columns:  # a suspension is not an end: a dashed span from its first to its last day
        open_end = max(d for d in (p["announced"].max(), p["suspended_from"].max(), p.get("suspended_until", p["announced"]).max())
                       if not _isna(d))
        for i, r in p.iterrows():
            if _isna(r["suspended_from"]):
                continue
            colour = _JURISDICTION_COLOURS.get(str(r["jurisdiction"]), "#555555")
            until = r.get("suspended_until")
            last = open_end if _isna(until) else until
            ax.plot([r["suspended_from"], last], [i, i], color=colour, lw=0.9, ls=(0, (2, 1.5)), zorder=2)
            ax.scatter([r["suspended_from"]] + ([] if _isna(until) else [until]), [i] * (1 if _isna(until) else 2),
                       marker="|", s=30, color=colour, lw=1.0, zorder=3)
    if "ended" in p.columns:  # issue 7: a measure that was lifted or replaced ends with an x
        for i, r in p.iterrows():
            if not _isna(r["ended"]):
                colour = _JURISDICTION_COLOURS.get(str(r["jurisdiction"]), "#555555")
                ax.plot([r["announced"], r["ended"]], [i, i], color=colour, lw=0.8, alpha=0.6, zorder=2)
                ax.scatter([r["ended"]], [i], marker="x", s=18, color=colour, lw=0.9, zorder=3)
    if "responds_to" in p.columns:  # issue 7: draw what each countermeasure answers
        where = {pid: (d, i) for i, (pid, d) in enumerate(zip(p["policy_id"], p["announced"]))}
        for i, r in p.iterrows():
            target = r["responds_to"]
            if isinstance(target, str) and target in where:
                d0, i0 = where[target]
                ax.annotate("", xy=(r["announced"], i), xytext=(d0, i0),
                            arrowprops={"arrowstyle": "->", "color": "#bbbbbb", "lw": 0.6,
                                        "connectionstyle": "arc3,rad=-0.25"})
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_ylim(len(p) - 0.5, -0.8)
    lo = p["announced"].min()
    hi = max(d for c in ("announced", "ended", "suspended_from", "suspended_until") if c in p.columns
             for d in [p[c].max()] if not _isna(d))
    import pandas as pd

    ax.set_xlim(lo - pd.Timedelta(days=90), hi + pd.Timedelta(days=90))
    ax.grid(axis="x", color="#eeeeee", lw=0.6)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker="o", color=c, label=j) for j, c in _JURISDICTION_COLOURS.items()]
    handles += [Line2D([], [], ls="", marker=m, color="#555555", label=k.replace("_", " ")) for k, m in _KIND_MARKERS.items()]
    handles.append(Line2D([], [], color="#bbbbbb", lw=0.8, label="responds to (arrow from the measure answered)"))
    handles.append(Line2D([], [], color="#555555", lw=0.8, marker="x", label="ended (rescinded, expired, replaced)"))
    handles.append(Line2D([], [], color="#555555", lw=0.9, ls=(0, (2, 1.5)), marker="|",
                          label="suspended (first to last day covered)"))
    ax.legend(handles=handles, fontsize=6.5, frameon=False, loc="lower left", ncol=4, bbox_to_anchor=(0, 1.0),
              borderaxespad=0.3, columnspacing=1.2)  # above the rows: below them it covered the latest measures
    ends = set(p["end_source_id"].dropna().astype(str)) if "end_source_id" in p.columns else set()
    if "suspension_source_id" in p.columns:
        ends |= set(p["suspension_source_id"].dropna().astype(str))
    return sorted(set(p["source_id"].astype(str)) | ends)


# --- assembling and writing ----------------------------------------------------------------
