"""Sealing: an upstream answer becomes the same answer plus a stored receipt.

Modules: :mod:`.sealing` (the :class:`~.sealing.Sealer`: JSON answers and SSE streams),
:mod:`._ndjson` (NDJSON streams), :mod:`.hop` (verifying an upstream gateway's receipt)
and :mod:`._protocol` (the error of an answer that cannot be sealed).
"""

from __future__ import annotations

__all__: list[str] = []
