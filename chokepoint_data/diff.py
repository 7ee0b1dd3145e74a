"""``chokepoint_data.diff``, the documented module: a face with no code of its own.

The diff of two releases (``diff()``, ``check_bump()``, the reports) lives in ``chokepoint_data/release/diff.py``. Importing this name gives that module
itself (the same object, not a copy), so every name documented here, and anything a test
patches, is the one the code uses.
"""

import sys

from .release import diff as _module

sys.modules[__name__] = _module
