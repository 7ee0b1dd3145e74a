"""citation(): how to cite the package and its data. Standard library only."""

from __future__ import annotations

from typing import Literal

from ._version import __version__

__all__ = ["citation"]

_TITLE = "chokepoint-data: a curated, cited dataset of China's industrial choke points"
_AUTHOR = "chokepoint-data contributors"


def citation(style: Literal["text", "bibtex"] = "text") -> str:
    """How to cite this release of the dataset.

    Parameters
    ----------
    style : {"text", "bibtex"}
        A plain-text reference or a BibTeX entry. Cite the original sources too:
        ``sources_for(frame)`` gives the rows behind any figure you use.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> "chokepoint-data" in cd.citation()
    True
    """
    if style == "text":
        return f"{_AUTHOR}. {_TITLE}. Version {__version__}. Data licence CC BY 4.0."
    if style == "bibtex":
        key = "chokepoint_data_" + __version__.replace(".", "_")
        return (
            f"@misc{{{key},\n"
            f"  author = {{{{{_AUTHOR}}}}},\n"
            f"  title = {{{{{_TITLE}}}}},\n"
            f"  version = {{{__version__}}},\n"
            f"  note = {{Data licence CC BY 4.0; code licence MIT}}\n"
            f"}}"
        )
    raise ValueError(f"style must be 'text' or 'bibtex', not {style!r}")
