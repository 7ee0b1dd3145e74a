"""Test sessions against the lowest and the newest versions the project allows.

    nox -s floors   # every requirement pinned at its declared floor (.ci/floors.txt)
    nox -s newest   # the newest release of everything the registry serves
    nox -s tests    # the README's test command, as it resolves today

.ci/run and .github/workflows/ci.yml run the same installs; the floors live in one file,
.ci/floors.txt, which tests/test_release.py keeps level with pyproject.toml.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["floors", "newest"]
nox.options.default_venv_backend = "venv"


@nox.session(python="3.11")
def floors(session: nox.Session) -> None:
    """The declared floors on the oldest supported Python."""
    session.install("-c", ".ci/floors.txt", "-e", ".[test]")
    session.run("python", "-m", "pip", "list")
    # the committed SVGs are bytes of the newest matplotlib; the other sessions check them
    session.run("python", "-m", "pytest", "-m", "not slow", "-k", "not test_committed_figure_is_up_to_date and not test_committed_cookbook_is_up_to_date",
                *session.posargs)


@nox.session
def newest(session: nox.Session) -> None:
    """The newest versions, including the slow wheel tests."""
    session.install("--upgrade", "--upgrade-strategy", "eager", "-e", ".[test]")
    session.run("python", "-m", "pip", "list")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)
