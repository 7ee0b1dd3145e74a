"""``Failure`` (one broken rule in one place) and ``Failures`` (the failures of a validation,
stored column-wise, read as ``Failure`` objects).

Not imported by ``import chokepoint_data`` (the cheap face): ``ValidationError`` and
``validate()`` import it when they run. Standard library only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Failure", "Failures"]


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

    Immutable; equal (and hashing equal) when every attribute is equal.
    """

    __slots__ = ("table", "rule", "message", "column", "row", "key", "value")
    table: "str"
    rule: "str"
    message: "str"
    column: "str | None"
    row: "Any"
    key: "str | None"
    value: "str | None"

    def __init__(self, table: "str", rule: "str", message: "str", column: "str | None" = None,
                 row: "Any" = None, key: "str | None" = None, value: "str | None" = None) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "table", table)
        setattr_(self, "rule", rule)
        setattr_(self, "message", message)
        setattr_(self, "column", column)
        setattr_(self, "row", row)
        setattr_(self, "key", key)
        setattr_(self, "value", value)

    def _fields(self) -> "tuple[Any, ...]":
        return (self.table, self.rule, self.message, self.column, self.row, self.key, self.value)

    def __setattr__(self, name: "str", value: "Any") -> None:
        raise AttributeError(f"Failure is immutable; cannot set {name!r}")

    def __delattr__(self, name: "str") -> None:
        raise AttributeError(f"Failure is immutable; cannot delete {name!r}")

    def __eq__(self, other: "object") -> "bool":
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()  # type: ignore[attr-defined]

    def __hash__(self) -> "int":
        return hash(self._fields())

    def __repr__(self) -> "str":
        return ("Failure(" + ", ".join(f"{n}={v!r}" for n, v in zip(self.__slots__, self._fields())) + ")")

    def __reduce__(self) -> "tuple[Any, ...]":
        return (Failure, self._fields())

    def __str__(self) -> "str":
        where = [self.table]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.key:
            where.append(f"[{self.key}]")
        if self.column:
            where.append(f"column {self.column!r}")
        value = f" (value {self.value!r})" if self.value is not None else ""
        return f"{', '.join(where)}: {self.rule}: {self.message}{value}"



def _scalar(value: "Any") -> "Any":
    """A cell of a list, or of an Arrow array (its ``as_py()``): keys and text values stay
    Arrow arrays until read."""
    as_py = getattr(value, "as_py", None)
    return as_py() if as_py is not None else value


class _Block:
    """Failures of one rule in one column of one table, held column-wise: rows (a list), keys
    and values (lists or Arrow arrays; ``convert`` turns a raw cell into its text when a
    Failure is made), one message or one per row."""

    __slots__ = ("table", "rule", "message", "column", "rows", "keys", "values", "convert")

    def __init__(self, table: "str", rule: "str", message: "Any", column: "str | None", rows: "list[Any]",
                 keys: "list[Any]", values: "list[Any]", convert: "Any" = None) -> None:
        self.table, self.rule, self.message, self.column = table, rule, message, column
        self.rows, self.keys, self.values, self.convert = rows, keys, values, convert

    def __len__(self) -> "int":
        return len(self.rows)

    def take(self, positions: "list[int]") -> "_Block":
        """The block of these positions only."""
        message = self.message if isinstance(self.message, str) else [self.message[i] for i in positions]
        return _Block(self.table, self.rule, message, self.column, [self.rows[i] for i in positions],
                      [_scalar(self.keys[i]) for i in positions], [_scalar(self.values[i]) for i in positions],
                      self.convert)

    def with_messages(self, messages: "list[str]") -> "_Block":
        """The same failures, with one message per row."""
        return _Block(self.table, self.rule, messages, self.column, self.rows, self.keys, self.values, self.convert)

    def messages(self) -> "list[str]":
        """One message per failure."""
        return [self.message] * len(self) if isinstance(self.message, str) else list(self.message)

    def texts(self) -> "list[Any]":
        """The values as a Failure holds them (converted, Python objects)."""
        values = [_scalar(v) for v in self.values] if not isinstance(self.values, list) else self.values
        return values if self.convert is None else [self.convert(v) for v in values]

    def item(self, i: "int") -> "Failure":
        value, key = _scalar(self.values[i]), _scalar(self.keys[i])
        if self.convert is not None:
            value = self.convert(value)
        message = self.message if isinstance(self.message, str) else self.message[i]
        return Failure(self.table, self.rule, message, self.column, self.rows[i], key, value)


class Failures:
    """Every failure of a validation: a sequence of ``Failure``, read-only.

    Failures are stored column-wise, in blocks (one rule, one column, many rows), and a
    ``Failure`` object is made only when one is read, so a report of a million bad cells
    costs a few lists, not a million objects. It indexes, slices, iterates and compares
    like a tuple of ``Failure``.
    """

    __slots__ = ("_parts", "_ends")

    def __init__(self, failures: "Any" = ()) -> None:
        self._parts: "list[Any]" = []  # Failure or _Block
        self._ends: "list[int]" = []  # cumulative lengths
        self.extend(failures)

    def _push(self, part: "Any", size: "int") -> None:
        if size:
            self._parts.append(part)
            self._ends.append((self._ends[-1] if self._ends else 0) + size)

    def append(self, failure: "Failure") -> None:
        self._push(failure, 1)

    def extend(self, failures: "Any") -> None:
        if isinstance(failures, Failures):
            for part in failures._parts:
                self.add_part(part)
            return
        for f in failures:
            self._push(f, 1)

    def add(self, table: "str", rule: "str", message: "Any", column: "str | None", rows: "list[Any]",
            keys: "list[Any]", values: "list[Any]", convert: "Any" = None) -> None:
        """Add one block: ``len(rows)`` failures of one rule and column."""
        self._push(_Block(table, rule, message, column, rows, keys, values, convert), len(rows))

    def parts(self) -> "list[Any]":
        """The parts as stored: ``Failure`` objects and blocks (``table``, ``rule``,
        ``column``, ``message``, ``rows``, ``keys``, ``values``; ``item(i)`` and ``take``),
        for readers that work column-wise."""
        return list(self._parts)

    def add_part(self, part: "Any") -> None:
        """Add a part as ``parts()`` gives it."""
        self._push(part, len(part) if isinstance(part, _Block) else 1)

    def counts(self) -> "dict[tuple[str, str], int]":
        """Failures per (table, rule), without making them."""
        out: "dict[tuple[str, str], int]" = {}
        for part in self._parts:
            k = (part.table, part.rule)
            out[k] = out.get(k, 0) + (len(part) if isinstance(part, _Block) else 1)
        return out

    def __len__(self) -> "int":
        return self._ends[-1] if self._ends else 0

    def __bool__(self) -> "bool":
        return bool(self._ends)

    def _at(self, i: "int") -> "Failure":
        lo, hi = 0, len(self._ends)
        while lo < hi:  # the first part whose end is past i
            mid = (lo + hi) // 2
            if self._ends[mid] <= i:
                lo = mid + 1
            else:
                hi = mid
        part = self._parts[lo]
        if isinstance(part, _Block):
            return part.item(i - (self._ends[lo - 1] if lo else 0))
        return part  # type: ignore[no-any-return]

    def __getitem__(self, index: "Any") -> "Any":
        n = len(self)
        if isinstance(index, slice):
            return tuple(self._at(i) for i in range(*index.indices(n)))
        if not hasattr(index, "__index__"):
            raise TypeError(f"Failures indices must be integers or slices, not {type(index).__name__}")
        i = index.__index__()
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("Failures index out of range")
        return self._at(i)

    def __iter__(self) -> "Any":
        for part in self._parts:
            if isinstance(part, _Block):
                for i in range(len(part)):
                    yield part.item(i)
            else:
                yield part

    def __eq__(self, other: "object") -> "bool":
        if isinstance(other, (Failures, tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self) -> "int":  # as the tuple it stands for
        return hash(tuple(self))

    def __add__(self, other: "Any") -> "tuple[Failure, ...]":
        if isinstance(other, (Failures, tuple)):
            return tuple(self) + tuple(other)
        return NotImplemented

    def __radd__(self, other: "Any") -> "tuple[Failure, ...]":
        if isinstance(other, tuple):
            return other + tuple(self)
        return NotImplemented

    def index(self, value: "Any") -> "int":
        for i, f in enumerate(self):
            if f == value:
                return i
        raise ValueError("Failures.index(x): x not in Failures")

    def count(self, value: "Any") -> "int":
        return sum(1 for f in self if f == value)

    def __repr__(self) -> "str":
        return f"Failures({len(self)} failures)"
