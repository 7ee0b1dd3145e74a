"""The release machinery: workflows, floors, version agreement, bump check, CI script."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

from chokepoint_data.diff import ReleaseCheckError

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A console script of the test extra, installed next to this Python; missing is a failure."""
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[test]'"
    return found


def release_check():
    spec = importlib.util.spec_from_file_location("release_check", ROOT / "tools" / "release_check.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------- workflows


def test_the_three_workflows_exist():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "release.yml", "links.yml"}


def test_workflows_are_valid_github_workflows():
    out = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_schema_check_can_fail(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    steps: []\n")  # no runs-on
    out = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(bad)],
                         capture_output=True, text=True)
    assert out.returncode != 0


def zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("zizmor"), "--offline", "--no-progress", *map(str, paths)],
                          capture_output=True, text=True)


def test_zizmor_finds_nothing_in_the_workflows():
    out = zizmor(*WORKFLOWS)
    assert out.returncode == 0, out.stdout + out.stderr


def test_zizmor_catches_an_unpinned_action_and_a_template_injection(tmp_path):
    wf = tmp_path / ".github" / "workflows" / "bad.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(
        "on:\n  pull_request_target:\npermissions: write-all\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n"
        "      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    out = zizmor(wf)
    assert out.returncode != 0
    for audit in ("unpinned-uses", "template-injection", "artipacked"):
        assert audit in out.stdout, out.stdout


def uses_lines():
    for path in WORKFLOWS:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(r"^\s*(- )?uses:", line):
                yield path.name, n, line


def test_every_action_is_pinned_to_a_commit_sha_with_its_tag_in_a_comment():
    lines = list(uses_lines())
    assert len(lines) >= 6
    for name, n, line in lines:
        assert re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$", line), f"{name}:{n}: {line.strip()}"


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def test_only_the_publishing_job_can_mint_an_oidc_token_and_no_token_is_stored():
    for path in WORKFLOWS:
        wf = yaml.safe_load(path.read_text())
        assert wf.get("permissions") in ({}, {"contents": "read"}), path.name  # least privilege by default
        text = path.read_text()
        assert "secrets." not in text and "password:" not in text, path.name
        for job_name, job in wf["jobs"].items():
            perms = job.get("permissions") or {}
            if path.name == "release.yml" and job_name == "pypi":
                assert perms == {"id-token": "write"}
                assert "twine upload" in str(job["steps"])
            else:
                assert "id-token" not in perms, (path.name, job_name)


def test_release_runs_on_version_tags_and_checks_before_it_publishes():
    wf = load("release.yml")
    assert wf[True]["push"]["tags"] == ["v[0-9]+.[0-9]+.[0-9]+"]  # PyYAML reads `on` as True
    build = " ".join(str(s.get("run", "")) for s in wf["jobs"]["build"]["steps"])
    for needed in ("tools/release_check.py --tag", "SOURCE_DATE_EPOCH", "python -m build --sdist --wheel",
                   "twine check --strict", "check-wheel-contents", "tools/smoke_test.py", "SHA256SUMS",
                   "datapackage.json"):
        assert needed in build, needed
    assert wf["jobs"]["pypi"]["needs"] == "build"
    assert set(wf["jobs"]["github-release"]["needs"]) == {"build", "pypi"}


def test_ci_covers_three_systems_three_pythons_floors_and_newest():
    wf = load("ci.yml")
    matrix = wf["jobs"]["test"]["strategy"]["matrix"]
    assert set(matrix["os"]) == {"ubuntu-latest", "macos-latest", "windows-latest"}
    assert matrix["python"] == ["3.11", "3.12", "3.13"]
    steps = {j: " ".join(str(s.get("run", "")) for s in job["steps"]) for j, job in wf["jobs"].items()}
    assert 'pip install -e ".[test]" && python -m pytest' in steps["test"]
    assert "-c .ci/floors.txt" in steps["floors"]
    assert "--upgrade-strategy eager" in steps["newest"]
    assert "-m slow" in steps["wheel"]


def test_links_workflow_checks_the_source_urls_on_a_schedule():
    wf = load("links.yml")
    assert wf[True]["schedule"]
    text = (ROOT / ".github" / "workflows" / "links.yml").read_text()
    assert "curation/sources.csv" in text and "lycheeverse/lychee-action@" in text and "gh issue create" in text


# ---------------------------------------------------------------------------------- floors


def floors() -> dict[str, str]:
    pins = {}
    for line in (ROOT / ".ci" / "floors.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.lower()] = version
    return pins


def test_floors_pin_every_declared_requirement_at_its_floor():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = project["project"]["dependencies"] + project["project"]["optional-dependencies"]["test"]
    declared += project["build-system"]["requires"]
    pins = floors()
    for text in declared:
        req = Requirement(text)
        assert req.name.lower() in pins, f"{req.name} has no pin in .ci/floors.txt"
        pin = Version(pins[req.name.lower()])
        assert req.specifier.contains(pin), f"{req.name}=={pin} does not satisfy {req}"
        (floor,) = [Version(s.version) for s in req.specifier if s.operator == ">="]
        assert pin.release[: len(floor.release)] == floor.release, f"{req.name}=={pin} is above the floor {floor}"


def test_the_ci_script_runs_both_and_fails_if_either_fails(tmp_path):
    """.ci/run with stand-in python3/pip: a failing README run is never hidden by the floors run."""
    if sys.platform == "win32":
        pytest.skip(".ci/run is a bash script run on Linux CI; not run on Windows")
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    fake = tmp_path / "fakebin"
    fake.mkdir()
    # `python3 -m venv DIR` makes DIR/bin/{activate,python,pip}; pytest's exit code comes from
    # $EXIT_CI or $EXIT_FLOORS depending on the venv
    (fake / "python3").write_text(
        "#!/usr/bin/env bash\n"
        'if [ "$1 $2" = "-m venv" ]; then d="$3"; mkdir -p "$d/bin"\n'
        '  printf \'PATH="%s:$PATH"\\n\' "$PWD/$d/bin" > "$d/bin/activate"\n'
        '  cat > "$d/bin/python" <<EOF\n#!/usr/bin/env bash\n'
        'case "\\$*" in *pytest*) case "$d" in *floors*) exit \\${EXIT_FLOORS:-0};; *) exit \\${EXIT_CI:-0};; esac;; esac\n'
        'case "\\$*" in *"pip list"*) echo pandas==2.2.0;; esac\nexit 0\nEOF\n'
        '  printf \'#!/usr/bin/env bash\\nexit 0\\n\' > "$d/bin/pip"; chmod +x "$d/bin/python" "$d/bin/pip"; exit 0; fi\n'
        "exit 0\n")
    (fake / "python3").chmod(stat.S_IRWXU)

    def run(ci: int, fl: int) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PATH=f"{fake}{os.pathsep}{os.environ['PATH']}", EXIT_CI=str(ci), EXIT_FLOORS=str(fl))
        return subprocess.run(["bash", str(tmp_path / ".ci" / "run")], cwd=tmp_path, env=env, capture_output=True, text=True)

    ok = run(0, 0)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "README test command passed" in ok.stdout and "floors run passed" in ok.stdout
    for ci, fl in ((1, 0), (0, 1), (5, 0), (0, 5)):
        out = run(ci, fl)
        assert out.returncode != 0, (ci, fl, out.stdout)
        assert "floors run" in out.stdout + out.stderr  # the second run happened either way


# ---------------------------------------------------------------------------------- release check


def release_tree(tmp: Path, version: str = "0.3.0", date: str = "2027-01-15") -> Path:
    (tmp / "chokepoint_data").mkdir(parents=True)
    (tmp / "chokepoint_data" / "_version.py").write_text(f'__version__ = "{version}"\n')
    for rel in ("datapackage.json", "chokepoint_data/datapackage.json"):
        (tmp / rel).write_text('{"name": "x", "version": "%s", "resources": []}' % version)
    (tmp / "CITATION.cff").write_text(f'cff-version: 1.2.0\ntitle: x\nversion: "{version}"\ndate-released: "{date}"\n')
    (tmp / "CHANGELOG.md").write_text(f"# Changelog\n\n## [{version}] - {date}\n\n### Data\n- a row\n\n"
                                      "## [0.1.0] - 2026-01-01\n\n- first\n")
    return tmp


def test_release_check_passes_when_everything_agrees(tmp_path):
    rc = release_check()
    root = release_tree(tmp_path)
    assert rc.check_versions(root, "v0.3.0") == "0.3.0"
    assert rc.changelog_section(root, "0.3.0") == "### Data\n- a row\n"


@pytest.mark.parametrize(("rel", "old", "new", "said"), [
    ("chokepoint_data/_version.py", "0.3.0", "0.3.1", "_version.py says '0.3.1'"),
    ("datapackage.json", "0.3.0", "0.2.9", "datapackage.json says '0.2.9'"),
    ("chokepoint_data/datapackage.json", "0.3.0", "0.4.0", "chokepoint_data/datapackage.json says '0.4.0'"),
    ("CITATION.cff", 'version: "0.3.0"', 'version: "0.2.0"', "CITATION.cff says '0.2.0'"),
    ("CITATION.cff", "2027-01-15", "2027-01-16", "date-released 2027-01-16 differs"),
    ("CHANGELOG.md", "## [0.3.0] - 2027-01-15", "## [0.3.0] - unreleased", "has no date"),
    ("CHANGELOG.md", "## [0.3.0]", "## [0.2.5]", "CHANGELOG.md (newest release heading) says '0.2.5'"),
])
def test_release_check_refuses_each_disagreement(tmp_path, rel, old, new, said):
    rc = release_check()
    root = release_tree(tmp_path)
    path = root / rel
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(ReleaseCheckError, match=re.escape(said)):
        rc.check_versions(root, "v0.3.0")


def test_release_check_refuses_a_bad_tag(tmp_path):
    with pytest.raises(ReleaseCheckError, match="vX.Y.Z"):
        release_check().check_versions(release_tree(tmp_path), "0.3.0")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          check=True, capture_output=True, text=True).stdout


def test_release_check_refuses_a_bump_smaller_than_the_data_diff_needs(tmp_path):
    from test_diff import ITEM_ROWS, ITEMS, write_package

    rc = release_check()
    repo = tmp_path / "repo"
    write_package(repo, {"items": (ITEMS, ITEM_ROWS)}, version="0.1.0")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "0.1.0")
    git(repo, "tag", "v0.1.0")
    smaller = {**ITEMS, "fields": ITEMS["fields"][:3]}  # a field removed: a breaking change
    write_package(repo, {"items": (smaller, [{k: v for k, v in r.items() if k != "year"} for r in ITEM_ROWS])},
                  version="0.1.1")
    git(repo, "commit", "-q", "-am", "drop year")
    assert rc.previous_tag(repo, "HEAD") == "v0.1.0"
    with pytest.raises(ReleaseCheckError, match="at least 0.2.0"):
        rc.check_release_bump(repo, "v0.1.0", "HEAD")
    write_package(repo, {"items": (smaller, [{k: v for k, v in r.items() if k != "year"} for r in ITEM_ROWS])},
                  version="0.2.0")
    git(repo, "commit", "-q", "-am", "0.2.0")
    assert rc.check_release_bump(repo, "v0.1.0", "HEAD").endswith("at least 0.2.0: ok")


def test_release_check_reads_the_live_files():
    found, _, problems = release_check().versions(ROOT)
    assert not [p for p in problems if "cannot be read" in p or "not valid JSON" in p]
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v or "") for v in found.values()), found


def test_zenodo_metadata_matches_the_citation_and_invents_no_doi():
    import json

    zenodo = json.loads((ROOT / ".zenodo.json").read_text())
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert zenodo["upload_type"] == "dataset" and zenodo["title"] == cff["title"]
    assert zenodo["license"].lower() == cff["license"].lower()
    assert "version" not in zenodo  # Zenodo takes it from the release tag; one fewer place to drift
    assert "doi" not in json.dumps(zenodo).lower()  # Zenodo mints it; never written beforehand
    # a DOI enters CITATION.cff only once Zenodo has minted it (docs/RELEASING.md), in DOI form
    for ident in [cff.get("doi")] + [i.get("value") for i in cff.get("identifiers", []) if i.get("type") == "doi"]:
        assert ident is None or re.fullmatch(r"10\.5281/zenodo\.\d+", str(ident)), ident


def test_release_check_reads_past_an_unreleased_section(tmp_path):
    """Work in progress sits under ## [Unreleased] (Keep a Changelog); the newest release
    heading is the one below it."""
    rc = release_check()
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n\n- work\n\n## [0.3.0] - 2027-01-15\n\n- a row\n")
    found, date, problems = rc.versions(tmp_path)
    assert found["CHANGELOG.md (newest release heading)"] == "0.3.0" and date == "2027-01-15"
