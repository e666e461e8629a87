"""The keys a gateway signs with: one key, or one per served model (docs/spec/receipt.md §7).

Modules: :mod:`.modelkeys` (the per-model settings, pure data) and :mod:`.keymap`
(opening those keys and choosing one per answer).
"""

from __future__ import annotations

__all__: list[str] = []
