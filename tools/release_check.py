"""Refuse a release whose versions disagree, or whose version bump is smaller than its data diff needs.

Run from the repository root by .github/workflows/release.yml (and by a maintainer before tagging,
see docs/RELEASING.md):

    python tools/release_check.py --tag v0.2.0 [--previous v0.1.0] [--notes notes.md]

Checks, all reported at once:

1. the tag is vX.Y.Z and X.Y.Z equals chokepoint_data/_version.py, the version of both
   descriptors (datapackage.json, chokepoint_data/datapackage.json), CITATION.cff's `version`,
   and the newest CHANGELOG.md release heading, which must carry a date (`## [X.Y.Z] - YYYY-MM-DD`);
   CITATION.cff's `date-released`, where present, equals that date;
2. against the previous release tag (the newest vX.Y.Z tag reachable from the tag's parent, or
   --previous), the version is at least the smallest bump the version policy allows for the
   data diff (chokepoint_data.diff).

With --notes, writes the CHANGELOG section of this release to that file (release notes).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

from chokepoint_data.diff import ReleaseCheckError, check_bump, diff

TAG = re.compile(r"^v(\d+\.\d+\.\d+)$")
HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>.+?))?\s*$", re.M)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _read(root: Path, rel: str, problems: list[str]) -> str | None:
    try:
        return (root / rel).read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(f"{rel} cannot be read: {exc.strerror}")
        return None


def versions(root: Path) -> tuple[dict[str, str | None], str | None, list[str]]:
    """Every place that states the version -> what it says; the CHANGELOG date; problems."""
    problems: list[str] = []
    found: dict[str, str | None] = {}
    text = _read(root, "chokepoint_data/_version.py", problems)
    if text is not None:
        m = re.search(r'^__version__ = "([^"]+)"', text, re.M)
        found["chokepoint_data/_version.py"] = m[1] if m else None
    for rel in ("datapackage.json", "chokepoint_data/datapackage.json"):
        text = _read(root, rel, problems)
        if text is not None:
            try:
                found[rel] = json.loads(text).get("version")
            except json.JSONDecodeError as exc:
                problems.append(f"{rel} is not valid JSON: {exc}")
    cff_date = None
    text = _read(root, "CITATION.cff", problems)
    if text is not None:
        m = re.search(r'^version:\s*"?([^"\n]+?)"?\s*$', text, re.M)
        found["CITATION.cff"] = m[1] if m else None
        d = re.search(r'^date-released:\s*"?([^"\n]+?)"?\s*$', text, re.M)
        cff_date = d[1] if d else None
    date = None
    text = _read(root, "CHANGELOG.md", problems)
    if text is not None:
        # the newest release: an [Unreleased] section (Keep a Changelog) above it is work in progress
        m = next((h for h in HEADING.finditer(text) if h["version"].strip().lower() != "unreleased"), None)
        found["CHANGELOG.md (newest release heading)"] = m["version"] if m else None
        date = m["date"] if m else None
        if m and (date is None or not DATE.match(date)):
            problems.append(f"CHANGELOG.md: the newest release [{m['version']}] has no date "
                            f"(found {date!r}); write '## [{m['version']}] - YYYY-MM-DD' when cutting it")
        if cff_date is not None and date is not None and cff_date != date:
            problems.append(f"CITATION.cff date-released {cff_date} differs from the CHANGELOG date {date}")
    return found, date, problems


def check_versions(root: Path, tag: str) -> str:
    """The version the tag names, once every file agrees; ReleaseCheckError listing each disagreement."""
    m = TAG.match(tag)
    if not m:
        raise ReleaseCheckError(f"tag {tag!r} is not of the form vX.Y.Z")
    version = m[1]
    found, _, problems = versions(root)
    for where, v in found.items():
        if v != version:
            problems.append(f"{where} says {v!r}, the tag says {version!r}")
    if problems:
        raise ReleaseCheckError("the release is not consistent:\n  - " + "\n  - ".join(problems))
    return version


def previous_tag(root: Path, ref: str) -> str | None:
    """The newest vX.Y.Z tag reachable from ref's parent, or None for a first release."""
    out = subprocess.run(["git", "-C", str(root), "describe", "--tags", "--abbrev=0", "--match", "v[0-9]*",
                          f"{ref}^"], capture_output=True, text=True)
    return out.stdout.strip() or None if out.returncode == 0 else None


def check_release_bump(root: Path, previous: str, ref: str) -> str:
    """Diff previous..ref and refuse ref's version if the bump is smaller than the policy allows."""
    d = diff(previous, ref, repo=root)
    if d.old_version is None or d.new_version is None:
        raise ReleaseCheckError(f"{previous} or {ref}: a descriptor without a version")
    need = check_bump(d.old_version, d.new_version, d.level)
    return f"{previous} ({d.old_version}) -> {ref} ({d.new_version}): data changes need {d.level}, at least {need}: ok"


def changelog_section(root: Path, version: str) -> str:
    text = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    heads = list(HEADING.finditer(text))
    for i, m in enumerate(heads):
        if m["version"] == version:
            end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
            return text[m.end():end].strip() + "\n"
    raise ReleaseCheckError(f"CHANGELOG.md has no section for {version}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tag", required=True, help="the release tag, vX.Y.Z (it may not exist yet: then HEAD is checked)")
    p.add_argument("--root", default=".", help="repository root (default: .)")
    p.add_argument("--previous", default=None, help="previous release tag (default: found with git describe)")
    p.add_argument("--notes", default=None, help="write this release's CHANGELOG section to this file")
    args = p.parse_args(argv)
    root = Path(args.root)
    try:
        version = check_versions(root, args.tag)
        print(f"versions agree: {version}")
        exists = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{args.tag}^{{commit}}"],
                                capture_output=True).returncode == 0
        ref = args.tag if exists else "HEAD"
        previous = args.previous or previous_tag(root, ref)
        if previous is None:
            print("no earlier vX.Y.Z tag: first release, no bump to check")
        else:
            print(check_release_bump(root, previous, ref))
        if args.notes:
            Path(args.notes).write_text(changelog_section(root, version), encoding="utf-8")
    except ReleaseCheckError as exc:
        print(f"release check: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
