"""The one atomic writer: every file or folder the package writes goes through here.

A target is never seen half written. The new content is written into a private temporary
folder ``.<name>.<random>.tmp`` beside the target (one file system, so the rename is atomic),
flushed to disk, then renamed over the target. Killed at any moment, the target is either
the old one, byte for byte, or the new one, complete. What a killed write left beside a
target (``.<name>.<random>.tmp`` or ``.old``) is removed by the next write to that target;
an old folder that a killed swap had moved aside is put back first. Standard library only.

- :func:`write_file` / :func:`write_bytes`: one file (its mode is what a plain ``open()``
  gives, not ``mkstemp``'s 0600);
- :func:`write_files`: a set of files replaced together (the build's outputs): all are
  written before the first rename, and a failure between renames gives the files already
  renamed their previous bytes back, so a failed write changes nothing;
- :func:`write_folder`: a folder (the CSV export), swapped in with one atomic exchange
  where the system has one, else two renames that :func:`clean_stale` can undo. It replaces
  an existing folder only if every entry in it is one the caller names as its own (``ours``,
  e.g. the files a manifest lists), checked before and again right after the swap (a file
  added meanwhile swaps the old folder back): a user's own files are never deleted.

None of them writes into or replaces a special file (FIFO, device, socket): opening one
could block for ever or feed another program. A failed :func:`write_file` or
:func:`write_folder` raises :class:`ExportError` naming the target (never the temporary
file) and what to do; an interrupt (Ctrl-C) is re-raised as ``KeyboardInterrupt`` whose
text says whether the target is unchanged or already holds the new output. What a target
may be is checked before any work by ``_targets`` (the writers' common front).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Collection, Iterator, Mapping

from .._errors import ExportError
from ._targets import special_kind

__all__ = ["step", "write_file", "write_bytes", "write_files", "write_folder", "clean_stale"]

#: Test hook: called with the name of each step of a write (``written``, ``replace``,
#: ``swap``, ``replaced``, and for a set ``write:<file>``, ``replaced:<file>``) and of the
#: phases before it that build and export report through :func:`step`; a test makes it
#: raise or kill the process to prove that an interrupted write changes nothing.
_STEP_HOOK: Callable[[str], None] | None = None


def step(name: str) -> None:
    """Report a step to the test hook (a no-op unless a test set one)."""
    if _STEP_HOOK is not None:
        _STEP_HOOK(name)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _stale(target: Path) -> list[Path]:
    pattern = re.compile(r"^\." + re.escape(target.name) + r"\.[A-Za-z0-9_]+\.(tmp|old)$")
    try:
        return sorted(p for p in target.parent.iterdir() if pattern.match(p.name))
    except OSError:
        return []


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_stale(target: Path) -> None:
    """Remove what a killed write to ``target`` left beside it.

    A ``.old`` folder is a previous folder moved aside by the two-rename swap (used where
    the atomic exchange is not available); if the target is missing it is put back first,
    so a kill inside that swap never loses the old folder.
    """
    for path in _stale(target):
        if path.name.endswith(".old") and not target.exists() and path.is_dir():
            os.rename(path, target)
            continue
        _remove(path)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _temp_folder(target: Path, suffix: str = ".tmp") -> Path:
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent))


def _refuse_special(target: Path) -> None:
    """ExportError if ``target`` is a special file: never replaced, whatever the caller checked."""
    try:
        mode = os.lstat(target).st_mode
    except OSError:
        return
    what = special_kind(mode)
    if what:
        raise ExportError(f"cannot write {target}: it is {what}, not a regular file; chokepoint-data never replaces "
                          f"special files, even with --force; choose a regular file name")


_ADVICE = {
    errno.ENOSPC: "the disk is full; free some space or choose another place",
    errno.EDQUOT: "your disk quota is used up; free some space or choose another place",
    errno.EROFS: "the file system is read-only; choose another place",
    errno.EACCES: "you may not write there; choose another place or change its permissions",
    errno.EPERM: "you may not write there; choose another place or change its permissions",
    errno.ENAMETOOLONG: "the name is too long; choose a shorter one",
}


def failed(target: Path, exc: OSError, replaced: bool = False) -> ExportError:
    """The package's error for a write to ``target`` that failed with ``exc``: names the target
    (not the temporary file) and what to do next."""
    advice = _ADVICE.get(exc.errno or 0, "check the path and try again")
    state = "it holds the new output" if replaced else "it is unchanged"
    return ExportError(f"writing {target} failed ({exc.strerror or exc}); {advice}; {state}")


def _interrupted(target: Path, replaced: bool) -> KeyboardInterrupt:
    state = "already holds the new output, complete" if replaced else "is unchanged"
    return KeyboardInterrupt(f"{target} {state}")


class _Outcome:
    """Whether the target already holds the new output (what an error must then say)."""

    replaced = False


@contextmanager
def _own_errors(target: Path) -> Iterator[_Outcome]:
    """Turn an OSError or Ctrl-C inside a write of ``target`` into the package's own error,
    saying whether the target is unchanged or already holds the new output."""
    outcome = _Outcome()
    try:
        yield outcome
    except OSError as exc:
        raise failed(target, exc, outcome.replaced) from None
    except KeyboardInterrupt:
        raise _interrupted(target, outcome.replaced) from None


def _replaced(target: Path, outcome: _Outcome) -> None:
    """The new output is in place: record it, make the rename durable, mark the step."""
    outcome.replaced = True
    _fsync_dir(target.parent)
    step("replaced")


def _staged(target: Path, write: Callable[[Path], object]) -> Path:
    """A temporary folder beside ``target`` holding the new file, written and flushed."""
    _refuse_special(target)
    clean_stale(target)
    tmpdir = _temp_folder(target)
    try:
        write(tmpdir / target.name)
        _fsync_file(tmpdir / target.name)
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    return tmpdir


def write_file(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Replace the file ``path`` with what ``write(tmp)`` writes at ``tmp``; return the path.

    ``tmp`` has the target's name (so a library that reads the suffix picks the right
    format) inside a temporary folder beside the target.
    """
    target = Path(path)
    with _own_errors(target) as outcome:
        tmpdir = _staged(target, write)
        try:
            step("written")
            _refuse_special(target)  # again: it may have appeared while the new file was written
            step("replace")
            os.replace(tmpdir / target.name, target)
            _replaced(target, outcome)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return target


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace the file ``path`` with ``data``; return the path."""
    return write_file(path, lambda tmp: tmp.write_bytes(data))


def write_files(files: Mapping[Path, bytes]) -> None:
    """Replace every file of ``files`` (``{path: bytes}``) together, creating missing folders.

    Nothing visible changes until every new file is complete; the renames come last and
    each is atomic. If one fails, the files already renamed get their previous bytes back
    (or are removed if they are new) and the folders this call created are removed, so a
    failed write has changed nothing; the error is raised.
    """
    temps: dict[Path, Path] = {}
    created: list[Path] = []
    old: dict[Path, bytes | None] = {}
    done: list[Path] = []
    ok = False
    try:
        for path, data in files.items():
            for parent in reversed(path.parents):
                if not parent.exists():
                    parent.mkdir()
                    created.append(parent)
            temps[path] = _staged(path, lambda tmp, data=data: tmp.write_bytes(data))
            step(f"write:{path.name}")
        for path in files:
            old[path] = path.read_bytes() if path.exists() else None
        step("replace")
        for path, tmpdir in temps.items():
            os.replace(tmpdir / path.name, path)
            done.append(path)
            step(f"replaced:{path.name}")
        ok = True
    finally:
        if not ok:
            _roll_back(done, old)
        for tmpdir in temps.values():
            shutil.rmtree(tmpdir, ignore_errors=True)
        if not ok:
            for folder in reversed(created):
                try:
                    folder.rmdir()
                except OSError:
                    pass


def _roll_back(done: list[Path], old: Mapping[Path, bytes | None]) -> None:
    """Give each already renamed file its previous bytes back (atomically), or remove it."""
    for path in done:
        previous = old.get(path)
        if previous is None:
            path.unlink(missing_ok=True)
            continue
        tmpdir = _staged(path, lambda tmp, previous=previous: tmp.write_bytes(previous))
        try:
            os.replace(tmpdir / path.name, path)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)


def _foreign(folder: Path, ours: Collection[str]) -> list[str]:
    """Entries of ``folder`` that are not ``ours`` (or are not regular files)."""
    out = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name not in ours or not entry.is_file(follow_symlinks=False):
            out.append(entry.name + ("/" if entry.is_dir(follow_symlinks=False) else ""))
    return out


def _refuse_foreign(target: Path, foreign: list[str]) -> ExportError:
    shown = ", ".join(foreign[:10]) + (f" and {len(foreign) - 10} more" if len(foreign) > 10 else "")
    return ExportError(f"{target} holds {len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} that chokepoint-data "
                       f"did not write ({shown}); nothing was replaced, and --force never deletes them: move them "
                       f"out of the folder, or write into a new or empty folder")


def write_folder(path: str | os.PathLike[str], write: Callable[[Path], object], *, ours: Collection[str]) -> Path:
    """Replace the folder ``path`` with what ``write(tmp_folder)`` writes into an empty folder.

    An existing folder is replaced only if every entry in it is a regular file named in
    ``ours`` (what the package wrote there before); otherwise ExportError names the others
    and nothing changes. The check is repeated on the old folder right after the swap, and
    the swap is undone if something else appeared in it meanwhile.
    """
    target = Path(path)
    with _own_errors(target) as outcome:
        _refuse_special(target)
        clean_stale(target)
        if target.is_dir():
            foreign = _foreign(target, ours)
            if foreign:
                raise _refuse_foreign(target, foreign)
        tmpdir = _temp_folder(target)
        try:
            os.chmod(tmpdir, 0o777 & ~_umask())  # mkdtemp makes it private; the result is an ordinary folder
            write(tmpdir)
            for p in tmpdir.iterdir():
                _fsync_file(p)
            _fsync_dir(tmpdir)
            step("written")
            _refuse_special(target)
            step("replace")
            if not target.exists():
                os.rename(tmpdir, target)
            elif _exchange(tmpdir, target):
                # the old folder now sits at tmpdir (removed below): was anything added to it meanwhile?
                foreign = _foreign(tmpdir, ours)
                if foreign:
                    _exchange(tmpdir, target)
                    raise _refuse_foreign(target, foreign)
            else:
                old = _temp_folder(target, ".old")
                os.rmdir(old)
                os.rename(target, old)
                step("swap")
                foreign = _foreign(old, ours)
                if foreign:
                    os.rename(old, target)
                    raise _refuse_foreign(target, foreign)
                os.rename(tmpdir, target)
                shutil.rmtree(old, ignore_errors=True)
            _replaced(target, outcome)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return target
