"""``chokepoint_data.export``, the documented module: a face with no code of its own.

The export (``export()`` and one module per format) lives in ``chokepoint_data/outputs/export.py``. Importing this name gives that module
itself (the same object, not a copy), so every name documented here, and anything a test
patches, is the one the code uses.
"""

import sys

from .outputs import export as _module

sys.modules[__name__] = _module
