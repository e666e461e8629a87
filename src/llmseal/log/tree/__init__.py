"""RFC 9162 trees and proofs, C2SP tlog-tiles, the offline tlog-proof.

Modules: :mod:`.merkle`, :mod:`.edge`, :mod:`.tiles`, :mod:`.tilereader`, :mod:`.integrity`,
:mod:`.proof`, :mod:`.httpfetch`, :mod:`.prefetch`.
"""

from __future__ import annotations

__all__: list[str] = []
