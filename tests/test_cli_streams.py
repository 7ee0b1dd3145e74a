"""The command line with an output it cannot fully use: a narrow encoding, a closed stdout."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run(args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m chokepoint_data ARGS`` through sh, so redirections such as ``>&-`` apply."""
    return subprocess.run(["sh", "-c", f'"{sys.executable}" -m chokepoint_data {args}'], capture_output=True,
                          text=True, encoding="utf-8", errors="strict", env={**os.environ, **env}, check=False)


def test_an_ascii_stdout_gets_escapes_for_what_it_cannot_hold():
    out = run("show policies --rows 3", PYTHONIOENCODING="ascii")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr and out.stdout.isascii()
    assert "\\u56fd\\u5bb6" in out.stdout  # 国家, the start of the Big Fund's Chinese name, as escapes


@pytest.mark.parametrize("command", ["list", "show policies", "cite"])
def test_a_closed_stdout_ends_in_one_line_and_a_nonzero_code(command):
    out = run(f"{command} >&-")
    assert out.returncode == 1
    assert out.stderr.strip() == "chokepoint-data: standard output is closed; nothing was printed"


def test_closed_stdout_and_stderr_still_end_without_a_traceback():
    out = run("list >&- 2>&-")
    assert out.returncode == 1 and out.stdout == "" and out.stderr == ""
