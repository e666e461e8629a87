"""What an audit sends: llmseal's own probe banks, phrased like ordinary traffic.

Modules: :mod:`.probebank` (seeded probe banks) and :mod:`.stealth` (probes phrased
like customers' requests, and the cover traffic they hide in).
"""

from __future__ import annotations

__all__: list[str] = []
