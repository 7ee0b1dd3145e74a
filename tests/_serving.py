"""What the web-view tests share: a free loopback port, and the opening of every fetch script
(which waits until Datasette answers, then leaves the rest to the script)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import textwrap
from pathlib import Path
from typing import Iterator


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Run in a subprocess (the tests' own process has no network, not even loopback). ``base`` must
# be set before it; if Datasette does not answer within 90 s it prints {"error": ...} and exits 0.
WAIT_FOR_DATASETTE = textwrap.dedent("""
    import json, sys, time, urllib.error, urllib.request
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(base + "/-/versions.json", timeout=5).read()
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                print(json.dumps({"error": "datasette did not answer"})); sys.exit(0)
            time.sleep(0.3)
""")


@contextlib.contextmanager
def datasette(folder: Path, log: Path | None = None) -> Iterator[tuple[int, Path]]:
    """Prepare the web view in ``folder``, run Datasette on a free loopback port (output to
    ``log``, or discarded), yield (port, database), and stop it however the block ends."""
    from chokepoint_data import serve

    db, meta = serve.prepare(folder)
    port = free_port()
    with open(log, "wb") if log is not None else open(os.devnull, "wb") as out:
        proc = subprocess.Popen(serve.command(db, meta, port=port), stdout=out, stderr=subprocess.STDOUT)
        try:
            yield port, db
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
