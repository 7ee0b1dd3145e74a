"""The CSV export: a folder of ``<table>.csv`` files and a ``_manifest.json``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from .._errors import ExportError
from ..store._atomic import step as _step, write_folder
from ._common import PACKAGE_NAME, Package, _check_parent, _is_na, _kinds, _now, _run, looks_like_formula

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

MANIFEST = "_manifest.json"


def _check_folder_target(target: Path, force: bool) -> None:
    if target.exists() and not target.is_dir():
        raise ExportError(f"cannot export csv to {target}: it is a file; csv export writes a folder")
    _check_parent(target)
    if target.is_dir() and not force and not _owned_csv(target):
        raise ExportError(f"{target} is a folder that chokepoint-data did not write (it has files and no {MANIFEST}); "
                          f"not replaced (use --force / force=True to replace it, or choose another folder)")


def _owned_csv(folder: Path) -> bool:
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    if not entries:
        return True
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("package") == PACKAGE_NAME


def to_csv(package: Package, out: Path, *, force: bool = False, safe_formulas: bool = False) -> list[Path]:
    """A folder of ``<table>.csv`` files plus ``_manifest.json`` (sha256 and rows of each file).

    With ``safe_formulas=True`` a text cell that a spreadsheet would read as a formula gets
    a leading apostrophe (``'=1+1``), the usual guard; numbers are never changed.
    """
    _check_folder_target(out, force)
    frames = {name: _safe_frame(df, package.schemas[name]) if safe_formulas else df for name, df in package.tables.items()}
    _step("checked")

    def write(folder: Path) -> None:
        files = {}
        for name, df in frames.items():
            data = df.to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n").encode("utf-8")
            (folder / f"{name}.csv").write_bytes(data)
            files[f"{name}.csv"] = {"table": name, "rows": len(df), "sha256": hashlib.sha256(data).hexdigest(),
                                    "licence": package.licences.get(name, "")}
            _step(f"write:{name}")
        manifest = {"package": PACKAGE_NAME, "version": package.version, "exported_at": _now(),
                    "safe_formulas": safe_formulas, "files": files}
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    _run("csv", out, lambda: write_folder(out, write))
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
