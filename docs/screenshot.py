"""Take the README's screenshot of the web view: docs/datasette.png.

Runs `chokepoint-data serve`'s Datasette on a free loopback port, opens one labelled table
with headless Chromium, saves a PNG, and stops the server. Needs the [web] extra and a
Chromium binary (Debian: apt-get install chromium).

    python docs/screenshot.py [--out docs/datasette.png] [--path /chokepoints/...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from chokepoint_data import serve

#: EV battery makers in 2023, with the columns a reader looks at first (the page keeps every facet)
DEFAULT_PATH = ("/chokepoints/market_shares_labelled?chokepoint_id=ev-batteries&year=2023&_size=12"
                + "".join(f"&_col={c}" for c in ("chokepoint_name", "year", "scope", "basis", "holder_name",
                                                 "holder_country", "share", "source_publisher", "licence")))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer at {url}")
            time.sleep(0.3)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(Path(__file__).with_name("datasette.png")))
    p.add_argument("--path", default=DEFAULT_PATH)
    p.add_argument("--size", default="1400,1250")
    args = p.parse_args()
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        raise SystemExit("no Chromium found: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        db, meta = serve.prepare(tmp)
        port = _free_port()
        proc = subprocess.Popen(serve.command(db, meta, port=port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base + "/-/versions.json")
            out = Path(args.out).resolve()
            partial = out.with_name(f".{out.name}.tmp.png")
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--virtual-time-budget=10000", "--force-device-scale-factor=1",
                            f"--window-size={args.size}", f"--screenshot={partial}", base + args.path],
                           check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            os.replace(partial, out)
            print(out)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
