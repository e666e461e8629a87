"""What the gateway does with receipts once signed: the transparency log and the receipt API.

Modules: :mod:`.receipt_log` (every delivered receipt goes to the log, embedded or
remote) and :mod:`.api` (``/v1/receipts/...``).
"""

from __future__ import annotations

__all__: list[str] = []
