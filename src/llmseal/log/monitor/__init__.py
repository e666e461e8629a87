"""The log monitor: checkpoints, tiles, entries and witnesses checked.

Modules: :mod:`.monitor`, :mod:`.monitorstate`, :mod:`.receiptcheck`.
"""

from __future__ import annotations

__all__: list[str] = []
