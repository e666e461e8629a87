"""``llmseal serve``: the gateway command.

Modules: :mod:`._serve` (the command), :mod:`._config` (its options and the config file),
:mod:`._log` (the embedded log options).
"""

__all__: list[str] = []
