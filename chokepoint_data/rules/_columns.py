"""Column primitives over pandas and Arrow: the Arrow text behind a column (joined, or in its
chunks), values checked once per distinct value, integer codes of one or several columns
(equal values share a code), and hash lookups. The rules of ``_schemas``, ``_invariants``
and ``_markets`` are built from these; nothing here knows a table. Also the canonical pandas
dtype of a Table Schema field (``pandas_dtype``), which coercion and validation share.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa_arrow
import pyarrow.compute as pc

from ..store._present import categorical_dtype, field_kind


_DEDUPE_MIN_ROWS = 20_000


def _arrow_text(s: pd.Series) -> pa_arrow.Array | None:
    """The Arrow array behind a text column, or None when the column is not Arrow text.
    A column held in several chunks is joined (copied): see ``_arrow_chunks``."""
    if not isinstance(s.dtype, pd.StringDtype) or s.dtype.storage != "pyarrow":
        return None
    arr = pa_arrow.array(s.array)
    return arr.combine_chunks() if isinstance(arr, pa_arrow.ChunkedArray) else arr


def _arrow_chunks(s: pd.Series) -> pa_arrow.ChunkedArray | None:
    """The Arrow chunks behind a text column as they are (no copy: long free text stays in the
    chunks it came in, see ``_coerce.LONG_TEXT_BYTES``), or None when it is not Arrow text."""
    if not isinstance(s.dtype, pd.StringDtype) or s.dtype.storage != "pyarrow":
        return None
    arr = s.array.__arrow_array__()  # pandas' ArrowStringArray: its ChunkedArray, not a copy
    return arr if isinstance(arr, pa_arrow.ChunkedArray) else pa_arrow.chunked_array([arr])


def as_arrow_text(s: pd.Series) -> pa_arrow.Array:
    """Any text column as an Arrow large_string array (nulls as nulls), without Python objects
    where the column is Arrow text already."""
    arr = _arrow_text(s)
    if arr is None:
        arr = pa_arrow.array(s.astype("string").array)
        if isinstance(arr, pa_arrow.ChunkedArray):  # pragma: no cover - pa.array gives one chunk
            arr = arr.combine_chunks()
    return arr.cast(pa_arrow.large_string())


def positions_in(s: pd.Series, values: pd.Series) -> np.ndarray:
    """Per row of ``s``, the position of its value's first occurrence in ``values``, or -1
    (a hash join in Arrow; nulls find nothing)."""
    at = pc.index_in(as_arrow_text(s), value_set=as_arrow_text(values))
    return pc.fill_null(at.cast(pa_arrow.int64()), -1).to_numpy(zero_copy_only=False)


def _per_distinct(s: pd.Series, fn: Callable[[pd.Series], Any]) -> np.ndarray:
    """``fn`` over the distinct values of a text column, spread back over the rows.

    For columns with many repeated values (enumerations, ids, recurring notes) this checks
    each value once; otherwise it calls ``fn`` on the column itself. ``fn`` returns a numpy
    boolean array; nulls pass.
    """
    arr = _arrow_chunks(s) if len(s) >= _DEDUPE_MIN_ROWS else None
    if arr is not None and arr.num_chunks and pc.count_distinct(arr.slice(0, 10_000)).as_py() < 2_500:
        encoded = pc.dictionary_encode(arr).unify_dictionaries()  # one dictionary for every chunk
        dictionary = encoded.chunk(0).dictionary
        uniques = pd.Series(pd.arrays.ArrowStringArray(dictionary.cast(pa_arrow.large_string())))
        ok_u = np.append(np.asarray(fn(uniques), dtype=bool), True)  # the last slot is for nulls
        indices = pa_arrow.chunked_array([chunk.indices.cast(pa_arrow.int64()) for chunk in encoded.chunks])
        codes = pc.fill_null(indices, -1).to_numpy()
        return ok_u[codes]
    return np.asarray(fn(s), dtype=bool)


def _bool(values: Any, index: pd.Index) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=bool), index=index)



def _codes_of(s: pd.Series) -> tuple[np.ndarray, int]:
    """(codes, cardinality) of one column: equal values share a code, nulls share one too.

    Categoricals give their codes, Arrow text its dictionary encoding, small-range integers
    their offset from the minimum: no hashing where none is needed.
    """
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int64)
        k = len(dtype.categories)
        codes[codes < 0] = k
        return codes, k + 1
    arr = _arrow_text(s)
    if arr is not None:
        encoded = pc.dictionary_encode(arr)
        k = len(encoded.dictionary)
        return pc.fill_null(encoded.indices.cast(pa_arrow.int64()), k).to_numpy(zero_copy_only=False), k + 1
    if isinstance(dtype, pd.Int64Dtype) or (isinstance(dtype, np.dtype) and dtype.kind in "iu"):
        mask = s.isna().to_numpy(dtype=bool)
        values = s.to_numpy(dtype=np.int64, na_value=0) if isinstance(dtype, pd.Int64Dtype) else s.to_numpy().astype(np.int64)
        if len(values) and not mask.all():
            lo, hi = int(values[~mask].min()), int(values[~mask].max())
            if hi - lo <= 4 * len(values) + 1024:
                codes = values - lo
                codes[mask] = hi - lo + 1
                return codes, hi - lo + 2
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    codes[codes < 0] = len(uniques)
    return codes, len(uniques) + 1


def _dense(key: np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(key)
    return np.asarray(codes, dtype=np.int64), len(uniques)


#: A source of codes computed elsewhere: (frame, column) -> (codes, cardinality) as
#: ``_codes_of`` gives them, or None to compute them here.
SharedCodes = Callable[[pd.DataFrame, str], "tuple[np.ndarray, int] | None"]


def group_codes(d: pd.DataFrame, cols: list[str], shared: SharedCodes | None = None) -> np.ndarray:
    """One non-negative int64 code per row such that rows share a code iff they share
    ``cols`` (nulls compare equal); computed from per-column codes, without a groupby.
    The codes are not dense: use ``np.unique(..., return_inverse=True)`` where that matters.
    ``shared`` may supply a column's codes (the market ids, encoded once per validation)."""
    key = np.zeros(len(d), dtype=np.int64)
    card = 1
    for col in cols:
        given = shared(d, col) if shared is not None else None
        codes, k = given if given is not None else _codes_of(d[col])
        if card * k >= 2**62:
            key, card = _dense(key)
        key = key * k + codes
        card *= k
    return key


def _repeated(key: np.ndarray) -> np.ndarray:
    """True where the code occurs more than once (a counting pass, or one sort)."""
    if not len(key):
        return np.zeros(0, bool)
    if int(key.max()) <= 4 * len(key) + 1024:
        return np.bincount(key)[key] > 1
    ordered = np.sort(key)
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    return np.isin(key, np.unique(twice)) if len(twice) else np.zeros(len(key), bool)



def isin(s: pd.Series, values: pd.Series) -> np.ndarray:
    """``s.isin(values)`` as a hash join in Arrow when both are Arrow text (pandas would walk
    ``values`` in Python), else pandas' own."""
    left, right = _arrow_text(s), _arrow_text(values)
    if left is not None and right is not None:
        if 4 * len(left) < len(right):  # hash the small side, probe with the large one
            wanted = pc.unique(left.drop_null())
            right = pc.unique(right.filter(pc.fill_null(pc.is_in(right, value_set=wanted), False)))
        found = pc.is_in(left, value_set=pc.unique(right.drop_null()))
        return pc.fill_null(found, False).to_numpy(zero_copy_only=False)
    return s.isin(values.dropna().unique()).to_numpy(dtype=bool)


def pandas_dtype(field: Mapping[str, Any], *, categorical: bool = False) -> Any:
    """Canonical pandas dtype of a Table Schema field.

    With ``categorical=True`` an enumerated string field becomes a CategoricalDtype
    (ordered where the schema says ``categoriesOrdered``); the validation dtype is the
    plain string dtype so that an unknown category is reported rather than turned into NA.
    """
    kind = field_kind(field)
    if kind == "string":
        category = categorical_dtype(field) if categorical else None
        return pd.StringDtype() if category is None else category
    if kind == "integer":
        return pd.Int64Dtype()
    if kind == "number":
        return pd.Float64Dtype()
    if kind == "boolean":
        return pd.BooleanDtype()
    if kind == "date":
        return np.dtype("datetime64[ns]")
    raise ValueError(f"unsupported Table Schema type {kind!r} for field {field.get('name')!r}")
