"""C2SP signed notes, vkeys, checkpoints and witness cosignatures.

Modules: :mod:`.note`, :mod:`.notekeys`, :mod:`.checkpoint`, :mod:`.cosignature`.
"""

from __future__ import annotations

__all__: list[str] = []
