"""chokepoint-data: a curated, cited, validated dataset of China's industrial choke points.

>>> import chokepoint_data as cd
>>> cd.list_tables()[:2]
['sources', 'chokepoints']

Importing the package is cheap: pandas, pyarrow and pandera load on first use.
"""

from ._errors import (
    ArgumentError,
    BuildError,
    ChokepointDataError,
    DescriptorError,
    ExportError,
    IntegrityError,
    MissingExtraError,
    UnknownIdError,
    UnknownTableError,
    ValidationError,
)
from ._version import __version__

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would double the import time
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

    from . import analysis, build, diff, export, figures, serve
    from .answers._citation import citation
    from .answers._claims import claims
    from .answers._helpers import append, targets, timeline
    from .answers._policies import in_force, policy_state
    from .store._loader import datapackage, describe, list_tables, load, load_all, sources_for
    from .rules._failures import Failure, Failures
    from .rules._validate import schema, validate
    from .answers.analysis import concentration, status

__all__ = [
    "__version__",
    "load",
    "load_all",
    "list_tables",
    "describe",
    "datapackage",
    "schema",
    "validate",
    "citation",
    "sources_for",
    "status",
    "concentration",
    "claims",
    "timeline",
    "targets",
    "append",
    "in_force",
    "policy_state",
    "ChokepointDataError",
    "UnknownTableError",
    "UnknownIdError",
    "MissingExtraError",
    "IntegrityError",
    "DescriptorError",
    "ValidationError",
    "BuildError",
    "ExportError",
    "ArgumentError",
    "Failure",
    "Failures",
]

_LAZY = {
    "load": "store._loader",
    "load_all": "store._loader",
    "list_tables": "store._loader",
    "describe": "store._loader",
    "datapackage": "store._loader",
    "schema": "rules._validate",
    "sources_for": "store._loader",
    "validate": "rules._validate",
    "Failure": "rules._failures",
    "Failures": "rules._failures",
    "citation": "answers._citation",
    "status": "answers.analysis",
    "concentration": "answers.analysis",
    "claims": "answers._claims",
    "timeline": "answers._helpers",
    "targets": "answers._helpers",
    "append": "answers._helpers",
    "in_force": "answers._policies",
    "policy_state": "answers._policies",
}


#: The documented modules (each an alias of the wing module it names): ``chokepoint_data.figures``
#: works after a bare ``import chokepoint_data``, as ``from chokepoint_data import figures`` does.
_MODULES = ("analysis", "build", "diff", "export", "figures", "serve")


def __getattr__(name: str) -> "Any":
    module = _LAZY.get(name)
    if module is None and name not in _MODULES:
        raise AttributeError(f"module 'chokepoint_data' has no attribute {name!r}")
    import importlib

    if module is None:  # a documented module: importing it sets the attribute too
        value = importlib.import_module(f".{name}", __name__)
    else:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_MODULES))
