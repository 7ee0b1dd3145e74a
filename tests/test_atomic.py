"""The one atomic writer (``chokepoint_data.store._atomic``): killed or failed at any step, a
target is the old one byte for byte or the new one complete, and the next write cleans up.

Build, export, figures, claims and serve all write through it; their own tests check that
they do (``test_build``, ``test_export``), these check the writer itself.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chokepoint_data.store import _atomic

KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from chokepoint_data.store import _atomic
    kind, target, step = sys.argv[1:4]
    target = Path(target)
    def hook(name):
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)
    _atomic._STEP_HOOK = hook
    def half_then(tmp, data):  # the "write" step: killed with the new content half written
        tmp.write_bytes(data[:3])
        hook("write")
        tmp.write_bytes(data)
    if kind == "file":
        _atomic.write_file(target, lambda tmp: half_then(tmp, b"new content"))
    elif kind == "folder":
        def fill(folder):
            (folder / "a.csv").write_bytes(b"new a")
            hook("write")
            (folder / "b.csv").write_bytes(b"new b")
        _atomic.write_folder(target, fill, ours={"a.csv", "old.csv"})
    else:
        _atomic.write_files({target / "one.txt": b"new one", target / "sub" / "two.txt": b"new two"})
    print("finished without reaching", step)
""")

NEW = {"file": {"t.bin": b"new content"}, "folder": {"a.csv": b"new a", "b.csv": b"new b"},
       "files": {"one.txt": b"new one", "sub/two.txt": b"new two"}}
OLD = {"file": {"t.bin": b"old content"}, "folder": {"a.csv": b"old a", "old.csv": b"gone after"},
       "files": {"one.txt": b"old one", "sub/two.txt": b"old two"}}


def _make(base: Path, kind: str) -> Path:
    """The target of ``kind`` holding the old content."""
    target = base / {"file": "t.bin", "folder": "out", "files": "out"}[kind]
    if kind == "file":
        target.write_bytes(OLD[kind]["t.bin"])
        return target
    for rel, data in OLD[kind].items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)
    return target


def _content(base: Path, kind: str) -> dict[str, bytes]:
    if kind == "file":
        return {"t.bin": (base / "t.bin").read_bytes()}
    out = base / "out"
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)}


def _leftovers(base: Path) -> list[str]:
    return sorted(str(p.relative_to(base)) for p in base.rglob(".*"))


def _write(target: Path, kind: str) -> None:
    if kind == "file":
        _atomic.write_bytes(target, NEW[kind]["t.bin"])
    elif kind == "folder":
        _atomic.write_folder(target, lambda f: [(f / n).write_bytes(d) for n, d in NEW[kind].items()],
                             ours={*OLD[kind], *NEW[kind]})
    else:
        _atomic.write_files({target / rel: data for rel, data in NEW[kind].items()})


STEPS = {"file": ["write", "written", "replace", "replaced"],
         "folder": ["write", "written", "replace", "replaced"],
         "files": ["write:one.txt", "write:two.txt", "replace", "replaced:one.txt", "replaced:two.txt"]}


@pytest.mark.parametrize(("kind", "step"), [(k, s) for k, steps in STEPS.items() for s in steps])
def test_killed_write_leaves_old_intact_or_new_complete(tmp_path, kind, step):
    target = _make(tmp_path, kind)
    result = subprocess.run([sys.executable, "-c", KILL_SCRIPT, kind, str(target), step], capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr
    if step == "replaced" or step == "replaced:two.txt":  # killed after the (last) rename: the new, complete
        assert _content(tmp_path, kind) == NEW[kind]
    elif step == "replaced:one.txt":  # a kill between the renames of a set: each file old or new, whole
        assert _content(tmp_path, kind) == {"one.txt": b"new one", "sub/two.txt": b"old two"}
    else:  # killed before it: the old, byte for byte
        assert _content(tmp_path, kind) == OLD[kind]
        assert _leftovers(tmp_path), "a killed write leaves its temporary folder (removed by the next write)"
    _write(target, kind)  # the next write cleans up and completes
    assert _leftovers(tmp_path) == []
    assert _content(tmp_path, kind) == NEW[kind]


@pytest.mark.parametrize("kind", ["file", "folder", "files"])
def test_failed_write_leaves_old_bytes_and_no_temp(tmp_path, kind, monkeypatch):
    target = _make(tmp_path, kind)

    class Boom(Exception):
        pass

    def hook(name):
        if name in ("written", "write:two.txt"):
            raise Boom(name)

    monkeypatch.setattr(_atomic, "_STEP_HOOK", hook)
    with pytest.raises(Boom):
        _write(target, kind)
    assert _content(tmp_path, kind) == OLD[kind]
    assert _leftovers(tmp_path) == []


def test_error_inside_the_write_leaves_old_file_and_no_temp(tmp_path):
    target = _make(tmp_path, "file")

    def write(tmp):
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _atomic.write_file(target, write)
    assert target.read_bytes() == b"old content"
    assert _leftovers(tmp_path) == []


def test_failure_between_renames_of_a_set_rolls_back_and_removes_new_folders(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "one.txt").write_bytes(b"old one")

    def hook(name):
        if name == "replaced:two.txt":
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(_atomic, "_STEP_HOOK", hook)
    with pytest.raises(OSError, match="No space left"):
        _atomic.write_files({out / "one.txt": b"new one", out / "sub" / "two.txt": b"new two"})
    assert sorted(p.name for p in out.iterdir()) == ["one.txt"]  # two.txt removed, sub/ too
    assert (out / "one.txt").read_bytes() == b"old one"


def test_folder_swap_fallback_restores_old_folder_if_killed_between_renames(tmp_path, monkeypatch):
    """Where the atomic exchange is unavailable the folder is swapped by two renames; a stop
    between them leaves the old folder aside, and the next write puts it back first."""
    target = _make(tmp_path, "folder")
    monkeypatch.setattr(_atomic, "_exchange", lambda a, b: False)

    class Killed(BaseException):
        pass

    def hook(name):
        if name == "swap":
            raise Killed()

    monkeypatch.setattr(_atomic, "_STEP_HOOK", hook)
    monkeypatch.setattr(_atomic.shutil, "rmtree", lambda *a, **k: None)  # a real kill runs no cleanup
    with pytest.raises(Killed):
        _write(target, "folder")
    assert not target.exists()
    monkeypatch.undo()
    _atomic.clean_stale(target)
    assert _content(tmp_path, "folder") == OLD["folder"]
    _write(target, "folder")
    assert _leftovers(tmp_path) == []
    assert _content(tmp_path, "folder") == NEW["folder"]


def test_stale_temps_of_other_names_are_left_alone(tmp_path):
    target = _make(tmp_path, "file")
    stale = [tmp_path / ".t.bin.k1ll3d.tmp", tmp_path / ".t.bin.abc_12.old"]
    keep = [tmp_path / ".notes.tmp", tmp_path / ".t.bin.tmp", tmp_path / ".other.bin.abc.tmp"]
    for p in stale + keep:
        p.write_bytes(b"half")
    _atomic.write_bytes(target, b"new")
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in keep)


def test_written_file_and_folder_get_the_mode_of_a_plain_open(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    _atomic.write_bytes(tmp_path / "f.txt", b"x")
    _atomic.write_folder(tmp_path / "d", lambda folder: (folder / "a").write_bytes(b"a"), ours=())
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~mask


def _write_one(target: Path, kind: str) -> Path:
    if kind == "file":
        return _atomic.write_file(target, lambda tmp: tmp.write_bytes(b"new"))
    return _atomic.write_folder(target, lambda d: (d / "a.txt").write_bytes(b"new"), ours={"a.txt"})


@pytest.mark.parametrize("kind", ["file", "folder"])
@pytest.mark.parametrize(("at", "raise_", "ending"), [
    ("replace", OSError, "it is unchanged"),
    ("replaced", OSError, "it holds the new output"),
    ("replace", KeyboardInterrupt, "is unchanged"),
    ("replaced", KeyboardInterrupt, "already holds the new output, complete"),
])
def test_a_failure_says_whether_the_target_already_holds_the_new_output(tmp_path, monkeypatch, kind, at, raise_, ending):
    """Before the rename the target is unchanged; after it, the error says the new output is in
    place (a reviewer's check, kept: only the 'unchanged' wording was tested before)."""
    import errno

    from chokepoint_data._errors import ExportError

    def hook(name: str) -> None:
        if name == at:
            raise OSError(errno.ENOSPC, "No space left on device") if raise_ is OSError else KeyboardInterrupt()

    monkeypatch.setattr(_atomic, "_STEP_HOOK", hook)
    with pytest.raises(ExportError if raise_ is OSError else KeyboardInterrupt) as err:
        _write_one(tmp_path / ("out.txt" if kind == "file" else "out"), kind)
    assert str(err.value).endswith(ending), str(err.value)
    assert err.value.__suppress_context__ and err.value.__cause__ is None


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_other_exceptions_pass_through_the_writers_unchanged(tmp_path, monkeypatch, kind):
    def hook(name: str) -> None:
        if name == "replaced":
            raise ValueError("x")

    monkeypatch.setattr(_atomic, "_STEP_HOOK", hook)
    with pytest.raises(ValueError, match="^x$"):
        _write_one(tmp_path / ("out.txt" if kind == "file" else "out"), kind)
