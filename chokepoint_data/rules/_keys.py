"""Row keys as text.

- ``col=value;col=value``, the form claim_evidence.evidence_key uses: defined once in
  ``store._keytext`` (the commercial subset reads keys too) and re-exported here;
- ``col=value, col=value``, the key a ``Failure`` names (``key_texts``, in Arrow), for coercion
  and validation alike;
- the values a market holder may be: a company id or an ISO 3166-1 alpha-3 code
  (``holder_pools``; the codes from pycountry, read once).

pandas and pyarrow; no pandera.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..store._keytext import KEY_SEP, key_strings, key_texts_of, parse_key
from ._columns import as_arrow_text

__all__ = ["KEY_SEP", "parse_key", "key_strings", "key_texts_of", "key_texts", "holder_pools"]

# --- the key of a failing row: 'col=value, col=value' ---------------------------------------

def _cell_text(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and value != value:
        return ""
    return str(value)


def _key_part(col: str, series: pd.Series | None, positions: np.ndarray) -> pa.Array:
    """'col=value' per position, as Arrow text; text and integers cast in Arrow (the same
    text Python gives), anything else through ``str``."""
    n = len(positions)
    if series is None:
        return pa.array([f"{col}="] * n, type=pa.large_string())
    taken = series.take(positions)
    dtype = taken.dtype
    if isinstance(dtype, pd.StringDtype) or isinstance(dtype, pd.Int64Dtype) or (isinstance(dtype, np.dtype) and dtype.kind in "iu"):
        values = pa.array(taken.array if not isinstance(dtype, np.dtype) else taken.to_numpy()).cast(pa.large_string())
    else:
        values = pa.array([_cell_text(v) for v in taken.tolist()], type=pa.large_string())
    values = pc.fill_null(values, "")
    return pc.binary_join_element_wise(pa.scalar(f"{col}=", pa.large_string()), values, pa.scalar("", pa.large_string()))


def key_texts(pk: list[str], columns: Mapping[str, pd.Series], positions: np.ndarray,
              given: Mapping[str, dict[int, str]] | None = None, *, arrow: bool = False) -> Any:
    """'col=value, ...' of the primary key at each position (``given`` overrides cells by
    position), as a list, or with ``arrow`` as an Arrow array (or a list of None without a key)."""
    if not pk or not len(positions):
        return [None] * len(positions)
    parts = []
    for col in pk:
        part = _key_part(col, columns.get(col), positions)
        override = (given or {}).get(col)
        if override:  # a key cell that did not parse: show what was given
            texts = part.to_pylist()
            part = pa.array([f"{col}={override[p]}" if t == f"{col}=" and p in override else t
                             for p, t in zip(positions.tolist(), texts)], type=pa.large_string())
        parts.append(part)
    joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, pa.scalar(", ", pa.large_string()))
    return joined if arrow else joined.to_pylist()


@functools.lru_cache(maxsize=None)
def _iso3_codes() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.countries)


def holder_pools(frames: Mapping[str, pd.DataFrame]) -> tuple[pa.Array, pa.Array]:
    """The company ids and ISO 3166-1 alpha-3 codes a holder may be, as Arrow arrays."""
    companies = frames.get("companies")
    ids = as_arrow_text(companies["company_id"]).drop_null() if companies is not None and "company_id" in companies else pa.array([], pa.large_string())
    return pc.unique(ids), pa.array(sorted(_iso3_codes()), pa.large_string())
