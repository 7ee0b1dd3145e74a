"""``chokepoint_data.serve``, the documented module: a face with no code of its own.

Serving the data with Datasette (``prepare()``, ``command()``) lives in ``chokepoint_data/outputs/serve.py``. Importing this name gives that module
itself (the same object, not a copy), so every name documented here, and anything a test
patches, is the one the code uses.
"""

import sys

from .outputs import serve as _module

sys.modules[__name__] = _module
