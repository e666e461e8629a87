"""Several key sources as one: the first that knows a key id answers."""

from __future__ import annotations

from collections.abc import Sequence

from llmseal.core.keyset import KeyEntry, KeyResolver

__all__ = ["FirstMatch"]


class FirstMatch:
    """A :class:`KeyResolver` over several resolvers (e.g. a policy's key sets)."""

    def __init__(self, resolvers: Sequence[KeyResolver]) -> None:
        self._resolvers = tuple(resolvers)

    def resolve(self, key_id: str) -> KeyEntry | None:
        for resolver in self._resolvers:
            entry = resolver.resolve(key_id)
            if entry is not None:
                return entry
        return None
