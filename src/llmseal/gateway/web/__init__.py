"""The browser side: the verify page, the issuer dashboard and the OpenAPI document.

Modules: :mod:`.routes` (``/verify``, ``/dashboard``), :mod:`.webpage` (the pages as
self-contained documents, from ``static/``), :mod:`.dashboard` and
:mod:`.dashboard_log` (what the dashboard shows), :mod:`.openapi` (``/openapi.json``).
"""

from __future__ import annotations

__all__: list[str] = []
