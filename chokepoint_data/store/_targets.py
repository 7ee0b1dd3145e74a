"""Check a write target before anything is written: what the atomic writer may replace.

Every writer of the package (exports, ClaimReview, figures, the Datasette metadata) asks
here first, so each refuses the same targets with the same words, before it has loaded or
written anything:

- a path that is empty, holds a NUL, or names an unknown user (``~nouser/x``);
- a special file (FIFO, character or block device, socket), also behind a symbolic link:
  never opened (a FIFO would block for ever) and never replaced, even with ``force``;
- a symbolic link (also a dangling one, reported as such) unless ``force``, which replaces
  the link itself, never the file it points to;
- a folder where a file is expected, a file where a folder is expected;
- a missing, non-folder or non-writable parent folder (named as such, not as the temporary
  file the writer would have made);
- an existing file that is read-only or that ``owned`` does not recognise, unless ``force``.

The folder writer (``_atomic.write_folder``) checks again, at the moment of the swap, that an
existing folder holds only what the package wrote there; this module has no opinion on
folder contents. Standard library only; errors are :class:`ExportError`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable

from .._errors import ExportError

__all__ = ["target_path", "special_kind", "check_parent", "check_file", "check_folder", "FORCE_HINT"]

FORCE_HINT = "use --force / force=True to replace it, or choose another name"


def target_path(out: object, what: str = "the output") -> Path:
    """``out`` as an absolute path, with ``~`` expanded; ExportError for an unusable one."""
    if not isinstance(out, (str, os.PathLike)):
        raise ExportError(f"{what} must be a path, not {type(out).__name__}")
    text = os.fspath(out)
    if isinstance(text, bytes) or not text.strip():
        raise ExportError(f"{what} is an empty path; give a file or folder name (use . for the current folder)")
    if "\x00" in text:
        raise ExportError(f"{what} {text!r} contains a NUL character; give a path without it")
    path = Path(text)
    if text.startswith("~"):
        user = text[1:].replace("\\", "/").split("/", 1)[0]
        try:
            path = path.expanduser()
        except RuntimeError:
            path = None  # type: ignore[assignment]
        if path is None or str(path).startswith("~"):
            who = f"the user {user!r}" if user else "your home folder"
            raise ExportError(f"{what} {text!r} starts with ~ but {who} is not known on this system; "
                              f"give the folder in full")
    return path.absolute()


def special_kind(mode: int) -> str | None:
    """What a special file is (``"a FIFO (named pipe)"`` ...), or None for a file, folder or link."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return None


def _refuse_special(target: Path, kind: str, what: str, via: str = "") -> None:
    raise ExportError(f"cannot write {kind} to {target}: {via}it is {what}, not a regular file; chokepoint-data never "
                      f"writes into or replaces special files, even with --force; choose a regular file name")


def check_parent(target: Path, kind: str) -> None:
    """The folder that will hold ``target`` exists, is a folder, and can be written."""
    parent = target.parent
    if not parent.exists():
        raise ExportError(f"cannot write {kind} to {target}: the folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise ExportError(f"cannot write {kind} to {target}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {kind} to {target}: the folder {parent} is read-only (not writable for you); "
                          f"choose another folder or make it writable")


def _lstat(target: Path) -> os.stat_result | None:
    try:
        return os.lstat(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ExportError(f"cannot write to {target}: {exc.strerror}; choose another path") from None


def _check_link(target: Path, kind: str, force: bool) -> bool:
    """For a symbolic link: refuse what it must not replace; True if it is a link (then force is set)."""
    link = os.readlink(target)
    try:
        pointed = os.stat(target)
    except OSError:
        if not force:
            raise ExportError(f"cannot write {kind} to {target}: it is a symbolic link to {link}, which does not "
                              f"exist (a dangling link); remove the link or choose another name "
                              f"(--force / force=True replaces the link itself)") from None
        return True
    what = special_kind(pointed.st_mode)
    if what:
        _refuse_special(target, kind, what, via=f"a symbolic link to {link}: ")
    if not force:
        raise ExportError(f"cannot write {kind} to {target}: it is a symbolic link to {link}; not replaced "
                          f"(writing would replace the link, not {link}); give the real path, or use "
                          f"--force / force=True to replace the link itself")
    return True


def check_file(target: Path, *, force: bool, owned: Callable[[Path], bool] | None, kind: str) -> None:
    """Refuse a target that a file write must not replace (see the module docstring).

    ``owned(target)`` is asked only about an existing regular file (it may open it); None
    means that nothing existing is recognised as the package's own.
    """
    st = _lstat(target)
    if st is not None and stat.S_ISLNK(st.st_mode):
        _check_link(target, kind, force)
        check_parent(target, kind)
        return
    if st is not None:
        what = special_kind(st.st_mode)
        if what:
            _refuse_special(target, kind, what)
        if stat.S_ISDIR(st.st_mode):
            raise ExportError(f"cannot write {kind} to {target}: it is a folder; give a file name")
    check_parent(target, kind)
    if st is None or force:
        return
    if not os.access(target, os.W_OK):
        raise ExportError(f"{target} is read-only; not replaced ({FORCE_HINT})")
    if owned is None or not owned(target):
        raise ExportError(f"{target} exists and was not written by chokepoint-data; not replaced ({FORCE_HINT})")


def check_folder(target: Path, *, kind: str) -> bool:
    """Refuse a target that a folder write must not replace; True if a folder is there already.

    A symbolic link is refused even with ``force`` (the swap would replace the link); what an
    existing folder may hold is checked by the writer (``write_folder(..., ours=...)``).
    """
    st = _lstat(target)
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            try:
                pointed = os.stat(target)
            except OSError:
                raise ExportError(f"cannot write {kind} to {target}: it is a symbolic link to {os.readlink(target)}, "
                                  f"which does not exist (a dangling link); remove it or choose another folder") from None
            what = special_kind(pointed.st_mode)
            if what:
                _refuse_special(target, kind, what, via=f"a symbolic link to {os.readlink(target)}: ")
            raise ExportError(f"cannot write {kind} to {target}: it is a symbolic link to {os.readlink(target)}; "
                              f"give the real folder instead")
        what = special_kind(st.st_mode)
        if what:
            _refuse_special(target, kind, what)
        if not stat.S_ISDIR(st.st_mode):
            raise ExportError(f"cannot export {kind} to {target}: it is a file; {kind} export writes a folder")
    check_parent(target, kind)
    if st is not None and not os.access(target, os.W_OK | os.X_OK):
        raise ExportError(f"{target} is a read-only folder; not replaced; choose another folder or make it writable")
    return st is not None
