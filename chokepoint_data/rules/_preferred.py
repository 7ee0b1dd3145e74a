"""Rival markets: where two or more markets measure the same thing, which one to show.

Markets with the same ``RIVALS`` columns (the same product, year, part of the year, scope, basis
and breakdown, from different sources) are rivals: exactly one of them has ``preferred`` true,
and it says why (``preference_reason``). A market without a rival may leave both empty.
Registered with the other invariants in ``_invariants.RULES``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..store._rivals import RIVALS
from ._columns import _bool, group_codes

__all__ = ["RIVALS", "rival_groups"]


def rival_groups(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row: a code of its rival group, and whether the group has two or more markets."""
    cols = [c for c in RIVALS if c in d.columns]
    codes = np.unique(group_codes(d, cols), return_inverse=True)[1].reshape(-1)
    sizes = np.bincount(codes, minlength=int(codes.max()) + 1 if len(codes) else 0)
    return codes, (sizes[codes] > 1) if len(codes) else np.zeros(0, dtype=bool)


def _preferred(d: pd.DataFrame) -> np.ndarray:
    if "preferred" not in d.columns:
        return np.zeros(len(d), dtype=bool)
    return (d["preferred"] == True).fillna(False).to_numpy(dtype=bool)  # noqa: E712


def _one_preferred(d: pd.DataFrame) -> pd.Series:
    """False for every rival of a group with no preferred market, and for each preferred market of a
    group with more than one."""
    codes, rivalled = rival_groups(d)
    pref = _preferred(d)
    if not len(codes):
        return _bool(np.ones(0, dtype=bool), d.index)
    n_pref = np.bincount(codes, weights=pref.astype(float), minlength=int(codes.max()) + 1)[codes]
    bad = rivalled & ((n_pref == 0) | ((n_pref > 1) & pref))
    return _bool(~bad, d.index)


def _preference_reason(d: pd.DataFrame) -> pd.Series:
    _, rivalled = rival_groups(d)
    reason = d["preference_reason"] if "preference_reason" in d.columns else pd.Series(pd.NA, index=d.index)
    has = reason.notna().to_numpy(dtype=bool) & (reason.astype("string").str.strip() != "").fillna(False).to_numpy(dtype=bool)
    return _bool(~(rivalled & _preferred(d) & ~has), d.index)
