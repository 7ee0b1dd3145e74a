"""Validation at scale: validate() on large generated frames, as times and ratios in one run.

    python benchmarks/scale.py [--max-rows 1000000] [--tables market_shares,indicators,sources]
                               [--repeat 3] [--bad 0.01] [--no-pandera]

For each table and size (1e4, 1e5, 1e6, and 1e7 with ``--max-rows 10000000``) it builds a
valid frame from the shipped data (see ``generate``), and prints:

- the median time of ``validate({table: frame})`` (every other table comes from the
  shipped data, so foreign keys resolve),
- the ratio to the previous size (10x more rows; the target is at most 12x),
- the ratio to a plain pandera schema with equivalent column checks on the same frame
  (dtype, nullability, enumerations, ranges, patterns, lengths, primary-key uniqueness,
  foreign keys as ``isin`` and, for market shares, the group-sum check),
- the same frame with a fraction ``--bad`` of its cells broken (default 1%): the time, the
  ratio to the valid frame, and whether every broken cell was reported,
- the peak resident memory of the process so far,

and, once, the cost of ``import chokepoint_data`` as a ratio to ``python -c pass`` (cold
processes, median of several). Times are wall-clock on whatever machine runs it: read the
ratios, and note the load on the machine when you quote absolute times.

Generation derives everything from the Table Schema and the shipped frames: a table is cut
into *units* (rows that must stay together: a whole market for market shares, one row
elsewhere) and each unit is replicated with new values drawn, without repeating a key, from
the pools its varied columns allow (the schema's enumeration or integer range, the ids of
the table a foreign key points at, ISO codes, or fresh ids). Adapting it to a changed
table means editing its entry in ``SPECS``.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

import chokepoint_data as cd
from chokepoint_data import _loader

WEAK_KINDS = ("aggregator", "blog")


# --- generation ------------------------------------------------------------------------

def _fields(table: str) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in _loader.table_schema(table)["fields"]}


def _fk_target(table: str, column: str) -> tuple[str, str] | None:
    for fk in _loader.table_schema(table).get("foreignKeys", []):
        if fk["fields"] == [column]:
            ref = fk["reference"]
            return ref.get("resource") or table, ref["fields"][0]
    return None


def pool(table: str, column: str) -> list[Any]:
    """Every value a column may take, from its declaration: enumeration, integer range,
    foreign-key target ids (sources strong enough for any grade), or ISO 3166 codes."""
    f = _fields(table)[column]
    c = f.get("constraints", {})
    if "enum" in c:
        return list(c["enum"])
    if f["type"] == "integer" and "minimum" in c and "maximum" in c:
        return list(range(int(c["minimum"]), int(c["maximum"]) + 1))
    target = _fk_target(table, column)
    if target is not None:
        ref_table, ref_col = target
        ref = cd.load(ref_table)
        if ref_table == "sources":  # any confidence grade stays valid (grade_fits_source)
            ref = ref[~ref["kind"].isin(WEAK_KINDS)]
        return sorted(ref[ref_col].astype(str))
    if c.get("pattern") == "^[A-Z]{3}$":
        import pycountry

        return sorted(c.alpha_3 for c in pycountry.countries)
    raise ValueError(f"no pool for {table}.{column}: give one in SPECS")


@dataclass
class Spec:
    """How to grow a table: rows sharing ``unit`` stay together; ``vary`` columns get new
    values from their pools (key-distinct within each group of the other unit columns);
    ``fresh`` columns get new unique ids (``<old>-r<n>``); ``keep_shipped`` puts the
    shipped rows first (needed where other tables point at this one)."""

    unit: Sequence[str]
    vary: Sequence[str] = ()
    fresh: Sequence[str] = ()
    keep_shipped: bool = False
    pools: dict[str, list[Any]] = field(default_factory=dict)


MARKET_KEY = ["chokepoint_id", "year", "scope", "basis", "breakdown", "source_id"]
SPECS: dict[str, Spec] = {
    # a whole market is one unit: its holders and shares move together, so every sum rule holds
    "market_shares": Spec(unit=MARKET_KEY, vary=["year", "source_id", "scope", "basis"]),
    "indicators": Spec(unit=["chokepoint_id", "geo", "metric", "year", "source_id"], vary=["year", "source_id", "geo"]),
    # the shipped rows (other tables cite them) plus copies under new ids: wide text
    "sources": Spec(unit=["source_id"], fresh=["source_id"], keep_shipped=True),
}


def generate(table: str, n_rows: int, *, seed: int = 0) -> pd.DataFrame:
    """A valid frame of about ``n_rows`` rows (whole units only) typed as ``load()`` types it."""
    spec = SPECS[table]
    base = cd.load(table)
    rng = np.random.default_rng(seed)
    unit_id = base.groupby(list(spec.unit), observed=True, dropna=False, sort=False).ngroup().to_numpy()
    order = np.argsort(unit_id, kind="stable")
    sizes = np.bincount(unit_id)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n_units = len(sizes)
    shipped_rows = len(base) if spec.keep_shipped else 0
    # replicas: cycle over the units (shuffled) until the rows are there
    per_cycle = int(sizes.sum())
    cycles = max(1, -(-max(0, n_rows - shipped_rows) // per_cycle))
    replica_unit = np.concatenate([rng.permutation(n_units) for _ in range(cycles)])
    cum = np.cumsum(sizes[replica_unit])
    replica_unit = replica_unit[: int(np.searchsorted(cum, n_rows - shipped_rows, side="left")) + 1]
    # rows: each replica expands to its unit's rows
    lens = sizes[replica_unit]
    row_starts = np.repeat(starts[replica_unit], lens)
    within = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    rows = order[row_starts + within]
    out = base.iloc[rows].reset_index(drop=True)
    replica_of_row = np.repeat(np.arange(len(replica_unit)), lens)
    if spec.vary:
        fixed = [c for c in spec.unit if c not in spec.vary]
        fixed_group = base.groupby(fixed, observed=True, dropna=False, sort=False).ngroup().to_numpy() if fixed else np.zeros(len(base), int)
        unit_fixed = np.zeros(n_units, dtype=np.int64)
        unit_fixed[unit_id] = fixed_group
        slot = pd.Series(unit_fixed[replica_unit]).groupby(unit_fixed[replica_unit]).cumcount().to_numpy()
        pools = {c: spec.pools.get(c) or pool(table, c) for c in spec.vary}
        capacity = int(np.prod([len(p) for p in pools.values()], dtype=np.float64))
        if slot.max() >= capacity:
            raise ValueError(f"{table}: {n_rows} rows need more key space than {spec.vary} give ({capacity} per group)")
        rest = slot.copy()
        for col in spec.vary:
            values = np.asarray(pools[col], dtype=object)
            pick = rest % len(values)
            rest //= len(values)
            out[col] = pd.array(values[pick][replica_of_row], dtype=out[col].dtype if not isinstance(out[col].dtype, pd.CategoricalDtype) else object)
            if isinstance(base[col].dtype, pd.CategoricalDtype):
                out[col] = out[col].astype(base[col].dtype)
    for col in spec.fresh:
        suffix = pd.Series(replica_of_row, dtype="int64").astype(str)
        out[col] = (out[col].astype(str) + "-r" + suffix).astype(base[col].dtype)
    if spec.keep_shipped:
        out = pd.concat([base, out], ignore_index=True)
    return out


# --- the plain pandera schema to compare with ------------------------------------------

def plain_pandera(table: str, frame: pd.DataFrame):
    """A plain pandera schema with the column checks a user would write for this table:
    dtypes, nullability, enumerations, ranges, patterns, lengths, primary-key uniqueness,
    foreign keys as ``isin`` against the shipped ids, and the market group sum."""
    import pandera.pandas as pa

    sch = _loader.table_schema(table)
    columns = {}
    for f in sch["fields"]:
        c = f.get("constraints", {})
        checks = []
        if "enum" in c:
            checks.append(pa.Check.isin(c["enum"]))
        if "minimum" in c:
            checks.append(pa.Check.ge(c["minimum"]))
        if "maximum" in c:
            checks.append(pa.Check.le(c["maximum"]))
        if "pattern" in c:
            checks.append(pa.Check.str_matches(c["pattern"]))
        if "maxLength" in c:
            checks.append(pa.Check.str_length(max_value=c["maxLength"]))
        target = _fk_target(table, f["name"])
        if target is not None and target[0] != table:
            checks.append(pa.Check.isin(cd.load(target[0])[target[1]].astype(str).tolist()))
        columns[f["name"]] = pa.Column(frame[f["name"]].dtype, nullable=not c.get("required", False), checks=checks)
    frame_checks = []
    if table == "market_shares":
        frame_checks.append(pa.Check(lambda d: d.groupby(MARKET_KEY, observed=True)["share"].transform("sum") <= 1.015))
    return pa.DataFrameSchema(columns, checks=frame_checks, unique=list(sch.get("primaryKey") or []), strict=True)
