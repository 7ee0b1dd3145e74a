"""Every shell line of the README runs, as written, on a clone of the repository.

The README's fenced ``bash`` blocks (the quick start, the extras, editing the data) and the
``$ ...`` lines of its ``console`` blocks are collected; none is left out. Each line is split at
``&&`` into steps, and each step is one of:

- an install step (make the virtual environment, activate it, ``pip install``): run for real, in a
  fresh virtual environment and offline, by the slow test; the fast test checks that each extra it
  names exists in pyproject.toml;
- a step replaced by a bounded equivalent, listed in ``REPLACED`` with the reason (the test suite
  cannot run itself inside one of its tests);
- any other step: run as written with bash in the clone, ``chokepoint-data`` being this working
  tree's package; it must exit 0.

A step that matches none of these fails the test, so a new README line is run or named here.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: steps that set up an environment: run for real by the slow test only
INSTALL = re.compile(r"^(python3? -m venv \S+|\. \S+/bin/activate|pip install .+)$")
#: steps that cannot run as written inside a test, with the bounded equivalent that is run instead
REPLACED = {
    # the quick start's second command runs this very suite; collecting it proves the test
    # dependencies are installed and every test module imports
    "python -m pytest": "python -m pytest --collect-only -q -p no:cacheprovider",
}
#: steps that cannot pass until another part of issue 18 lands; strict: the day they pass, this fails
EXPECTED_TO_FAIL: dict[str, str] = {}  # a README line known to fail, with the issue that fixes it


def readme_commands(text: str) -> list[str]:
    """The shell lines of a README: every line of a ```bash block, every ``$ `` line of a
    ```console block (comments and blank lines dropped)."""
    commands: list[str] = []
    for lang, body in re.findall(r"^```(bash|sh|shell|console)\n(.*?)^```", text, flags=re.M | re.S):
        for line in body.splitlines():
            if lang == "console":
                if not line.startswith("$ "):
                    continue  # output
                line = line[2:]
            line = _strip_comment(line).strip()
            if line:
                commands.append(line)
    return commands


def _strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (a ``#`` inside quotes stays)."""
    for m in re.finditer(r"(?:^|\s)#", line):
        prefix = line[: m.start()]
        if prefix.count('"') % 2 == 0 and prefix.count("'") % 2 == 0:
            return prefix
    return line


def steps(command: str) -> list[str]:
    return [part.strip() for part in command.split("&&")]


COMMANDS = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_has_the_lines_it_documents():
    joined = "\n".join(COMMANDS)
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install . && chokepoint-data summary" in COMMANDS
    assert 'pip install -e ".[test]" && python -m pytest' in COMMANDS
    assert "chokepoint-data build" in COMMANDS
    assert len([c for c in COMMANDS if c.startswith("chokepoint-data ")]) >= 5, joined


def test_extracting_commands_keeps_quotes_and_drops_comments():
    text = "```bash\n# a comment\npip install 'a[b]'   # why\n```\n\n```console\n$ x --y \"#z\"  # c\nout\n```\n"
    assert readme_commands(text) == ["pip install 'a[b]'", 'x --y "#z"']


def _extras_named(step: str) -> set[str]:
    return {extra for group in re.findall(r"\[([\w,-]+)\]", step) for extra in group.split(",")}


def test_every_extra_the_readme_installs_exists():
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    named = {e for c in COMMANDS for s in steps(c) if INSTALL.match(s) for e in _extras_named(s)}
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    named |= {e for e in re.findall(r"chokepoint-data\[(\w+)\]", text)}
    assert named and named <= extras, named - extras


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A clone of this repository (no tags, as a fresh clone from the forge has none) with this
    working tree's files on top, so uncommitted changes are what runs."""
    dst = tmp_path_factory.mktemp("readme") / "clone"
    subprocess.run(["git", "clone", "-q", "--no-tags", "--no-local", str(ROOT), str(dst)], check=True)
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, files):
        if (ROOT / rel).is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dst / rel)
    return dst


def _bin_dir(tmp: Path, clone: Path) -> Path:
    """``chokepoint-data`` and ``python`` as a fresh install would give them: the clone's package."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "chokepoint-data"
    script.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m chokepoint_data "$@"\n')
    script.chmod(0o755)
    for name in ("python", "python3"):  # a script, not a symlink: a venv's python finds its venv by its path
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
        wrapper.chmod(0o755)
    return bin_dir


def _run(line: str, cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-e", "-c", line], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _params():
    for command in COMMANDS:
        marks = []
        if command in EXPECTED_TO_FAIL:
            marks.append(pytest.mark.xfail(strict=True, reason=EXPECTED_TO_FAIL[command]))
        yield pytest.param(command, marks=marks, id=command[:60])


@pytest.mark.parametrize("command", list(_params()))
def test_readme_shell_line_runs_on_a_clone(command, clone, tmp_path):
    env = {**os.environ, "PATH": f"{_bin_dir(tmp_path, clone)}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(clone), "COLUMNS": "100"}
    ran = 0
    for step in steps(command):
        if INSTALL.match(step):
            continue  # the slow test runs it
        step = REPLACED.get(step, step)
        out = _run(step, clone, env)
        assert out.returncode == 0, (step, out.stdout[-2000:], out.stderr[-2000:])
        ran += 1
    if not ran:  # an install-only line: what it names must exist (the slow test installs it)
        assert all(_extras_named(s) or s.startswith(("python3 -m venv", ". ")) or s.endswith(" .")
                   for s in steps(command)), command


@pytest.mark.slow
def test_quick_start_installs_into_a_fresh_venv_offline(clone, tmp_path):
    """The quick start and the extras, verbatim (but the pytest run, see ``REPLACED``), in a new
    virtual environment, offline: pip finds the dependencies already installed here."""
    site = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(PATH=f"{_bin_dir(tmp_path, clone)}{os.pathsep}{os.environ['PATH']}", PIP_NO_INDEX="1",
               PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONPATH=os.pathsep.join(sorted(site)))
    shutil.rmtree(clone / ".venv", ignore_errors=True)
    lines = [c for c in COMMANDS if any(INSTALL.match(s) for s in steps(c))]
    script = " && ".join(REPLACED.get(s, s) for c in lines for s in steps(c))
    script += " && command -v chokepoint-data && python -c 'import chokepoint_data; print(chokepoint_data.__file__)'"
    out = _run(script, clone, env, timeout=1200)
    assert out.returncode == 0, out.stderr[-3000:]
    assert str(clone / ".venv" / "bin" / "chokepoint-data") in out.stdout
    assert str(clone) in out.stdout.splitlines()[-1]
