"""``llmseal log``, ``llmseal log monitor``, ``llmseal witness`` and the log checks of ``verify``.

Modules: :mod:`._log` (the group: ``init``, ``serve``, ``check``), :mod:`._monitor`,
:mod:`._witness`; :mod:`._verify_log` and :mod:`._verify_witness` are the
``--log-vkey``/``--witness-policy`` options ``llmseal verify`` shares.
"""

__all__: list[str] = []
