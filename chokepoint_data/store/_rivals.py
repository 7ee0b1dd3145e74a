"""Rival markets: which markets measure the same thing from different sources.

Markets with the same ``RIVALS`` columns are rivals; exactly one of a group has ``preferred``
true (the rule lives in ``rules/_preferred``). The definition lives here, in the store, because
the commercial subset (``_licences``) needs it too: a group whose preferred market goes, goes whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

__all__ = ["RIVALS", "rival_codes"]

#: The markets columns that make two markets rivals (a quarter is not a year: ``period`` counts).
RIVALS = ["chokepoint_id", "year", "period", "scope", "basis", "breakdown"]


def rival_codes(markets: "pd.DataFrame") -> "np.ndarray":
    """Per row, the number of its rival group (rows with equal ``RIVALS`` values, missing equal to
    missing)."""
    import numpy as np

    cols = [c for c in RIVALS if c in markets.columns]
    if not cols:  # a frame built by hand with none of them: one group, as the rules see it
        return np.zeros(len(markets), dtype=np.int64)
    return markets.groupby(cols, dropna=False, sort=False, observed=True).ngroup().to_numpy()
