"""One way to replace a file atomically. Standard library only.

The new bytes go to a temporary file in the target's folder (so the rename stays on one file
system), are flushed to disk, get the mode a plain ``open()`` would give (``mkstemp`` makes
0600), and are renamed over the target. Killed at any moment, the target is either the old file
or the new one; the temporary file is removed on every failure.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable

__all__ = ["write_atomic", "write_bytes_atomic"]


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> Path:
    """Replace ``path`` with what ``write(fh)`` writes to a binary file handle; return the path."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace ``path`` with ``data``; return the path."""
    return write_atomic(path, lambda fh: fh.write(data))
