"""C2SP tlog-witness: the witness, the log's witnessing, policies, quorums.

Modules: :mod:`.witness`, :mod:`.witnessclient`, :mod:`.witnessdir`, :mod:`.witnessing`,
:mod:`.witnesspolicy`, :mod:`.witnessserver`, :mod:`.witnessstore`, :mod:`.addcheckpoint`,
:mod:`.quorum`.
"""

from __future__ import annotations

__all__: list[str] = []
