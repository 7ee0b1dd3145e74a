"""The store: reading a release, and the one way anything is written.

What lives here: the packaged descriptor with its safety checks and sha256 pins
(``_descriptor``), the loader that turns the Parquet files into pyarrow, pandas or polars
tables (``_loader``), the presentation of a typed frame (``_present``), the labelled views
that ``load(labels=True)`` and the database exports add (``_views``), the licence of each
row (``_licences``), opening another release (a wheel, a folder or a git ref) for a diff
(``_packages``), and the one atomic writer that build, export, figures, claims and serve
write through (``_atomic``), with the check of a target each makes first (``_targets``).

What it may import: the standard library, pandas, pyarrow, pycountry, and of this package
only the top-level ``_errors`` and ``_version``; nothing of ``rules``, ``answers``,
``outputs`` or ``release`` (``tests/test_architecture.py`` holds this).
"""
