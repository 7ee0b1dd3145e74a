"""What the web-view tests share: a free loopback port, and the opening of every fetch script
(which waits until Datasette answers, then leaves the rest to the script)."""

from __future__ import annotations

import socket
import textwrap


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
