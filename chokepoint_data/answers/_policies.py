"""Which policies bind on a date: ``policy_state()`` gives every policy's state on that date and why,
``in_force()`` keeps those that bind.

A policy's state on a date, in this order (docs/METHOD.md, "Policies and targets"):

1. ``not_yet_effective``: before its effective date (``effective``, else ``announced``);
2. ``ended``: on or after ``ended`` (it stopped applying for good: rescinded, expired, ...);
3. ``suspended``: within ``suspended_from`` .. ``suspended_until``, both days included; a
   suspension without ``suspended_until`` is open-ended. The policy binds again the day after;
4. ``in_force``: otherwise.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import TYPE_CHECKING, Any

from .._errors import ArgumentError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["POLICY_STATES", "in_force", "policy_state", "states_on"]

#: The states ``policy_state()`` reports, in the order the rule tests them (the last is the default).
POLICY_STATES = ("not_yet_effective", "ended", "suspended", "in_force")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def as_date(as_of: Any, *, argument: str = "as_of") -> "pd.Timestamp":
    """``as_of`` as a day: None is the data's own date (``data_date()``); a 'YYYY-MM-DD' text, a
    ``datetime.date`` or a Timestamp is that day. Anything else is an ``ArgumentError``."""
    import pandas as pd

    from .analysis import data_date

    if as_of is None:
        return data_date()
    if isinstance(as_of, str):
        text = as_of.strip()
        if _DATE.match(text):
            try:
                return pd.Timestamp(_dt.date.fromisoformat(text))
            except ValueError:
                pass
        raise ArgumentError(f"{argument} must be a date as YYYY-MM-DD (for example 2026-12-01), not {as_of!r}")
    if isinstance(as_of, (_dt.date, pd.Timestamp)) and not (isinstance(as_of, pd.Timestamp) and pd.isna(as_of)):
        stamp = pd.Timestamp(as_of)
        return (stamp.tz_localize(None) if stamp.tzinfo is not None else stamp).normalize()
    raise ArgumentError(f"{argument} must be a date (YYYY-MM-DD text, datetime.date or pandas.Timestamp), "
                        f"not {type(as_of).__name__} {as_of!r}")


def states_on(policies: "pd.DataFrame", when: "pd.Timestamp") -> "pd.Series":
    """The state of each row of a policies frame on day ``when`` (see the module docstring)."""
    import numpy as np
    import pandas as pd

    def day(col: str) -> "pd.Series":
        if col not in policies.columns:
            return pd.Series(pd.NaT, index=policies.index, dtype="datetime64[ns]")
        return pd.to_datetime(policies[col]).astype("datetime64[ns]")

    start = day("effective").fillna(day("announced"))
    ended, s_from, s_until = day("ended"), day("suspended_from"), day("suspended_until")
    conditions = [
        (start > when).fillna(False).to_numpy(dtype=bool),
        (ended <= when).fillna(False).to_numpy(dtype=bool),
        ((s_from <= when) & (s_until.isna() | (s_until >= when))).fillna(False).to_numpy(dtype=bool),
    ]
    state = np.select(conditions, list(POLICY_STATES[:3]), default=POLICY_STATES[3])
    return pd.Series(pd.Categorical(state, categories=list(POLICY_STATES)), index=policies.index, name="state")


def _filtered(frame: "pd.DataFrame", jurisdiction: str | None, kind: str | None) -> "pd.DataFrame":
    from ..rules._explain import nearest_ids
    from ..rules._keys import _iso3_codes
    from ..store._loader import table_schema

    if jurisdiction is not None:
        if not isinstance(jurisdiction, str) or jurisdiction not in _iso3_codes():
            present = sorted(set(frame["jurisdiction"].astype(str)))
            close = nearest_ids(str(jurisdiction).upper(), present)
            raise ArgumentError(f"jurisdiction must be an ISO 3166-1 alpha-3 code such as {', '.join(close or present[:3])}, "
                                f"not {jurisdiction!r}")
        frame = frame[(frame["jurisdiction"] == jurisdiction).fillna(False).to_numpy(dtype=bool)]
    if kind is not None:
        kinds = next(f for f in table_schema("policies")["fields"] if f["name"] == "kind")["constraints"]["enum"]
        if kind not in kinds:
            raise ArgumentError(f"kind must be one of {', '.join(kinds)}, not {kind!r}")
        frame = frame[(frame["kind"] == kind).fillna(False).to_numpy(dtype=bool)]
    return frame


def policy_state(as_of: Any = None, *, jurisdiction: str | None = None, kind: str | None = None,
                 labels: bool = False) -> "pd.DataFrame":
    """Every policy with its state on a date: ``in_force``, ``suspended``, ``ended`` or
    ``not_yet_effective``.

    Parameters
    ----------
    as_of : str, datetime.date or pandas.Timestamp, optional
        The day ('YYYY-MM-DD'). Default: the data's own date, the latest ``sources.accessed`` of
        the release (not today's date, which the data may not have caught up with: a
        suspension that ran out after it may have been extended by a source not yet curated).
    jurisdiction : str, optional
        Keep one issuer (ISO 3166-1 alpha-3, e.g. 'USA', 'CHN').
    kind : str, optional
        Keep one kind of policy (e.g. 'export_control').
    labels : bool, default False
        Load the policies with names next to ids, as ``load(..., labels=True)``.

    Returns
    -------
    pandas.DataFrame
        The policies table with ``state`` (categorical, in the order of ``POLICY_STATES``) and
        ``as_of`` (the day) added. Effective date: ``effective``, else ``announced``; a
        suspension covers ``suspended_from`` .. ``suspended_until`` inclusive, open-ended when
        ``suspended_until`` is empty; a policy is ``ended`` from its ``ended`` date on.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> s = cd.policy_state("2026-01-15").set_index("policy_id")
    >>> s.loc["cn-rare-earths-2025-10", "state"], s.loc["us-bis-2025-eda-letters", "state"]
    ('suspended', 'ended')
    """
    from ..store._loader import load

    when = as_date(as_of)
    frame = _filtered(load("policies", labels=labels), jurisdiction, kind).copy()
    frame["state"] = states_on(frame, when)
    frame["as_of"] = when
    return frame.reset_index(drop=True)


def in_force(as_of: Any = None, *, jurisdiction: str | None = None, kind: str | None = None,
             labels: bool = False) -> "pd.DataFrame":
    """The policies that bind on a date: ``policy_state()`` rows whose state is ``in_force``.

    A suspended policy does not bind while suspended; ``ended`` is not looked at for
    suspensions (a suspension is not an end). See ``policy_state()`` for the arguments; the
    default date is the data's own date.

    Examples
    --------
    >>> import chokepoint_data as cd
    >>> binding = cd.in_force("2026-01-15", jurisdiction="CHN", kind="countermeasure")
    >>> "cn-rare-earths-2025-10" in set(binding.policy_id)  # suspended until 2026-11-10
    False
    >>> "cn-rare-earths-2025-10" in set(cd.in_force("2026-11-11").policy_id)
    True
    """
    frame = policy_state(as_of, jurisdiction=jurisdiction, kind=kind, labels=labels)
    return frame[frame["state"] == "in_force"].reset_index(drop=True)


def with_state(policies: "pd.DataFrame", as_of: Any, *, in_force_only: bool = False,
               argument: str = "as_of") -> "pd.DataFrame":
    """``policies`` with each row's ``state`` on ``as_of`` as its second column (``show policies
    --as-of``), only the binding rows when ``in_force_only`` (``--in-force``)."""
    when = as_date(as_of, argument=argument)
    out = policies.copy()
    out.insert(1, "state", states_on(out, when))
    return out[out["state"] == "in_force"] if in_force_only else out
