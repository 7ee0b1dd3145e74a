"""The package's own exceptions. No imports at run time: this module is part of the cheap face.

``ValidationError`` carries a ``Failures`` report of ``Failure`` objects; both live in
``rules/_failures.py`` (standard library only, importing nothing of the package), which is
imported here only when a ``ValidationError`` is made.

(No ``dataclasses`` or ``typing`` here: importing them costs more than the rest of
``import chokepoint_data``; ``tests/test_import.py`` keeps it that way.)
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

    from .rules._failures import Failure, Failures

__all__ = [
    "ChokepointDataError",
    "UnknownTableError",
    "UnknownIdError",
    "MissingExtraError",
    "IntegrityError",
    "DescriptorError",
    "ValidationError",
    "BuildError",
    "ExportError",
    "ArgumentError",
]


def repair_advice(package_dir: "Path | None" = None) -> "str":
    """What to do about damaged package data: rebuild in a source checkout, else reinstall.

    A checkout is recognised by ``curation/`` and ``schemas/`` beside the package folder.
    """
    from pathlib import Path  # here, not at the top: pathlib would pull re and more into the import

    pkg = Path(__file__).resolve().parent if package_dir is None else Path(package_dir)
    root = pkg.parent
    if (root / "curation").is_dir() and (root / "schemas").is_dir():
        return f"this is a source checkout: rebuild the data with `chokepoint-data build` (run in {root})"
    return "reinstall it (pip install --force-reinstall chokepoint-data)"


class ChokepointDataError(Exception):
    """Base class of every error this package raises on purpose."""


class UnknownTableError(ChokepointDataError, KeyError):
    """A table name that the data package does not have."""

    def __init__(self, name: "str", known: "Sequence[str]", close: "Sequence[str]") -> None:
        self.name = name
        self.known = tuple(known)
        self.close = tuple(close)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(
            f"unknown table {name!r}.{hint} Known tables: {', '.join(self.known)}."
        )

    def __str__(self) -> "str":  # KeyError would repr() the message
        return str(self.args[0])


class UnknownIdError(ChokepointDataError, KeyError):
    """An id the data does not have (a choke point, a policy, ...); names the nearest ones."""

    def __init__(self, column: "str", value: "str", close: "Sequence[str]") -> None:
        self.column = column
        self.value = value
        self.close = tuple(close)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"unknown {column} {value!r}.{hint}")

    def __str__(self) -> "str":  # KeyError would repr() the message
        return str(self.args[0])


class MissingExtraError(ChokepointDataError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""

    def __init__(self, feature: "str", module: "str", extra: "str") -> None:
        self.feature, self.module, self.extra = feature, module, extra
        super().__init__(f"{feature} needs {module}, which is not installed: pip install 'chokepoint-data[{extra}]'")


class DescriptorError(ChokepointDataError):
    """The packaged datapackage.json is missing, unreadable, or unsafe."""


class IntegrityError(ChokepointDataError):
    """A shipped data file is missing, or its bytes differ from the descriptor's sha256."""

    def __init__(self, path: "str", expected: "str", found: "str | None", detail: "str" = "",
                 advice: "str | None" = None) -> None:
        self.path = path
        self.expected = expected
        self.found = found
        found_text = found if found is not None else "no file"
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"data file {path} failed its integrity check{extra}: expected sha256 {expected}, "
            f"found {found_text}. The package data is damaged or was modified; {advice or repair_advice()}."
        )


class ValidationError(ChokepointDataError, ValueError):
    """One or more tables broke one or more rules. ``failures`` lists every one (a
    ``Failures``: a read-only sequence of ``Failure``).

    The message shows the first ``MAX_SHOWN`` failures and counts the rest by table and
    rule, so a frame with a million bad cells gives a short message; ``failures`` holds
    them all.
    """

    MAX_SHOWN = 50

    def __init__(self, failures: "Sequence[Failure] | Failures", *, context: "str" = "validation") -> None:
        from .rules._failures import Failures  # here: the report's machinery is not part of the cheap face

        self.failures: "Failures" = failures if isinstance(failures, Failures) else Failures(failures)
        self.context = context
        n = len(self.failures)
        shown = self.failures[: self.MAX_SHOWN]
        lines = [f"{context} failed with {n} problem(s):"]
        lines += [f"  - {f}" for f in shown]
        if n > len(shown):
            counts = self.failures.counts()
            for f in shown:
                counts[(f.table, f.rule)] -= 1
            counts = {k: v for k, v in counts.items() if v}
            lines.append(f"  ... and {n - len(shown)} more, not shown (every one is in .failures):")
            lines += [f"    {table}: {rule}: {count}" for (table, rule), count in sorted(counts.items())]
        super().__init__("\n".join(lines))

    def __reduce__(self) -> "tuple[Any, ...]":  # pickles with its failures, not its message
        return (_rebuild_validation_error, (self.__class__, tuple(self.failures), self.context))

    def rules(self) -> "set[str]":
        """The set of rules that failed."""
        return {rule for _, rule in self.failures.counts()}


def _rebuild_validation_error(cls: "type[ValidationError]", failures: "tuple[Failure, ...]", context: "str") -> "ValidationError":
    error = cls.__new__(cls)
    ValidationError.__init__(error, failures, context=context)
    return error


class BuildError(ValidationError):
    """The build refused its input; nothing was written."""

    def __init__(self, failures: "Sequence[Failure]") -> None:
        super().__init__(failures, context="build")


class ExportError(ChokepointDataError):
    """An export refused its target or its data; what was at the target is unchanged."""


class ArgumentError(ChokepointDataError, TypeError, ValueError):
    """An argument of the wrong kind or value; the message names the function, the argument
    and what is accepted. A ``TypeError`` and a ``ValueError`` too, so code written for the
    builtin errors that 0.2 raised still catches it."""


def check_flag(func: "str", name: "str", value: "object") -> "None":
    """Refuse anything but True or False (a truthy ``'x'`` is not a yes)."""
    if not isinstance(value, bool):
        raise ArgumentError(f"{func}(): {name} must be True or False, not {value!r}")


def check_choice(func: "str", name: "str", value: "object", allowed: "Sequence[object]") -> "None":
    """Refuse a value not among ``allowed`` (compared by type too: ``True`` is not ``1``)."""
    if not any(type(value) is type(a) and value == a for a in allowed):
        raise ArgumentError(f"{func}(): {name} must be one of {', '.join(map(repr, allowed))}, not {value!r}")


def __getattr__(name: "str") -> "type":
    """``_errors.Failure``: where ``Failure`` lived until 0.2 (pickles made by 0.2 name it)."""
    if name == "Failure":
        from .rules._failures import Failure

        return Failure
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def whole_number(text: str, *, minimum: int = 0, low: str = "is negative",
                 why: str = "give a number of rows, 0 or more") -> int:
    """An argparse ``type`` for a whole number at least ``minimum`` (``--rows``, ``--max-rows``,
    ``--width``); a bad value is argparse's own usage error, so the CLI prints it without a traceback."""
    import argparse

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < minimum:
        raise argparse.ArgumentTypeError(f"{n} {low}; {why}")
    return n
