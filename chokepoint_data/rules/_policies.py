"""The rules of a policy's life: announced, effective, suspended, ended, and what it responds to.

Row-wise checks on the policies table (a null cell passes here: a missing required value is
reported by the schema). Registered with the other invariants in ``_invariants.RULES``.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["POLICY_RULES"]


def _filled(s: pd.Series) -> pd.Series:
    """Boolean-safe: NA (a null cell, reported elsewhere) counts as passing here."""
    return s.fillna(True).astype(bool)


def _effective_after_announced(d: pd.DataFrame) -> pd.Series:
    return _filled(d["effective"].isna() | d["announced"].isna() | (d["effective"] >= d["announced"]))


def _end_complete(d: pd.DataFrame) -> pd.Series:
    present = d[["ended", "end_kind", "end_source_id"]].notna()
    return _filled((present.all(axis=1) | ~present.any(axis=1)).astype("boolean"))


def _ended_after_announced(d: pd.DataFrame) -> pd.Series:
    return _filled(d["ended"].isna() | d["announced"].isna() | (d["ended"] >= d["announced"]))


def _responds_to_earlier(d: pd.DataFrame) -> pd.Series:
    announced = d.drop_duplicates("policy_id").set_index("policy_id")["announced"]
    other = d["responds_to"].astype("object").map(announced)
    good = d["responds_to"].isna() | ((d["responds_to"] != d["policy_id"]).fillna(True) & (other.isna() | (other <= d["announced"])))
    return _filled(good.astype("boolean"))


def _suspension_order(d: pd.DataFrame) -> pd.Series:
    return _filled(d["suspended_until"].isna() | d["suspended_from"].isna() | (d["suspended_until"] >= d["suspended_from"]))


def _suspension_sourced(d: pd.DataFrame) -> pd.Series:
    return pd.Series((d["suspended_from"].isna() == d["suspension_source_id"].isna()).to_numpy(dtype=bool), index=d.index)


def _suspension_has_start(d: pd.DataFrame) -> pd.Series:
    return pd.Series((d["suspended_until"].isna() | d["suspended_from"].notna()).to_numpy(dtype=bool), index=d.index)


def _suspended_after_announced(d: pd.DataFrame) -> pd.Series:
    return _filled(d["suspended_from"].isna() | d["announced"].isna() | (d["suspended_from"] >= d["announced"]))


#: (rule, message, column, check) of the policies table, in the order they are reported.
POLICY_RULES = [
    ("effective_after_announced", "effective date is before the announcement date", "effective", _effective_after_announced),
    ("end_complete", "ended, end_kind and end_source_id go together: all or none", "ended", _end_complete),
    ("ended_after_announced", "ended is before the announcement date", "ended", _ended_after_announced),
    ("responds_to_earlier", "responds_to must name another policy announced no later than this one", "responds_to",
     _responds_to_earlier),
    ("suspension_order", "suspended_until (the last day covered) is before suspended_from", "suspended_until",
     _suspension_order),
    ("suspension_sourced", "suspended_from and suspension_source_id go together: a suspension needs its source, "
     "a suspension source needs the suspension's first day", "suspended_from", _suspension_sourced),
    ("suspension_has_start", "suspended_until needs suspended_from (the first day of the suspension)", "suspended_until",
     _suspension_has_start),
    ("suspended_after_announced", "suspended_from is before the announcement date", "suspended_from",
     _suspended_after_announced),
]
