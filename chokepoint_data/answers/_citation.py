"""citation(): how to cite the package and its data, with the attribution its sources require.

Standard library only.
"""

from __future__ import annotations

from typing import Literal

from .._errors import check_choice, check_flag
from .._version import __version__

__all__ = ["ETO_ATTRIBUTION", "citation"]

_TITLE = "chokepoint-data: a curated, cited dataset of China's industrial choke points"
_AUTHOR = "chokepoint-data contributors"
#: The attribution the ETO Supply Chain Explorer data asks for (CC BY-NC 4.0 requires it, and
#: a statement of changes). ETO asks for the "(2022 release)" name; the files we read are its
#: 2025 and August 2026 data updates, so both the name and the exact commits are given.
ETO_ATTRIBUTION = (
    "Emerging Technology Observatory Advanced Semiconductor Supply Chain Dataset (2022 release, with the 2025 "
    "and August 2026 data updates), https://eto.tech/dataset-docs/chipexplorer/ ; data files from "
    "https://github.com/georgetown-cset/eto-chip-explorer at commits 8a926c18b026c38d170a3b3c08f1dfaebd2fa35e "
    "and 9b726243705f806ee9154d0aea2a01af39aad884. Licensed CC BY-NC 4.0 "
    "(https://creativecommons.org/licenses/by-nc/4.0/). Changes: selected rows; percentages converted to fractions."
)
_LICENCE_TEXT = ("Data licence: CC BY 4.0 for the curation, except rows citing the ETO Supply Chain Explorer, "
                 "which are CC BY-NC 4.0 (non-commercial); load(..., commercial_only=True) leaves them out.")
_COMMERCIAL_TEXT = "Data licence: CC BY 4.0 (rows citing non-commercial sources left out)."


def citation(style: Literal["text", "bibtex"] = "text", *, commercial_only: bool = False) -> str:
    """How to cite this release of the dataset, with the attribution its sources require.

    Parameters
    ----------
    style : {"text", "bibtex"}
        A plain-text reference or a BibTeX entry. Cite the original sources too:
        ``sources_for(frame)`` gives the rows behind any figure you use.
    commercial_only : bool, default False
        Cite what ``load(..., commercial_only=True)`` gives: without the ETO rows, so
        without ETO's attribution and its non-commercial licence.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> "chokepoint-data" in cd.citation()
    True
    >>> "Emerging Technology Observatory" in cd.citation()
    True
    """
    check_choice("citation", "style", style, ("text", "bibtex"))
    check_flag("citation", "commercial_only", commercial_only)
    licence = _COMMERCIAL_TEXT if commercial_only else _LICENCE_TEXT
    if style == "text":
        text = f"{_AUTHOR}. {_TITLE}. Version {__version__}. {licence}"
        if not commercial_only:
            text += f"\nIncludes data from: {ETO_ATTRIBUTION}"
        return text
    if style == "bibtex":
        key = "chokepoint_data_" + __version__.replace(".", "_")
        entry = (
            f"@misc{{{key},\n"
            f"  author = {{{{{_AUTHOR}}}}},\n"
            f"  title = {{{{{_TITLE}}}}},\n"
            f"  version = {{{__version__}}},\n"
            f"  note = {{{licence} Code licence MIT.}}\n"
            f"}}"
        )
        if not commercial_only:
            entry += (
                "\n@misc{eto_chip_explorer,\n"
                "  author = {{Emerging Technology Observatory}},\n"
                "  title = {{Emerging Technology Observatory Advanced Semiconductor Supply Chain Dataset}},\n"
                "  howpublished = {\\url{https://eto.tech/dataset-docs/chipexplorer/}},\n"
                "  note = {2022 release, with the 2025 and August 2026 data updates; repository "
                "georgetown-cset/eto-chip-explorer at commits 8a926c1 and 9b72624. CC BY-NC 4.0}\n"
                "}"
            )
        return entry
    raise ValueError(f"style must be 'text' or 'bibtex', not {style!r}")
