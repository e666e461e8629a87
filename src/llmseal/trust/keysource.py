"""Where a key set comes from: a file or an http(s) URL, fetched once or cached.

A key set is cacheable (seed 004: "a verifier need not call the issuer at verify
time"). :class:`CachedKeySet` keeps it for ``ttl`` seconds and refetches once when
it meets an unknown ``key_id`` — a key created since the last fetch — but no more
often than ``min_refresh`` seconds, so a stream of receipts with a bogus key id
cannot turn into a stream of requests to the issuer.

:class:`KeySources` asks several sources in order (a key-set file, then DNS).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import httpx

from llmseal.core.keyset import KeyEntry, KeyResolver, KeySet
from llmseal.core.policy import Policy
from llmseal.errors import KeyLookupError, KeySetError, NetworkError

__all__ = [
    "BoundIssuer",
    "CachedKeySet",
    "KeySources",
    "load_keyset",
    "policy_sources",
    "read_source",
]

MAX_KEYSET_BYTES = 1 << 20


def read_source(source: str, *, timeout: float = 10.0, max_bytes: int = MAX_KEYSET_BYTES) -> bytes:
    """Read a file path or fetch an http(s) URL, with a size limit.

    Raises:
        KeySetError: the file cannot be read or is too large.
        NetworkError: the URL cannot be fetched.
    """
    if source.startswith(("http://", "https://")):
        return _fetch(source, timeout=timeout, max_bytes=max_bytes)
    path = Path(source)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise KeySetError(f"cannot read key set {source}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise KeySetError(f"key set {source} is larger than {max_bytes} bytes")
    return data


def _fetch(url: str, *, timeout: float, max_bytes: int) -> bytes:
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=False) as response:
            if response.status_code != 200:
                raise NetworkError(f"GET {url} answered HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise NetworkError(f"key set at {url} is larger than {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise NetworkError(f"cannot fetch key set {url}: {exc}") from exc


def load_keyset(source: str, *, timeout: float = 10.0) -> KeySet:
    """Load a key set (object with ``keys`` or bare array) from a path or URL."""
    return KeySet.from_json(read_source(source, timeout=timeout))


class CachedKeySet:
    """A :class:`~llmseal.core.keyset.KeyResolver` over a remote key set, with a TTL cache."""

    def __init__(
        self,
        source: str,
        *,
        ttl: float = 300.0,
        min_refresh: float = 5.0,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self._ttl = ttl
        self._min_refresh = min_refresh
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._keyset: KeySet | None = None
        self._fetched_at = float("-inf")

    def resolve(self, key_id: str) -> KeyEntry | None:
        keyset = self._current()
        entry = keyset.resolve(key_id)
        if entry is None and self._clock() - self._fetched_at >= self._min_refresh:
            entry = self._refresh().resolve(key_id)
        return entry

    def keyset(self) -> KeySet:
        """The cached key set, fetched if absent or stale."""
        return self._current()

    def _current(self) -> KeySet:
        keyset = self._keyset
        if keyset is None or self._clock() - self._fetched_at >= self._ttl:
            keyset = self._refresh()
        return keyset

    def _refresh(self) -> KeySet:
        with self._lock:
            keyset = load_keyset(self.source, timeout=self._timeout)
            self._keyset = keyset
            self._fetched_at = self._clock()
            return keyset


class KeySources:
    """Several key sources asked in order; the first that knows the key wins.

    When none does and some said why (:class:`~llmseal.errors.KeyLookupError`),
    the last reason is raised so verification can report it.
    """

    def __init__(self, *sources: KeyResolver) -> None:
        self.sources = sources

    def resolve(self, key_id: str) -> KeyEntry | None:
        reason: KeyLookupError | None = None
        for source in self.sources:
            try:
                entry = source.resolve(key_id)
            except KeyLookupError as exc:
                reason = exc
                continue
            if entry is not None:
                return entry
        if reason is not None:
            raise reason
        return None


class BoundIssuer:
    """A key source whose keys all belong to one issuer (recorded on each entry)."""

    def __init__(self, source: KeyResolver, issuer: str) -> None:
        self.source = source
        self.issuer = issuer

    def resolve(self, key_id: str) -> KeyEntry | None:
        entry = self.source.resolve(key_id)
        if entry is None:
            return None
        return replace(entry, extra=MappingProxyType({**entry.extra, "bound_issuer": self.issuer}))


def policy_sources(policy: Policy, *, cached: bool) -> list[KeyResolver]:
    """The key sets a policy lists, each bound to its issuer when the policy names one."""
    sources: list[KeyResolver] = []
    for location in policy.keysets:
        source: KeyResolver = CachedKeySet(location) if cached else load_keyset(location)
        issuer = policy.keyset_issuers.get(location)
        sources.append(BoundIssuer(source, issuer) if issuer else source)
    return sources
