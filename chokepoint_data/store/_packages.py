"""Open one side of a data diff: a datapackage.json, a folder, a wheel or a git ref, bytes verified.

Another release is read as carefully as the loader reads ours: its descriptor must pass the
loader's own shape checks (:func:`._descriptor.shape_problem`), every file is read with a
size bound (``MAX_DESCRIPTOR_BYTES``, ``MAX_RESOURCE_BYTES``, and ``MAX_TABLE_BYTES`` once
decompressed), and every failure is the package's own error naming the release and file.

Standard library only at import; pyarrow is imported when rows are read. Used by ``diff``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .._errors import DescriptorError, IntegrityError
from ._descriptor import shape_problem

__all__ = ["Package", "open_package", "MAX_DESCRIPTOR_BYTES", "MAX_RESOURCE_BYTES", "MAX_TABLE_BYTES"]

#: The largest descriptor another release may have (ours is under 100 KB).
MAX_DESCRIPTOR_BYTES = 16 * 2**20
#: The largest data file (as stored, after unzipping a wheel member) another release may have.
MAX_RESOURCE_BYTES = 256 * 2**20
#: The largest a table's columns may decompress to, as its Parquet metadata says.
MAX_TABLE_BYTES = 1024 * 2**20

_OTHER_ADVICE = "get a clean copy of that release (re-download the wheel, or check out the tag again)"


def _too_big(where: str, size: int, limit: int) -> DescriptorError:
    return DescriptorError(
        f"{where} is {size:,} bytes, more than the {limit:,} bytes diff reads from a release; refused "
        f"(a chokepoint-data release is far smaller: is it the right file?)")


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
        """The rows of resource ``name`` as dicts, after checking the bytes' sha256.

        Raises
        ------
        IntegrityError
            The bytes differ from the descriptor's sha256, or the file is missing.
        DescriptorError
            The bytes match but are not a readable Parquet table, or decompress to more than
            ``MAX_TABLE_BYTES``.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        res = self.resources[name]
        data = self._read(res["path"])
        expected = res["hash"][len("sha256:"):].lower()
        found = hashlib.sha256(data).hexdigest()
        if found != expected:
            raise IntegrityError(f"{self.label}: {res['path']}", expected, found, advice=_OTHER_ADVICE)
        where = f"{self.label}: {res['path']}"
        try:
            pf = pq.ParquetFile(pa.BufferReader(data))
            meta = pf.metadata
            size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            if size > MAX_TABLE_BYTES:
                raise _too_big(f"{where} (decompressed)", size, MAX_TABLE_BYTES)
            rows: list[dict[str, Any]] = pf.read(use_threads=False).to_pylist()
        except (pa.ArrowException, OSError, ValueError, TypeError, MemoryError) as exc:
            raise DescriptorError(
                f"{where} matches its sha256 but is not a readable Parquet table ({exc}); "
                f"the release was built wrong: {_OTHER_ADVICE}") from None
        return rows


def _check_descriptor(desc: Any, where: str) -> dict[str, Any]:
    """The loader's own shape checks, on another release's descriptor."""
    problem = shape_problem(desc, any_field_type=True)
    if problem:
        raise DescriptorError(f"{where} is not a usable data package descriptor: {problem}; refused")
    return desc  # type: ignore[no-any-return]


def _safe_parts(raw: str, where: str) -> list[str]:
    if "\x00" in raw:
        raise DescriptorError(f"{where}: resource path {raw!r} contains a NUL character; refused")
    if "://" in raw or raw.startswith(("/", "\\")) or ":" in raw:
        raise DescriptorError(f"{where}: resource path {raw!r} is absolute or a URL; refused")
    parts = raw.replace("\\", "/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise DescriptorError(f"{where}: resource path {raw!r} has '..', '.' or empty segments; refused")
    return parts


def _parse_json(data: bytes, where: str) -> dict[str, Any]:
    if len(data) > MAX_DESCRIPTOR_BYTES:
        raise _too_big(where, len(data), MAX_DESCRIPTOR_BYTES)
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DescriptorError(f"{where} is not valid JSON: {exc}") from None
    except RecursionError:
        raise DescriptorError(f"{where} is nested too deeply to be a data package descriptor; refused") from None
    return _check_descriptor(parsed, where)


def _read_file(path: Path, limit: int, where: str) -> bytes:
    """A file's bytes, refusing one larger than ``limit`` before reading it."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise _too_big(where, size, limit)
        data = fh.read(limit + 1)
    if len(data) > limit:  # grew while read, or a special file
        raise _too_big(where, len(data), limit)
    return data


def _from_descriptor_file(path: Path, label: str) -> Package:
    try:
        raw = _read_file(path, MAX_DESCRIPTOR_BYTES, str(path))
    except OSError as exc:
        raise DescriptorError(f"{path} cannot be read: {exc.strerror or exc}") from None
    desc = _parse_json(raw, str(path))
    base = path.parent.resolve()

    def read(raw: str) -> bytes:
        target = base.joinpath(*_safe_parts(raw, str(path))).resolve()
        if base not in target.parents:
            raise DescriptorError(f"{path}: resource path {raw!r} leads outside {base}; refused")
        try:
            return _read_file(target, MAX_RESOURCE_BYTES, str(target))
        except OSError as exc:
            raise IntegrityError(str(target), "(descriptor hash)", None, f"cannot read it: {exc.strerror or exc}",
                                 advice=_OTHER_ADVICE) from None

    return Package(label, desc, read)


def _zip_read(zf: zipfile.ZipFile, name: str, limit: int, where: str) -> bytes:
    """One wheel member, refused when its stated or actual size passes ``limit``.

    The size in the zip's directory is checked first; the member is then inflated in
    chunks, so a member that lies about its size is stopped at the limit too.
    """
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise _too_big(where, info.file_size, limit)
    chunks, total = [], 0
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(min(2**20, limit + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise _too_big(where, total, limit)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
        raise DescriptorError(f"{where} cannot be unpacked ({exc}): the wheel is damaged; {_OTHER_ADVICE}") from None
    return b"".join(chunks)


def _from_wheel(path: Path, label: str) -> Package:
    try:
        zf = zipfile.ZipFile(path)
        names = set(zf.namelist())
    except (OSError, zipfile.BadZipFile, ValueError, NotImplementedError, EOFError) as exc:
        raise DescriptorError(f"{path} is not a readable wheel: {exc}") from None
    candidates = sorted(n for n in names if n.endswith("/datapackage.json") and n.count("/") == 1)
    if not candidates:
        raise DescriptorError(f"{path} holds no <package>/datapackage.json; is it a chokepoint-data wheel?")
    member = candidates[0]
    prefix = member[: -len("datapackage.json")]
    where = f"{path}!{member}"
    desc = _parse_json(_zip_read(zf, member, MAX_DESCRIPTOR_BYTES, where), where)

    def read(raw: str) -> bytes:
        name = prefix + "/".join(_safe_parts(raw, where))
        if name not in names:
            raise IntegrityError(f"{path}!{name}", "(descriptor hash)", None, "the wheel does not hold it",
                                 advice=_OTHER_ADVICE)
        return _zip_read(zf, name, MAX_RESOURCE_BYTES, f"{path}!{name}")

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

    def blob(path: str, limit: int) -> bytes | None:
        size = _git(repo, "cat-file", "-s", f"{commit}:{path}")
        if size.returncode != 0:
            return None
        if int(size.stdout.decode().strip() or 0) > limit:
            raise _too_big(f"{ref}:{path}", int(size.stdout.decode().strip()), limit)
        out = _git(repo, "cat-file", "blob", f"{commit}:{path}")
        return out.stdout if out.returncode == 0 else None

    raw = blob("datapackage.json", MAX_DESCRIPTOR_BYTES)
    if raw is None:
        raise DescriptorError(f"git ref {ref!r} ({commit[:12]}) has no datapackage.json at the repository root")
    where = f"{ref}:datapackage.json"
    desc = _parse_json(raw, where)

    def read(path: str) -> bytes:
        data = blob("/".join(_safe_parts(path, where)), MAX_RESOURCE_BYTES)
        if data is None:
            raise IntegrityError(f"{ref}:{path}", "(descriptor hash)", None, "the commit does not hold it",
                                 advice=_OTHER_ADVICE)
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
        ``spec`` is none of these, or what it names is not a data package: a descriptor
        that fails the loader's shape checks, a damaged wheel, or a file over the size
        bounds (``MAX_DESCRIPTOR_BYTES`` for the descriptor, ``MAX_RESOURCE_BYTES`` per
        data file, ``MAX_TABLE_BYTES`` per table once decompressed).
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


