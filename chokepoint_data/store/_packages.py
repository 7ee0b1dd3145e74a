"""Open one side of a data diff: a datapackage.json, a folder, a wheel or a git ref, bytes verified.

Standard library only at import; pyarrow is imported when rows are read. Used by ``diff``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .._errors import DescriptorError, IntegrityError

__all__ = ["Package", "open_package"]


@dataclass
class Package:
    """One side of a diff: its descriptor and a way to read each resource's verified bytes."""

    label: str
    descriptor: dict[str, Any]
    _read: Callable[[str], bytes] = field(repr=False)

    @property
    def version(self) -> str | None:
        v = self.descriptor.get("version")
        return v if isinstance(v, str) else None

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in self.descriptor["resources"]}

    def read_rows(self, name: str) -> list[dict[str, Any]]:
        """The rows of resource ``name`` as dicts, after checking the bytes' sha256."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        res = self.resources[name]
        data = self._read(res["path"])
        expected = str(res.get("hash", ""))
        if not expected.startswith("sha256:"):
            raise DescriptorError(f"{self.label}: resource {name!r} has no sha256 hash in its descriptor")
        found = hashlib.sha256(data).hexdigest()
        if found != expected[len("sha256:"):]:
            raise IntegrityError(f"{self.label}: {res['path']}", expected[len("sha256:"):], found)
        rows: list[dict[str, Any]] = pq.read_table(pa.BufferReader(data), use_threads=False).to_pylist()
        return rows


def _check_descriptor(desc: Any, where: str) -> dict[str, Any]:
    if not isinstance(desc, dict) or not isinstance(desc.get("resources"), list):
        raise DescriptorError(f"{where} is not a data package descriptor (no 'resources' list)")
    for i, res in enumerate(desc["resources"]):
        if not isinstance(res, dict) or not all(isinstance(res.get(k), str) for k in ("name", "path")):
            raise DescriptorError(f"{where}: resource {i} lacks a name or a path")
        if not isinstance(res.get("schema"), dict):
            raise DescriptorError(f"{where}: resource {res['name']!r} has no inline table schema")
    return desc


def _safe_parts(raw: str, where: str) -> list[str]:
    if "://" in raw or raw.startswith(("/", "\\")) or ":" in raw:
        raise DescriptorError(f"{where}: resource path {raw!r} is absolute or a URL; refused")
    parts = raw.replace("\\", "/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise DescriptorError(f"{where}: resource path {raw!r} has '..', '.' or empty segments; refused")
    return parts


def _parse_json(data: bytes, where: str) -> dict[str, Any]:
    try:
        return _check_descriptor(json.loads(data.decode("utf-8")), where)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DescriptorError(f"{where} is not valid JSON: {exc}") from None


def _from_descriptor_file(path: Path, label: str) -> Package:
    try:
        desc = _parse_json(path.read_bytes(), str(path))
    except OSError as exc:
        raise DescriptorError(f"{path} cannot be read: {exc.strerror}") from None
    base = path.parent.resolve()

    def read(raw: str) -> bytes:
        target = base.joinpath(*_safe_parts(raw, str(path))).resolve()
        if base not in target.parents:
            raise DescriptorError(f"{path}: resource path {raw!r} leads outside {base}; refused")
        try:
            return target.read_bytes()
        except OSError as exc:
            raise IntegrityError(str(target), "(descriptor hash)", None, f"cannot read it: {exc.strerror}") from None

    return Package(label, desc, read)


def _from_wheel(path: Path, label: str) -> Package:
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DescriptorError(f"{path} is not a readable wheel: {exc}") from None
    names = set(zf.namelist())
    candidates = sorted(n for n in names if n.endswith("/datapackage.json") and n.count("/") == 1)
    if not candidates:
        raise DescriptorError(f"{path} holds no <package>/datapackage.json; is it a chokepoint-data wheel?")
    member = candidates[0]
    prefix = member[: -len("datapackage.json")]
    desc = _parse_json(zf.read(member), f"{path}!{member}")

    def read(raw: str) -> bytes:
        name = prefix + "/".join(_safe_parts(raw, f"{path}!{member}"))
        if name not in names:
            raise IntegrityError(f"{path}!{name}", "(descriptor hash)", None, "the wheel does not hold it")
        return zf.read(name)

    return Package(label, desc, read)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except OSError as exc:
        raise DescriptorError(f"git cannot be run ({exc.strerror}); install git or pass files instead of refs") from None


#: The file at the repository's root that records each release's commit (tags do not travel).
RELEASES_FILE = "releases.json"


def release_commit(ref: str, repo: Path) -> str | None:
    """The commit ``releases.json`` records for a version named ``0.2.0`` or ``v0.2.0``, or None.

    Read from the work tree of ``repo`` (its top level), else from its ``HEAD``; a file that is
    there but unreadable is the package's own error."""
    version = ref[1:] if ref[:1] in ("v", "V") else ref
    if not version[:1].isdigit():
        return None
    top = _git(repo, "rev-parse", "--show-toplevel")
    raw: bytes | None = None
    if top.returncode == 0:
        path = Path(top.stdout.decode().strip()) / RELEASES_FILE
        if path.is_file():
            raw = path.read_bytes()
    if raw is None:
        shown = _git(repo, "cat-file", "blob", f"HEAD:{RELEASES_FILE}")
        raw = shown.stdout if shown.returncode == 0 else None
    if raw is None:
        return None
    try:
        releases = json.loads(raw.decode("utf-8"))["releases"]
        found = {str(r["version"]): str(r["commit"]) for r in releases}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise DescriptorError(f"{RELEASES_FILE} in {repo} is not a list of releases with version and commit ({exc}); "
                              f"fix it as docs/RELEASING.md shows") from None
    return found.get(version)


def _from_git(ref: str, repo: Path, label: str) -> Package | None:
    if ref.startswith("-"):
        return None
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0:
        recorded = release_commit(ref, repo)
        if recorded is None:
            return None
        found = _git(repo, "rev-parse", "--verify", "--quiet", f"{recorded}^{{commit}}")
        if found.returncode != 0:
            raise DescriptorError(f"{RELEASES_FILE} records release {ref} as commit {recorded[:12]}, which the repository "
                                  f"{repo} does not hold; fetch the full history (git fetch --unshallow)")
    commit = found.stdout.decode().strip()

    def blob(path: str) -> bytes | None:
        out = _git(repo, "cat-file", "blob", f"{commit}:{path}")
        return out.stdout if out.returncode == 0 else None

    raw = blob("datapackage.json")
    if raw is None:
        raise DescriptorError(f"git ref {ref!r} ({commit[:12]}) has no datapackage.json at the repository root")
    where = f"{ref}:datapackage.json"
    desc = _parse_json(raw, where)

    def read(path: str) -> bytes:
        data = blob("/".join(_safe_parts(path, where)))
        if data is None:
            raise IntegrityError(f"{ref}:{path}", "(descriptor hash)", None, "the commit does not hold it")
        return data

    return Package(label, desc, read)


def open_package(spec: str | os.PathLike[str], *, repo: str | os.PathLike[str] | None = None) -> Package:
    """Open one side of a diff.

    Parameters
    ----------
    spec : a ``datapackage.json`` path, a folder holding one, a ``.whl`` file, or a git ref
        (tag, branch, commit, ``HEAD~1``) of ``repo``, or a release (``0.2.0`` or ``v0.2.0``)
        that git does not know as a ref but ``releases.json`` at the repository's root
        records (tags do not travel with a clone). An existing path wins over a ref.
    repo : the git repository for refs (default: the current folder).

    Raises
    ------
    DescriptorError
        ``spec`` is none of these, or what it names is not a data package.
    """
    text = os.fspath(spec)
    label = text
    path = Path(text)
    if path.is_dir():
        inner = path / "datapackage.json"
        if not inner.is_file():
            raise DescriptorError(f"folder {path} holds no datapackage.json")
        return _from_descriptor_file(inner, label)
    if path.is_file():
        if path.suffix == ".whl":
            return _from_wheel(path, label)
        return _from_descriptor_file(path, label)
    where = Path(repo) if repo is not None else Path.cwd()
    pkg = _from_git(text, where, label)
    if pkg is None:
        raise DescriptorError(
            f"{text!r} is not a datapackage.json, a folder, a wheel, or a git ref of {where}; "
            f"pass an existing path, a ref that `git rev-parse` knows, or a release that {RELEASES_FILE} "
            f"records (e.g. 0.2.0)"
        )
    return pkg


