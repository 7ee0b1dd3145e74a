"""``chokepoint_data.export``, as documented: a face with no code of its own. Importing it gives
the module ``chokepoint_data.outputs.export`` itself (the same object), where the code lives."""

import sys

from .outputs import export as _module

sys.modules[__name__] = _module

TYPE_CHECKING = False  # for type checkers only: the names this module has at run time
if TYPE_CHECKING:  # pragma: no cover
    from .outputs.export import *  # noqa: F403
