"""Gateway configuration: the settings and data directory, ``serve --check``, redaction.

Modules: :mod:`.config` (:class:`~.config.GatewayConfig` and the data directory),
:mod:`.preflight` (open everything a configuration names) and :mod:`.redact` (masking
secrets before settings are printed).
"""

from __future__ import annotations

__all__: list[str] = []
