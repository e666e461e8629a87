"""``llmseal verify``: one receipt, offline.

Modules: :mod:`._verify` (the command and its key sources), :mod:`._x509` (X.509 chains and
llm_sign envelopes), :mod:`._document` (reading the input), :mod:`._print` (the verdict).
"""

__all__: list[str] = []
