"""Every writer (exports, ClaimReview, figures) never destroys and never hangs.

A user's own files are never replaced or deleted (a CSV re-export keeps what the user added
to the folder by refusing), special files (FIFO, device, socket) are refused even with
``--force`` and never opened, links and bad paths are named as what they are, a failed
write names its target and what to do, and Ctrl-C leaves the target intact and says so.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from chokepoint_data import ExportError, export as ex
from chokepoint_data.answers import _claims
from chokepoint_data.store import _atomic, _targets

FILE_FORMATS = ("xlsx", "sqlite", "duckdb")
ALL_TARGETS = ("csv", *FILE_FORMATS, "claimreview", "figures")


def cli(*args: str, timeout: float = 120, cwd: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return subprocess.run([sys.executable, "-m", "chokepoint_data", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd, stdin=subprocess.DEVNULL)


def write_args(kind: str, out: Path | str, *extra: str) -> list[str]:
    if kind == "figures":
        return ["figures", "--out", str(out), *extra]
    return ["export", "--format", kind, "--out", str(out), *extra]


def refused(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ----------------------------------------------------------------- the CSV folder keeps the user's files


def test_csv_reexport_never_deletes_a_file_the_user_added(tmp_path):
    data = tmp_path / "data"
    assert cli(*write_args("csv", data)).returncode == 0
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    (data / "analysis.ipynb").write_text("x\n")
    for extra in ((), ("--force",)):
        result = cli(*write_args("csv", data, *extra))
        refused(result, "analysis.ipynb", "did not write", "move them")
        assert (data / "analysis.ipynb").read_text() == "x\n"
        assert {p.name: p.read_bytes() for p in data.iterdir() if p.name != "analysis.ipynb"} == before
    assert leftovers(tmp_path) == []
    (data / "analysis.ipynb").unlink()
    assert cli(*write_args("csv", data)).returncode == 0  # what the package wrote may be replaced


def test_csv_reexport_refuses_a_folder_the_user_added(tmp_path, package):
    out = tmp_path / "out"
    ex.to_csv(package, out)
    (out / "plots").mkdir()
    (out / "plots" / "a.png").write_bytes(b"png")
    with pytest.raises(ExportError, match=r"plots/"):
        ex.to_csv(package, out, force=True)
    assert (out / "plots" / "a.png").read_bytes() == b"png"


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_csv_file_added_during_the_export_is_kept(tmp_path, package, monkeypatch, exchange):
    """A file that appears between the check and the swap: the swap is undone, the file kept."""
    out = tmp_path / "out"
    ex.to_csv(package, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    if not exchange:
        monkeypatch.setattr(_atomic, "_exchange", lambda a, b: False)

    def hook(name):
        if name == "replace":
            (out / "late.txt").write_text("mine")

    monkeypatch.setattr(_atomic, "_STEP_HOOK", hook)
    with pytest.raises(ExportError, match="late.txt"):
        ex.to_csv(package, out)
    assert (out / "late.txt").read_text() == "mine"
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != "late.txt"} == before
    assert leftovers(tmp_path) == []


def test_csv_reexport_replaces_tables_an_older_manifest_lists(tmp_path, package):
    out = tmp_path / "out"
    ex.to_csv(package, out)
    manifest = json.loads((out / "_manifest.json").read_text())
    manifest["files"]["retired.csv"] = {"table": "retired", "rows": 0}
    (out / "_manifest.json").write_text(json.dumps(manifest))
    (out / "retired.csv").write_text("a\n")
    ex.to_csv(package, out)
    assert not (out / "retired.csv").exists()


def test_csv_force_replaces_our_names_without_a_manifest_but_nothing_else(tmp_path, package):
    out = tmp_path / "out"
    ex.to_csv(package, out)
    (out / "_manifest.json").unlink()
    with pytest.raises(ExportError, match="did not write"):
        ex.to_csv(package, out)
    ex.to_csv(package, out, force=True)
    assert (out / "_manifest.json").exists()


# ----------------------------------------------------------------- CSV text: line breaks are quoted


BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet=st.one_of(st.sampled_from(BREAKS + ',"\' a=-'), st.characters(blacklist_categories=("Cs",))),
                        max_size=12), min_size=1, max_size=6))
def test_csv_reads_back_with_the_rows_its_manifest_counts(texts):
    schema = {"fields": [{"name": "id", "type": "integer"}, {"name": "t", "type": "string"}]}
    frame = pd.DataFrame({"id": range(len(texts)), "t": pd.array(texts, dtype="string")})
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        ex.to_csv(ex.Package(tables={"t": frame}, schemas={"t": schema}), out)
        rows = json.loads((out / "_manifest.json").read_text())["files"]["t.csv"]["rows"]
        raw = (out / "t.csv").read_bytes().decode("utf-8")
    back = pd.read_csv(io.StringIO(raw), dtype=str, keep_default_na=False)
    assert len(back) == rows == len(texts)
    assert back["t"].tolist() == texts
    import csv

    assert len(list(csv.reader(io.StringIO(raw, newline="")))) == rows + 1


def test_csv_bare_carriage_return_is_quoted(tmp_path):
    schema = {"fields": [{"name": "t", "type": "string"}]}
    ex.to_csv(ex.Package(tables={"t": pd.DataFrame({"t": ["a\rb", "c"]})}, schemas={"t": schema}), tmp_path / "o")
    assert len(pd.read_csv(tmp_path / "o" / "t.csv")) == 2
    assert b'"a\rb"' in (tmp_path / "o" / "t.csv").read_bytes()


def test_csv_lone_surrogate_is_refused_by_table(tmp_path):
    schema = {"fields": [{"name": "t", "type": "string"}]}
    with pytest.raises(ExportError, match=r"table 't'.*surrogate"):
        ex.to_csv(ex.Package(tables={"t": pd.DataFrame({"t": pd.Series(["a\ud800b"], dtype=object)})}, schemas={"t": schema}), tmp_path / "o")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------- special files: refused, never opened


def _special_target(tmp_path: Path, kind: str) -> Path:
    if kind == "figures":
        (tmp_path / "figs").mkdir()
        return tmp_path / "figs" / "status.svg"
    return tmp_path / ("x" if kind == "csv" else f"x.{kind}")


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
@pytest.mark.parametrize("kind", ALL_TARGETS)
def test_fifo_target_is_refused_not_waited_on(tmp_path, kind, force):
    fifo = _special_target(tmp_path, kind)
    os.mkfifo(fifo)
    out = fifo.parent if kind == "figures" else fifo
    result = cli(*write_args(kind, out, *(["--force"] if force else [])), timeout=90)
    refused(result, "FIFO", str(fifo), "even with --force")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert leftovers(fifo.parent) == []


@pytest.mark.parametrize("kind", ["sqlite", "claimreview", "csv"])
def test_link_to_this_process_stdout_is_refused(tmp_path, kind):
    """``/proc/self/fd/1`` is the writer's own stdout (a pipe here): never written into."""
    if not Path("/proc/self/fd/1").exists():
        pytest.skip("no /proc")
    link = tmp_path / ("x" if kind == "csv" else f"x.{kind}")
    link.symlink_to("/proc/self/fd/1")
    result = cli(*write_args(kind, link, "--force"), timeout=90)
    refused(result, "symbolic link to /proc/self/fd/1")
    assert link.is_symlink()


@pytest.mark.parametrize("mode", [stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK], ids=["char", "block", "socket"])
def test_device_or_socket_is_refused_even_with_force(tmp_path, monkeypatch, mode):
    """A /dev/null-like target (the real one is never touched): the check and the writer refuse it."""
    target = tmp_path / "null"
    target.write_bytes(b"stand-in")
    fake = os.stat_result((mode | 0o666, 0, 0, 1, 0, 0, 0, 0, 0, 0))
    real_lstat = os.lstat
    monkeypatch.setattr(os, "lstat", lambda p, *a, **k: fake if Path(p) == target else real_lstat(p, *a, **k))
    with pytest.raises(ExportError, match="never"):
        _targets.check_file(target, force=True, owned=None, kind="sqlite")
    with pytest.raises(ExportError, match="never replaces special files"):
        _atomic.write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"stand-in"


def test_writer_itself_refuses_a_fifo(tmp_path):
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    with pytest.raises(ExportError, match="FIFO"):
        _atomic.write_bytes(fifo, b"x")
    with pytest.raises(ExportError, match="FIFO"):
        _atomic.write_folder(fifo, lambda f: None, ours=())
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and leftovers(tmp_path) == []


# ----------------------------------------------------------------- links, odd paths, interrupted writes


@pytest.mark.parametrize("kind", ["sqlite", "claimreview", "csv"])
def test_dangling_link_is_named_as_such(tmp_path, kind):
    link = tmp_path / ("x" if kind == "csv" else f"x.{kind}")
    link.symlink_to(tmp_path / "gone")
    result = cli(*write_args(kind, link))
    refused(result, "dangling", str(link))
    assert "read-only" not in result.stderr
    assert link.is_symlink()


def test_link_to_a_users_file_is_not_followed_or_replaced_without_force(tmp_path):
    mine = tmp_path / "mine.jsonld"
    mine.write_text("mine")
    link = tmp_path / "x.jsonld"
    link.symlink_to(mine)
    refused(cli(*write_args("claimreview", link)), "symbolic link", "--force")
    assert link.is_symlink() and mine.read_text() == "mine"
    assert cli(*write_args("claimreview", link, "--force")).returncode == 0
    assert not link.is_symlink() and mine.read_text() == "mine"  # the link replaced, never what it pointed to


@pytest.mark.parametrize("kind", ["sqlite", "csv", "claimreview", "figures"])
def test_unknown_user_in_path_is_a_message(tmp_path, kind):
    refused(cli(*write_args(kind, "~chokepoint_no_such_user_x9/out.x")), "~chokepoint_no_such_user_x9", "not known")


@pytest.mark.parametrize("kind", ["figures", "claimreview", "sqlite"])
def test_empty_path_is_refused(tmp_path, kind):
    result = cli(*write_args(kind, ""), cwd=str(tmp_path))
    refused(result, "empty")
    assert list(tmp_path.iterdir()) == []


def test_duckdb_export_interrupted_by_ctrl_c_keeps_the_target_and_says_so(tmp_path):
    out = tmp_path / "x.duckdb"
    assert cli(*write_args("duckdb", out)).returncode == 0
    before = out.read_bytes()
    script = textwrap.dedent("""
        import os, signal, sys
        from chokepoint_data.store import _atomic
        from chokepoint_data.cli import main
        def hook(name):
            if name == "write:sources":
                os.kill(os.getpid(), signal.SIGINT)
        _atomic._STEP_HOOK = hook
        sys.exit(main(["export", "--format", "duckdb", "--out", sys.argv[1]]))
    """)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    result = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip().splitlines() == [f"chokepoint-data: interrupted; {out} is unchanged"], result.stderr
    assert out.read_bytes() == before
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------- failed writes name the target


def test_full_disk_is_the_packages_error_naming_the_target(tmp_path, monkeypatch):
    target = tmp_path / "claims.jsonld"
    _claims.write_claimreview(target)
    before = target.read_bytes()

    def full(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(ExportError) as err:
        _claims.write_claimreview(target)
    monkeypatch.undo()
    message = str(err.value)
    assert str(target) in message and "disk is full" in message and "unchanged" in message
    assert ".tmp" not in message
    assert target.read_bytes() == before and leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["claimreview", "sqlite", "figures"])
def test_read_only_folder_names_the_target_not_the_temporary_file(tmp_path, monkeypatch, kind):
    """Root-independent: the folder refuses the temporary file (as a read-only one would)."""
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".x.abc.tmp"))

    monkeypatch.setattr(_atomic.tempfile, "mkdtemp", denied)
    with pytest.raises(ExportError) as err:
        if kind == "claimreview":
            _claims.write_claimreview(tmp_path / "c.jsonld")
        elif kind == "sqlite":
            ex.export("sqlite", tmp_path / "x.sqlite")
        else:
            from chokepoint_data import figures

            figures.write_figures(tmp_path, names=["status"])
    assert ".tmp" not in str(err.value) and str(tmp_path) in str(err.value) and "may not write" in str(err.value)


def test_read_only_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m, *a, **k: False if Path(p) == tmp_path else real(p, m, *a, **k))
    for call in (lambda: _claims.write_claimreview(tmp_path / "c.jsonld"), lambda: ex.export("sqlite", tmp_path / "x.sqlite")):
        with pytest.raises(ExportError, match="read-only"):
            call()
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------- ClaimReview: the same checks as every export


def test_claimreview_does_not_replace_a_foreign_or_read_only_file_without_force(tmp_path, monkeypatch):
    target = tmp_path / "claims.jsonld"
    target.write_text("someone's notes")
    refused(cli(*write_args("claimreview", target)), "not written by chokepoint-data", "--force")
    assert target.read_text() == "someone's notes"
    assert cli(*write_args("claimreview", target, "--force")).returncode == 0
    assert cli(*write_args("claimreview", target)).returncode == 0  # our own file: replaced without --force
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m, *a, **k: False if Path(p) == target else real(p, m, *a, **k))
    with pytest.raises(ExportError, match="read-only"):
        _claims.write_claimreview(target)


# ----------------------------------------------------------------- figures: check every target first


def test_figures_do_not_overwrite_a_users_svg_without_force(tmp_path):
    (tmp_path / "status.svg").write_text("<svg>mine</svg>")
    refused(cli("figures", "--out", str(tmp_path)), "status.svg", "not written by chokepoint-data")
    assert [p.name for p in tmp_path.iterdir()] == ["status.svg"]  # nothing else written either
    assert (tmp_path / "status.svg").read_text() == "<svg>mine</svg>"


def test_figures_check_every_target_before_writing_any(tmp_path):
    (tmp_path / "status.svg").mkdir()
    for extra in ((), ("--force",)):
        refused(cli("figures", "--out", str(tmp_path), *extra), str(tmp_path / "status.svg"), "it is a folder")
        assert [p.name for p in tmp_path.iterdir()] == ["status.svg"]


@pytest.fixture(scope="module")
def package():
    return ex.shipped()
