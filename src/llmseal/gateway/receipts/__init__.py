"""What the gateway does with receipts once signed: the transparency log and the receipt API.

Modules: :mod:`.receipt_log` (every delivered receipt goes to the log),
:mod:`.logclient` (an embedded or a remote log) and :mod:`.api` (``/v1/receipts/...``).
"""

from __future__ import annotations

__all__: list[str] = []
