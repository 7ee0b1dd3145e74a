"""What every export format shares: the ``Package`` it writes, the checks of a target, the
plain value of a cell, and the wrapping of a failed write into an ``ExportError``.

The writing itself (temporary folder, rename, cleanup after a kill) is the one atomic writer
of the store (``store/_atomic.py``); each format module holds only its format.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .._errors import ExportError
from .._version import __version__
from ..store._targets import check_file

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

PACKAGE_NAME = "chokepoint-data"
EXTRA_HINT = "install the export extra: pip install 'chokepoint-data[export]'"
_FORMULA_RE = re.compile(r"^[\s]*[=+\-@]|^[\t\r\n]")


@dataclass(frozen=True)
class Package:
    """What an export writes.

    Attributes
    ----------
    tables : ``{name: pandas.DataFrame}`` in the order to write them (as ``load()`` gives them).
    schemas : ``{name: Table Schema dict}`` for every table.
    licences : ``{name: licence text}`` per table (e.g. ``"CC-BY-4.0"``).
    version : the data version written into ``_meta``, the manifest and the README sheet.
    """

    tables: Mapping[str, "pd.DataFrame"]
    schemas: Mapping[str, Mapping[str, Any]]
    licences: Mapping[str, str] = field(default_factory=dict)
    version: str = __version__

    def __post_init__(self) -> None:
        missing = [n for n in self.tables if n not in self.schemas]
        if missing:
            raise ExportError(f"no Table Schema for table(s) {', '.join(missing)}; pass one per table")

    def schema_of(self, name: str) -> dict[str, Any]:
        """The Table Schema of ``name`` fitted to its frame: the frame's columns in its order,
        with columns the schema does not declare (e.g. labels added by a loader) as text."""
        schema = dict(self.schemas[name])
        declared = {f["name"]: f for f in schema.get("fields", [])}
        schema["fields"] = [declared.get(str(c), {"name": str(c), "type": "string"}) for c in self.tables[name].columns]
        return schema


def shipped(loader: Callable[[str], "pd.DataFrame"] | None = None) -> Package:
    """The shipped tables as a :class:`Package`.

    ``loader`` (default ``chokepoint_data.load``) is called with each table name; pass for
    example ``functools.partial(cd.load, labels=True)`` to export another view of the rows, or
    ``functools.partial(cd.load, commercial_only=True)`` for the commercial subset. Each
    table's licences are read from the rows loaded: the ones those rows carry, no others.
    """
    from ..store import _loader
    from ..store._licences import row_licences

    load = _loader.load if loader is None else loader
    descriptor = _loader.datapackage()
    tables, schemas, licences = {}, {}, {}
    for res in descriptor["resources"]:
        name = res["name"]
        tables[name] = load(name)
        schemas[name] = res["schema"]
    if "sources" in tables:
        licences = {name: ", ".join(found) for name, found in row_licences(tables, schemas).items()}
    else:  # pragma: no cover - a descriptor without sources: what it says
        licences = {res["name"]: ", ".join(str(lic.get("name", "")) for lic in res.get("licenses") or descriptor.get("licenses") or [])
                    for res in descriptor["resources"]}
    return Package(tables=tables, schemas=schemas, licences=licences, version=str(descriptor.get("version", __version__)))


def _require(fmt: str) -> None:
    module = {"xlsx": "openpyxl", "duckdb": "duckdb"}.get(fmt)
    if module is None:
        return
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise ExportError(f"{fmt} export needs {module}, which is not installed; {EXTRA_HINT}") from None


def _check_file_target(target: Path, force: bool, owned: Callable[[Path], bool], kind: str) -> None:
    """Refuse a file target this format must not replace (see ``store._targets.check_file``)."""
    check_file(target, force=force, owned=owned, kind=kind)


def _run(kind: str, target: Path, action: Callable[[], None]) -> None:
    """Run a write; an OSError outside the writer (which names its own) becomes an ExportError."""
    try:
        action()
    except ExportError:
        raise
    except OSError as exc:
        raise ExportError(f"{kind} export to {target} failed ({exc.strerror or exc}); the target is unchanged") from None


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet would read ``text`` as a formula (``=``, ``+``, ``-``, ``@``
    at the start, also after white space, or a leading tab, carriage return or newline)."""
    return bool(_FORMULA_RE.match(text))


def _kinds(schema: Mapping[str, Any]) -> dict[str, str]:
    return {f["name"]: str(f.get("type", "string")) for f in schema.get("fields", [])}


def _is_na(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cell(kind: str, value: Any) -> Any:
    """A plain Python value (None, str, int, float, bool, datetime.date) for one cell."""
    if value is None or _is_na(value):
        return None
    if kind == "date":
        return value.date() if hasattr(value, "date") and callable(value.date) else value
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return bool(value)
    return str(value)


def _records(name: str, frame: "pd.DataFrame", schema: Mapping[str, Any]) -> list[list[Any]]:
    kinds = _kinds(schema)
    cols = [(c, kinds.get(str(c), "string")) for c in frame.columns]
    columns = [[_cell(kind, v) for v in frame[c].tolist()] for c, kind in cols]
    return [list(row) for row in zip(*columns)] if columns else []


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
