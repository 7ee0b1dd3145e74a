"""The CSV export: a folder of ``<table>.csv`` files and a ``_manifest.json``."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from .._errors import ExportError
from ..store._atomic import step as _step, write_folder
from ..store._targets import check_folder
from ._common import PACKAGE_NAME, Package, _is_na, _kinds, _now, _run, looks_like_formula

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

MANIFEST = "_manifest.json"
_BREAKS = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def _ours(target: Path, names: list[str], force: bool) -> set[str]:
    """The entries of an existing folder ``target`` that this export may replace.

    What its ``_manifest.json`` (written by chokepoint-data) lists as written, and the
    manifest itself; with ``force``, also the names this export writes (a folder whose
    manifest was lost). Anything else in the folder is the user's: the writer refuses to
    replace the folder while it is there, even with ``force``.
    """
    ours: set[str] = set(names) | {MANIFEST} if force else set()
    try:
        manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return ours
    if not isinstance(manifest, dict) or manifest.get("package") != PACKAGE_NAME or not isinstance(manifest.get("files"), dict):
        return ours
    listed = {n for n in manifest["files"] if isinstance(n, str) and n and "/" not in n and "\\" not in n and n not in (".", "..")}
    return ours | listed | {MANIFEST}


def _check_folder_target(target: Path, names: list[str], force: bool) -> set[str]:
    """Refuse a bad csv target; return the names in an existing folder it may replace."""
    if not check_folder(target, kind="csv"):
        return set()
    return _ours(target, names, force)


def _csv_bytes(name: str, df: "pd.DataFrame") -> bytes:
    """``df`` as CSV (``\\n`` line ends). A text cell holding any line-break character
    (``\\r``, ``\\v``, ``\\f``, ``\\x1c``-``\\x1e``, ``\\x85``, ``\\u2028``, ``\\u2029``) is quoted,
    as ``\\n`` always is, so that every reader counts the rows the manifest counts."""
    import csv

    text = df.to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n")
    if _BREAKS.search(text.replace("\n", "")):
        # the csv module quotes only the characters of the line terminator: quote every text cell
        text = df.to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start:exc.end].encode("unicode_escape").decode("ascii")
        raise ExportError(f"csv export: table {name!r} holds text that is not valid Unicode ({bad}, a lone surrogate) "
                          f"and cannot be written as UTF-8; fix that text; nothing was replaced") from None


def to_csv(package: Package, out: Path, *, force: bool = False, safe_formulas: bool = False) -> list[Path]:
    """A folder of ``<table>.csv`` files plus ``_manifest.json`` (sha256 and rows of each file).

    With ``safe_formulas=True`` a text cell that a spreadsheet would read as a formula gets
    a leading apostrophe (``'=1+1``), the usual guard; numbers are never changed.
    """
    ours = _check_folder_target(out, [f"{name}.csv" for name in package.tables], force)
    frames = {name: _safe_frame(df, package.schemas[name]) if safe_formulas else df for name, df in package.tables.items()}
    _step("checked")

    def write(folder: Path) -> None:
        files = {}
        for name, df in frames.items():
            data = _csv_bytes(name, df)
            (folder / f"{name}.csv").write_bytes(data)
            files[f"{name}.csv"] = {"table": name, "rows": len(df), "sha256": hashlib.sha256(data).hexdigest(),
                                    "licence": package.licences.get(name, "")}
            _step(f"write:{name}")
        manifest = {"package": PACKAGE_NAME, "version": package.version, "exported_at": _now(),
                    "safe_formulas": safe_formulas, "files": files}
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    _run("csv", out, lambda: write_folder(out, write, ours=ours))
    return [out / f"{name}.csv" for name in frames] + [out / MANIFEST]


def _safe_frame(df: "pd.DataFrame", schema: Mapping[str, Any]) -> "pd.DataFrame":
    kinds = _kinds(schema)
    out = df.copy()
    for col in df.columns:
        if kinds.get(str(col), "string") != "string":
            continue
        values = [None if _is_na(v) else str(v) for v in df[col].tolist()]
        if any(v is not None and looks_like_formula(v) for v in values):
            out[col] = [v if v is None or not looks_like_formula(v) else "'" + v for v in values]
    return out
