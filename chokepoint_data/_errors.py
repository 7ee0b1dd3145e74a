"""The package's own exceptions. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

__all__ = [
    "ChokepointDataError",
    "UnknownTableError",
    "UnknownIdError",
    "MissingExtraError",
    "IntegrityError",
    "DescriptorError",
    "Failure",
    "ValidationError",
    "BuildError",
    "ExportError",
    "ArgumentError",
]


def repair_advice(package_dir: Path | None = None) -> str:
    """What to do about damaged package data: rebuild in a source checkout, else reinstall.

    A checkout is recognised by ``curation/`` and ``schemas/`` beside the package folder.
    """
    pkg = Path(__file__).resolve().parent if package_dir is None else package_dir
    root = pkg.parent
    if (root / "curation").is_dir() and (root / "schemas").is_dir():
        return f"this is a source checkout: rebuild the data with `chokepoint-data build` (run in {root})"
    return "reinstall it (pip install --force-reinstall chokepoint-data)"


class ChokepointDataError(Exception):
    """Base class of every error this package raises on purpose."""


class UnknownTableError(ChokepointDataError, KeyError):
    """A table name that the data package does not have."""

    def __init__(self, name: str, known: Sequence[str], close: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        self.close = tuple(close)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(
            f"unknown table {name!r}.{hint} Known tables: {', '.join(self.known)}."
        )

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class UnknownIdError(ChokepointDataError, KeyError):
    """An id the data does not have (a choke point, a policy, ...); names the nearest ones."""

    def __init__(self, column: str, value: str, close: Sequence[str]) -> None:
        self.column = column
        self.value = value
        self.close = tuple(close)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"unknown {column} {value!r}.{hint}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class MissingExtraError(ChokepointDataError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""

    def __init__(self, feature: str, module: str, extra: str) -> None:
        self.feature, self.module, self.extra = feature, module, extra
        super().__init__(f"{feature} needs {module}, which is not installed: pip install 'chokepoint-data[{extra}]'")


class DescriptorError(ChokepointDataError):
    """The packaged datapackage.json is missing, unreadable, or unsafe."""


class IntegrityError(ChokepointDataError):
    """A shipped data file is missing, or its bytes differ from the descriptor's sha256."""

    def __init__(self, path: str, expected: str, found: str | None, detail: str = "", advice: str | None = None) -> None:
        self.path = path
        self.expected = expected
        self.found = found
        found_text = found if found is not None else "no file"
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"data file {path} failed its integrity check{extra}: expected sha256 {expected}, "
            f"found {found_text}. The package data is damaged or was modified; {advice or repair_advice()}."
        )


@dataclass(frozen=True)
class Failure:
    """One broken rule in one place.

    Attributes
    ----------
    table : name of the table.
    rule : the rule that failed (e.g. ``type:number``, ``unique:primary_key``,
        ``foreign_key:source_id->sources``, ``market_share_sum``).
    column : the column concerned, or ``None`` for a whole-row or whole-table rule.
    row : the row label: the CSV line number for curated files, the index label for frames.
    key : the row's primary key as ``col=value`` pairs, where it can be read.
    value : the offending value, as text.
    message : what is wrong, in words.
    """

    table: str
    rule: str
    message: str
    column: str | None = None
    row: Any = None
    key: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = [self.table]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.key:
            where.append(f"[{self.key}]")
        if self.column:
            where.append(f"column {self.column!r}")
        value = f" (value {self.value!r})" if self.value is not None else ""
        return f"{', '.join(where)}: {self.rule}: {self.message}{value}"


class ValidationError(ChokepointDataError, ValueError):
    """One or more tables broke one or more rules. ``failures`` lists every one."""

    def __init__(self, failures: Sequence[Failure], *, context: str = "validation") -> None:
        self.failures = tuple(failures)
        lines = [f"{context} failed with {len(self.failures)} problem(s):"]
        lines += [f"  - {f}" for f in self.failures]
        super().__init__("\n".join(lines))

    def rules(self) -> set[str]:
        """The set of rules that failed."""
        return {f.rule for f in self.failures}


class BuildError(ValidationError):
    """The build refused its input; nothing was written."""

    def __init__(self, failures: Sequence[Failure]) -> None:
        super().__init__(failures, context="build")


class ExportError(ChokepointDataError):
    """An export refused its target or its data; what was at the target is unchanged."""


class ArgumentError(ChokepointDataError, TypeError):
    """An argument of the wrong kind; the message names the argument and what is accepted."""
