"""The outputs: the data written in other shapes for other tools.

What lives here: ``export()`` (``export``, the front door) with one module per format
(``_csv``, ``_xlsx``, ``_sqlite``, ``_duckdb``; ``_sql`` shared by the two databases,
``_common`` by all: the ``Package`` written, target checks, cell values); the figures
(``figures``, drawing in ``_plots``); Datasette (``serve``); and the terminal: ``show``'s
filter and layout (``_show``) and the command line's safe streams (``_terminal``). Every file or folder is
written through the store's one atomic writer, so a format module holds only its format.

What it may import: anything below it (``store``, ``rules``, ``answers`` and the top-level
``_errors`` and ``_version``); never ``release``. Optional dependencies (openpyxl, duckdb,
matplotlib, datasette) are imported inside the function that needs them.
"""
