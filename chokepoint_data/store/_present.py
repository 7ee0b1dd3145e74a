"""The frame a user gets from a stored table: enumerations as (ordered) categoricals.

Also the small readers of a Table Schema field that decide it (its kind, constraints and
enumeration), which the rules build on too.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa_arrow
import pyarrow.compute as pc

__all__ = ["field_kind", "constraints_of", "enum_of", "categorical_dtype", "to_presentation"]


def field_kind(field: Mapping[str, Any]) -> str:
    return str(field.get("type", "string"))


def constraints_of(field: Mapping[str, Any]) -> Mapping[str, Any]:
    return field.get("constraints", {}) or {}


def enum_of(field: Mapping[str, Any]) -> list[str] | None:
    enum = constraints_of(field).get("enum")
    return list(enum) if enum is not None else None


def categorical_dtype(field: Mapping[str, Any]) -> pd.CategoricalDtype | None:
    """The categorical dtype users see for an enumerated string field (ordered where the
    schema says ``categoriesOrdered``); None for any other field."""
    enum = enum_of(field)
    if field_kind(field) != "string" or enum is None:
        return None
    return pd.CategoricalDtype(enum, ordered=bool(field.get("categoriesOrdered", False)))


def to_presentation(schema: Mapping[str, Any], typed: pd.DataFrame) -> pd.DataFrame:
    """Typed frame -> the frame users get: enumerations as categoricals."""
    result = typed.copy(deep=False)
    for field in schema["fields"]:
        dtype = categorical_dtype(field)
        if dtype is not None:
            result[field["name"]] = _categorical(result[field["name"]], dtype)
    return result


def _categorical(s: pd.Series, dtype: pd.CategoricalDtype) -> pd.Series:
    """``s.astype(dtype)``, through Arrow's dictionary encoding (one hash pass, no Python loop)."""
    if len(s) < 10_000 or not isinstance(s.dtype, pd.StringDtype):
        return s.astype(dtype)
    encoded = pc.dictionary_encode(pa_arrow.array(s.array))
    if isinstance(encoded, pa_arrow.ChunkedArray):  # pragma: no cover - pa.array gives one chunk
        encoded = encoded.combine_chunks()
    seen = encoded.dictionary.to_pylist()
    position = {c: i for i, c in enumerate(dtype.categories)}
    remap = np.array([position.get(v, -1) for v in seen] + [-1], dtype=np.int64)
    codes = pc.fill_null(encoded.indices.cast(pa_arrow.int64()), -1).to_numpy(zero_copy_only=False)
    return pd.Series(pd.Categorical.from_codes(remap[codes], dtype=dtype), index=s.index, name=s.name)
