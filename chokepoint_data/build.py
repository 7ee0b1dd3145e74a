"""``chokepoint_data.build``, the documented module: a face with no code of its own.

The build (``build()``: curation -> Parquet + descriptor + dictionary) lives in ``chokepoint_data/release/build.py``. Importing this name gives that module
itself (the same object, not a copy), so every name documented here, and anything a test
patches, is the one the code uses.
"""

import sys

from .release import build as _module

sys.modules[__name__] = _module
