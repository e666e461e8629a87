"""Gateway configuration: the settings, the data directory, ``serve --check``, redaction.

Modules: :mod:`.config` (:class:`~.config.GatewayConfig`), :mod:`.datadir` (the data
directory and its key), :mod:`.preflight` (open everything a configuration names)
and :mod:`.redact` (masking secrets before settings are printed).
"""

from __future__ import annotations

__all__: list[str] = []
