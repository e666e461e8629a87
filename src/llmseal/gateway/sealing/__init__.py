"""Sealing: an upstream answer becomes the same answer plus a stored receipt.

Modules: :mod:`.sealing` (the :class:`~.sealing.Sealer`: signs, stores, logs),
:mod:`.request` (what the request says), :mod:`._sse` and :mod:`._ndjson` (SSE and
NDJSON streams), :mod:`.hop` (verifying an upstream gateway's receipt) and
:mod:`._protocol` (the error of an answer that cannot be sealed).
"""

from __future__ import annotations

__all__: list[str] = []
