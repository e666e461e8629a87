"""``llmseal serve --weights``: receipts bound to committed weights.

Modules: :mod:`.binding` (the manifest, the served file and its chunk proofs) and
:mod:`.commitment` (the commitment as a logged receipt).
"""

from __future__ import annotations

__all__: list[str] = []
