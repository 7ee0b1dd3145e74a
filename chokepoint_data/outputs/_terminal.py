"""The command line's streams: what it prints reaches the terminal safe and whole.

Imports nothing heavy: ``cli.main`` wraps standard output and error in :class:`SafeStream`
before any command runs.
"""

from __future__ import annotations

import errno
from typing import Any

from ._show import terminal_safe

__all__ = ["SafeStream"]


class SafeStream:
    """A text stream that escapes control characters before they reach the terminal.

    A character the stream's encoding cannot hold (``PYTHONIOENCODING=ascii``, a legacy
    console) is written as its escape (``\\u4e2d``), so the output is whole and says what
    it replaced. A stream that is closed (``>&-``: Python then has no ``sys.stdout``)
    raises ``OSError(EBADF)`` for standard output, which ``main`` reports in one line, and
    swallows what goes to a closed standard error.
    """

    def __init__(self, raw: Any, *, required: bool = True) -> None:
        self._raw = raw
        self._required = required

    def write(self, text: str) -> int:
        if self._raw is None:
            if self._required:
                raise OSError(errno.EBADF, "standard output is closed; nothing was printed")
            return len(text)
        safe = terminal_safe(text)
        try:
            return self._raw.write(safe)
        except UnicodeEncodeError:
            encoding = getattr(self._raw, "encoding", None) or "ascii"
            return self._raw.write(safe.encode(encoding, "backslashreplace").decode(encoding))

    def flush(self) -> None:
        if self._raw is not None:
            self._raw.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)
