"""``chokepoint_data.analysis``, the documented module: a face with no code of its own.

The analysis (status(), concentration()) lives in ``chokepoint_data/answers/analysis.py``. Importing this name gives that module
itself (the same object, not a copy), so every name documented here, and anything a test
patches, is the one the code uses.
"""

import sys

from .answers import analysis as _module

sys.modules[__name__] = _module
