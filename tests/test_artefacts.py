"""Release artefacts: the same commit builds the same bytes, and they hold what they should.

"Schemas" in the wheel: the Table Schemas of schemas/*.json travel inside the packaged
descriptor (chokepoint_data/datapackage.json, one `schema` per resource), which is what the
loader, validate() and R/JS readers use; the wheel carries no second copy of them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".git", ".venv*", ".nox", "__pycache__", "*.pyc", ".pytest_cache",
                                ".hypothesis", "dist", "build", "*.egg-info", ".mypy_cache")


def epoch() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "1700000000"


def build(src: Path, out: Path) -> tuple[Path, Path]:
    """sdist, then the wheel built from that sdist (as `python -m build` does), offline."""
    env = {**__import__("os").environ, "SOURCE_DATE_EPOCH": epoch()}
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("artefacts")
    # a second checkout of the same files at another path, with fresh modification times
    copy = base / "copy"
    shutil.copytree(ROOT, copy, ignore=IGNORE, copy_function=shutil.copy)
    return build(ROOT, base / "a"), build(copy, base / "b")


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.slow
def test_the_same_commit_builds_the_same_bytes(built):
    (sdist_a, wheel_a), (sdist_b, wheel_b) = built
    assert wheel_a.name == wheel_b.name and sha(wheel_a) == sha(wheel_b)
    assert sdist_a.name == sdist_b.name and sha(sdist_a) == sha(sdist_b)


@pytest.mark.slow
def test_the_wheel_holds_the_package_data_descriptor_and_nothing_else(built):
    (_, wheel), _ = built
    names = zipfile.ZipFile(wheel).namelist()
    package = sorted(n for n in names if not n.startswith("chokepoint_data-"))
    expected = sorted(
        p.relative_to(ROOT).as_posix() for p in (ROOT / "chokepoint_data").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
    )
    assert package == expected
    descriptor = json.loads(zipfile.ZipFile(wheel).read("chokepoint_data/datapackage.json"))
    parquet = sorted(n for n in package if n.startswith("chokepoint_data/data/"))
    assert parquet == sorted(f"chokepoint_data/{r['path']}" for r in descriptor["resources"])
    others = set(package) - set(parquet)
    assert all(n.endswith(".py") for n in others - {"chokepoint_data/py.typed", "chokepoint_data/datapackage.json"})
    assert {"chokepoint_data/py.typed", "chokepoint_data/datapackage.json"} <= others
    # the schemas travel in the descriptor, equal to schemas/<table>.json
    for res in descriptor["resources"]:
        assert res["schema"] == json.loads((ROOT / "schemas" / f"{res['name']}.json").read_text()), res["name"]
        data = zipfile.ZipFile(wheel).read(f"chokepoint_data/{res['path']}")
        assert res["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
    meta = sorted(n.split("/", 1)[1] for n in names if n.startswith("chokepoint_data-"))
    assert meta == ["METADATA", "RECORD", "WHEEL", "entry_points.txt", "licenses/LICENSE", "licenses/LICENSE-DATA"]


@pytest.mark.slow
def test_the_sdist_holds_the_sources_and_no_local_debris(built):
    (sdist, _), _ = built
    with tarfile.open(sdist) as tf:
        names = [m.name.split("/", 1)[1] for m in tf.getmembers() if "/" in m.name]
    tops = {n.split("/")[0] for n in names}
    assert tops <= {"chokepoint_data", "schemas", "curation", "tests", "docs", "benchmarks", "tools", ".ci", "releases.json",
                    ".github", "noxfile.py", "datapackage.json", "README.md", "CHANGELOG.md", "CITATION.cff",
                    ".zenodo.json", "LICENSE", "LICENSE-DATA", "pyproject.toml", "PKG-INFO", ".gitignore"}, tops
    for needed in ("curation/sources.csv", "schemas/sources.json", "tests/conftest.py", ".ci/floors.txt",
                   ".github/workflows/release.yml", "tools/release_check.py", "chokepoint_data/data/sources.parquet"):
        assert needed in names, needed
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or ".venv" in n]


@pytest.mark.slow
def test_the_distributions_pass_twine_and_check_wheel_contents(built):
    (sdist, wheel), _ = built
    bindir = Path(sys.executable).parent
    twine = shutil.which("twine", path=str(bindir)) or shutil.which("twine")
    cwc = shutil.which("check-wheel-contents", path=str(bindir)) or shutil.which("check-wheel-contents")
    assert twine and cwc, "twine and check-wheel-contents come with the test extra"
    out = subprocess.run([twine, "check", "--strict", str(sdist), str(wheel)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    out = subprocess.run([cwc, str(wheel)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
