"""serve: one request cannot exhaust memory, a busy port is said first, a signal leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.parse
from pathlib import Path

import pytest
from _serving import WAIT_FOR_DATASETTE, datasette, free_port

from chokepoint_data import serve

pytest.importorskip("datasette")


FETCH = "import sys\nbase, paths = sys.argv[1], sys.argv[2:]\n" + WAIT_FOR_DATASETTE + textwrap.dedent("""
    out = []
    for path in paths:
        try:
            with urllib.request.urlopen(base + path, timeout=30) as r:
                out.append([r.status, r.read(2_000_000).decode("latin-1")])
        except urllib.error.HTTPError as err:
            out.append([err.code, err.read(2_000_000).decode("latin-1")])
    print(json.dumps(out))
""")


def fetch(base: str, *paths: str) -> list[tuple[int, str]]:
    """Wait until ``base`` answers, then GET each path (bounded reads), in a subprocess: the
    tests' own process has no network, not even loopback."""
    done = subprocess.run([sys.executable, "-c", FETCH, base, *paths], capture_output=True, text=True,
                          timeout=240, check=True)
    result = json.loads(done.stdout)
    assert not isinstance(result, dict), result  # {"error": "datasette did not answer"}
    return [tuple(x) for x in result]


def sql(query: str) -> str:
    return "/chokepoints.json?" + urllib.parse.urlencode({"sql": query})


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    """What a Datasette started by serve.command answers to each request below."""
    with datasette(tmp_path_factory.mktemp("limits")) as (port, _):
        paths = {"over": sql(f"select length(randomblob({serve.MAX_VALUE_BYTES + 1}))"),
                 "huge": sql("select length(randomblob(1000000000))"),
                 "under": sql(f"select length(randomblob({serve.MAX_VALUE_BYTES}))"),
                 "plain": sql("select count(*) from sources"),
                 "settings": "/-/settings.json"}
        yield dict(zip(paths, fetch(f"http://127.0.0.1:{port}", *paths.values())))


@pytest.mark.parametrize("request_name", ["over", "huge"])
def test_a_value_past_the_cap_is_an_error_not_an_answer(answers, request_name):
    status, body = answers[request_name]
    assert status == 400 and "too big" in body


def test_values_under_the_cap_and_ordinary_queries_answer(answers):
    assert answers["under"][0] == 200 and answers["plain"][0] == 200


def test_the_limits_are_the_settings_datasette_runs_with(answers):
    status, body = answers["settings"]
    settings = json.loads(body)
    expected = {k: {"off": False, "on": True}.get(v, v) for k, v in serve.LIMITS.items()}
    assert status == 200 and {k: settings[k] for k in expected} == expected


def _cli_serve(port: int, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "chokepoint_data", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_a_port_in_use_is_refused_before_serving_is_announced():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = _cli_serve(port)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "serving on" not in out
    assert f"port {port} on 127.0.0.1 cannot be used" in err and "--port" in err and "Traceback" not in err


def _alive(pid: int) -> bool:
    try:
        return b"zombie" not in Path(f"/proc/{pid}/status").read_bytes().lower()
    except FileNotFoundError:
        return False


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(x) for x in text.split()]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads child processes from /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_datasette_and_removes_the_temporary_folder(sig):
    port = free_port()
    proc = _cli_serve(port, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    child = None
    try:
        fetch(f"http://127.0.0.1:{port}")  # waits until it answers
        (child,) = _children(proc.pid)
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        db = Path(os.fsdecode(cmdline[cmdline.index(b"--immutable") + 1]))
        assert db.is_file() and db.parent.name.startswith("chokepoint-data-web-")
        proc.send_signal(sig)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        left = child is not None and _alive(child)
        if left:
            os.kill(child, signal.SIGKILL)  # a failing run must not leave the server behind
    assert not left, "Datasette outlived the serve command"
    assert proc.returncode == 128 + sig
    assert not db.parent.exists()
