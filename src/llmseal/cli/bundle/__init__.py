"""``llmseal bundle``: create, verify and show evidence bundles.

Modules: :mod:`._bundle` (the group, ``create``), :mod:`._verify` (``verify``, ``show``).
"""

__all__: list[str] = []
