"""The rules: validation, from a Table Schema and the invariants it cannot say.

What lives here: the bridge from Table Schema to typed frames, Arrow types and pandera
(``_schemas``); column primitives over pandas and Arrow and the canonical dtype of a field
(``_columns``); coercion of any frame to the typed frame (``_coerce``) and the strict parsing
of one column (``_parse``); text hygiene (``_text``); row keys and the values a key may take
(``_keys``); the rules Table Schema cannot say (``_invariants``, with the market sums in
``_markets`` and the claim evidence in ``_evidence``); the failure report (``_failures``:
``Failure`` and ``Failures``); the explanations a person can act on (``_explain``); and
``validate()`` with ``schema()`` (``_validate``).

What it may import: the standard library, pandas, numpy, pyarrow, pandera, pycountry; of
this package the ``store`` wing and the top-level ``_errors`` and ``_version``; nothing of
``answers``, ``outputs`` or ``release``. ``_failures`` imports nothing of the package, so
that ``_errors`` can build a ``ValidationError``'s report from it.
"""
