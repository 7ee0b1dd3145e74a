"""The release: making a release and comparing two.

What lives here: the build (``build``: curation CSV + Table Schemas -> validated Parquet,
``datapackage.json`` with its pin, and the data dictionary; reading the curation in
``_curation``), and the diff of two releases (``diff``: rows, schemas and the version bump
the policy asks for), with the classes both the diff and its report use (``_diff_model``) and
the report itself (``_diff_report``: text, markdown, JSON).

What it may import: anything below it (``store``, ``rules``, ``answers`` and the top-level
``_errors`` and ``_version``); never ``outputs``. Every output is written through the
store's one atomic writer.
"""
