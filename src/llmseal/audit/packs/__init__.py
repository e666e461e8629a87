"""Fingerprint packs: signed bundles of references, announced and fetched from mirrors.

Modules: :mod:`.pack` (the :class:`~.pack.Pack` and its checks), :mod:`.packfile`
(building, parsing, verifying and loading pack files), :mod:`.announce` (a pack's
announcement, with chunk hashes) and :mod:`.packstore` (fetching and keeping packs).
"""

from __future__ import annotations

__all__: list[str] = []
