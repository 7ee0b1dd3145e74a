"""``chokepoint_data.figures``, the documented module: a face with no code of its own.

The figures (``make_figure()``, ``write_figures()``) lives in ``chokepoint_data/outputs/figures.py``. Importing this name gives that module
itself (the same object, not a copy), so every name documented here, and anything a test
patches, is the one the code uses.
"""

import sys

from .outputs import figures as _module

sys.modules[__name__] = _module
