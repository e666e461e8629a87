"""Routing on evidence: prefer endpoints with good standing, avoid those with adverse evidence.

Modules: :mod:`.ledger` (dated evidence per issuer and model, and the standing it
gives) and :mod:`.router` (picking among the endpoints that sell a model).
"""

from __future__ import annotations

__all__: list[str] = []
