"""The wheel: built, installed into a fresh virtual environment, loaded from outside the tree."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile

import pytest

import chokepoint_data as cd


@pytest.mark.slow
def test_wheel_installs_and_loads_every_table_offline(root, tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(root)],
                   check=True, capture_output=True)
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "chokepoint_data/datapackage.json" in names
    assert all(f"chokepoint_data/data/{t}.parquet" in names for t in cd.list_tables())
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    # the new environment sees the dependencies already installed here, but not this source tree
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    with open(f"{site}/zz_deps.pth", "w") as fh:
        fh.write("\n".join(sorted(paths)) + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True)
    code = textwrap.dedent(f"""
        import chokepoint_data as cd, pathlib
        assert pathlib.Path(cd.__file__).is_relative_to({site!r}), cd.__file__
        tables = cd.load_all()
        assert set(tables) == set(cd.list_tables())
        assert all(len(df) for df in tables.values())
        cd.validate()
        print(sum(len(df) for df in tables.values()))
    """)
    out = subprocess.run([str(py), "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) == sum(len(cd.load(t)) for t in cd.list_tables())
    cli = subprocess.run([str(env / "bin" / "chokepoint-data"), "summary"], cwd=tmp_path, capture_output=True, text=True)
    assert cli.returncode == 0 and "chokepoints" in cli.stdout


@pytest.mark.slow
def test_temp_files_never_ship_in_wheel_or_sdist(root, tmp_path):
    """A `.NAME.xxxx.tmp` left by a killed build or export is not packed (issue 12)."""
    import shutil
    import tarfile

    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        if (root / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, src / rel)
    planted = [src / "chokepoint_data" / "data" / ".sources.parquet.k1ll3d.tmp",
               src / "chokepoint_data" / ".datapackage.json.abc.tmp", src / ".datapackage.json.x9.tmp",
               src / "docs" / ".DATA_DICTIONARY.md.q.tmp"]
    for p in planted:
        p.write_bytes(b"half-written")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--sdist", "--no-isolation", "--outdir", str(dist), str(src)],
                   check=True, capture_output=True)
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    names = zipfile.ZipFile(wheel).namelist() + tarfile.open(sdist).getnames()
    assert "chokepoint_data/datapackage.json" in names
    assert not [n for n in names if n.endswith(".tmp")], [n for n in names if n.endswith(".tmp")]
