"""The answers: what the data says, computed at call time and never stored.

What lives here: ``status()`` and ``concentration()`` (``analysis``); ``timeline()``,
``targets()`` and ``append()`` (``_helpers``); ``claims()`` and the ClaimReview export of
them (``_claims``); ``citation()`` (``_citation``); the summary the README tour prints
(``_summary``). Each takes the tables (or loads them) and returns a frame or text.

What it may import: pandas and the standard library; of this package ``store``, ``rules``
and the top-level ``_errors`` and ``_version``; never ``outputs`` or ``release``.
"""
