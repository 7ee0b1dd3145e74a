"""What a diff is: the classes of a comparison of two releases (``Change``, ``TableDiff``,
``PackageDiff``), the bump levels, and the version policy's arithmetic (``smallest_version``,
``check_bump``). ``diff`` fills them in and ``_diff_report`` prints them; both import this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .._errors import ArgumentError, ChokepointDataError

__all__ = ["LEVELS", "ReleaseCheckError", "Change", "TableDiff", "PackageDiff", "smallest_version", "check_bump"]

#: Bump levels, smallest first.
LEVELS = ("none", "patch", "minor", "major")
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


class ReleaseCheckError(ChokepointDataError):
    """A release's version does not fit the version policy (or cannot be read)."""


@dataclass
class Change:
    """One schema-level change, with the bump level the policy gives it."""

    level: str
    table: str
    what: str

    def as_dict(self) -> dict[str, str]:
        return {"level": self.level, "table": self.table, "what": self.what}


@dataclass
class TableDiff:
    name: str
    status: str  # "added", "removed", "changed", "unchanged"
    key_old: list[str] = field(default_factory=list)
    key_new: list[str] = field(default_factory=list)
    matched_by: list[str] | None = None
    rows_old: int = 0
    rows_new: int = 0
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # {"key":{..}, "changes":{col:[old,new]}}
    schema: list[Change] = field(default_factory=list)
    note: str | None = None

    @property
    def level(self) -> str:
        levels = [c.level for c in self.schema]
        if self.added or self.removed:
            levels.append("minor")
        if self.changed:
            levels.append("patch")
        if self.status == "changed" and self.matched_by is None and self.rows_old != self.rows_new:
            levels.append("minor")
        return max(levels, key=LEVELS.index, default="none")


@dataclass
class PackageDiff:
    old: str
    new: str
    old_version: str | None
    new_version: str | None
    tables: list[TableDiff]
    package: list[Change] = field(default_factory=list)

    @property
    def level(self) -> str:
        levels = [t.level for t in self.tables] + [c.level for c in self.package]
        return max(levels, key=LEVELS.index, default="none")

    @property
    def reasons(self) -> list[Change]:
        """The changes that set the level (the largest ones)."""
        out = [c for c in self.package if c.level == self.level]
        for t in self.tables:
            out += [c for c in t.schema if c.level == self.level]
            if self.level == "minor" and (t.added or t.removed):
                out.append(Change("minor", t.name, f"{len(t.added)} row(s) added, {len(t.removed)} removed"))
            if self.level == "patch" and t.changed:
                out.append(Change("patch", t.name, f"{len(t.changed)} row(s) changed"))
        return out

    def smallest_version(self) -> str | None:
        return None if self.old_version is None else smallest_version(self.old_version, self.level)


def _parse_version(v: str, what: str) -> tuple[int, int, int]:
    m = _VERSION.match(v or "")
    if not m:
        raise ReleaseCheckError(f"{what} {v!r} is not a version of the form X.Y.Z")
    return int(m[1]), int(m[2]), int(m[3])


def smallest_version(old: str, level: str) -> str:
    """The smallest version after ``old`` that the policy allows for changes of ``level``.

    ``none`` and ``patch`` give the next patch; while the major number is 0, ``major``
    gives the next minor (0.x: a breaking change bumps the minor).
    """
    if level not in LEVELS:
        raise ArgumentError(f"level must be one of {LEVELS}, not {level!r}")
    x, y, z = _parse_version(old, "the old version")
    if level == "major":
        return f"0.{y + 1}.0" if x == 0 else f"{x + 1}.0.0"
    if level == "minor":
        return f"{x}.{y + 1}.0"
    return f"{x}.{y}.{z + 1}"


def check_bump(old_version: str, new_version: str, level: str) -> str:
    """Refuse a release whose version is not above ``old_version`` by at least what ``level`` needs.

    Returns the smallest allowed version; raises :class:`ReleaseCheckError` otherwise.

    >>> check_bump("0.1.0", "0.2.0", "major")
    '0.2.0'
    """
    need = smallest_version(old_version, level)
    new = _parse_version(new_version, "the new version")
    if new <= _parse_version(old_version, "the old version"):
        raise ReleaseCheckError(f"version {new_version} is not above the previous release {old_version}")
    if new < _parse_version(need, "the smallest version"):
        raise ReleaseCheckError(
            f"version {new_version} is too small a bump from {old_version}: the data changes need "
            f"a {level} bump, so at least {need} (docs/RELEASING.md, version policy)"
        )
    return need
