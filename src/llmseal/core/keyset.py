"""The published key set, with rotation and revocation history.

Seed 004, "Key set": ``{"keys": [{key_id, public_key, status, created_at,
rotated_at}]}``; the conformance vectors use the bare array, which is accepted too.
Revoked keys stay listed so old receipts can be judged against the timeline:
a key is revoked *for a receipt* iff ``status == "revoked"`` and
``issued_at >= rotated_at`` (seed 004, "Verification flow"). A revoked entry with
no ``rotated_at`` has no timeline, so it is revoked for every receipt (fail closed).

Extension member per entry: ``algorithm`` (``ed25519`` when absent).
Unknown members are kept and written back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal, Protocol

from llmseal.core import _time
from llmseal.core.canonical import loads
from llmseal.core.keys import PublicKey
from llmseal.errors import ContentError, KeySetError

__all__ = ["KeyEntry", "KeyResolver", "KeySet"]

KeyStatus = Literal["active", "revoked"]
_KNOWN = frozenset({"key_id", "public_key", "status", "created_at", "rotated_at", "algorithm"})


class KeyResolver(Protocol):
    """Turns a receipt's ``key_id`` into a key entry (key set, DNS, X.509...)."""

    def resolve(self, key_id: str) -> KeyEntry | None:
        """The entry for ``key_id``, or None if this source does not know it.

        A source may raise :class:`~llmseal.errors.KeyLookupError` instead of
        returning None to say why (verification reports ``unknown_key`` with
        that reason either way).
        """
        ...


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One key of a key set."""

    key_id: str
    public_key: PublicKey
    status: KeyStatus = "active"
    created_at: datetime | None = None
    rotated_at: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def revoked_as_of(self, issued_at: datetime) -> bool:
        """Whether a receipt issued at ``issued_at`` falls under this key's revocation."""
        if self.status != "revoked":
            return False
        return self.rotated_at is None or issued_at >= self.rotated_at

    @property
    def bound_issuer(self) -> str | None:
        """The issuer this key was published for, when its source says so.

        Set by key sources that know it (a policy's ``[keysets]`` table, the domain
        of a DNS key id). A receipt's ``issuer`` claim is the signer's own word; a
        binding is where the verifier found the key, which the signer cannot choose.
        """
        value = self.extra.get("bound_issuer")
        return value if isinstance(value, str) else None

    def issuer_allowed(self, claim: object) -> bool:
        """True unless the key is bound and ``claim`` is not that issuer (or below it)."""
        bound = self.bound_issuer
        if bound is None:
            return True
        return isinstance(claim, str) and (claim == bound or claim.endswith("." + bound))

    def revoked(self, at: datetime) -> KeyEntry:
        """This entry, revoked from ``at`` on."""
        return replace(self, status="revoked", rotated_at=_time.utc(at))

    @classmethod
    def from_dict(cls, data: Any) -> KeyEntry:
        """Parse one key-set entry; raises :class:`KeySetError`."""
        if not isinstance(data, Mapping):
            raise KeySetError("each key-set entry must be a JSON object")
        key_id = data.get("key_id")
        if not isinstance(key_id, str) or not key_id:
            raise KeySetError("key-set entry without a string key_id")
        public = data.get("public_key")
        if not isinstance(public, str):
            raise KeySetError(f"key {key_id!r}: public_key must be a base64 string")
        algorithm = data.get("algorithm", "ed25519")
        if not isinstance(algorithm, str):
            raise KeySetError(f"key {key_id!r}: algorithm must be a string")
        status = data.get("status", "active")
        if status not in ("active", "revoked"):
            raise KeySetError(f"key {key_id!r}: status must be 'active' or 'revoked'")
        try:
            key = PublicKey.from_b64(algorithm, public)
        except KeySetError as exc:
            raise KeySetError(f"key {key_id!r}: {exc}") from None
        return cls(
            key_id=key_id,
            public_key=key,
            status=status,
            created_at=_optional_time(data, "created_at", key_id),
            rotated_at=_optional_time(data, "rotated_at", key_id),
            extra=MappingProxyType({k: v for k, v in data.items() if k not in _KNOWN}),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form (v0.3 members first; ``algorithm`` only when not Ed25519)."""
        out: dict[str, Any] = {
            "key_id": self.key_id,
            "public_key": self.public_key.b64(),
            "status": self.status,
            "created_at": _time.format_utc(self.created_at) if self.created_at else None,
            "rotated_at": _time.format_utc(self.rotated_at) if self.rotated_at else None,
        }
        if self.public_key.algorithm != "ed25519":
            out["algorithm"] = self.public_key.algorithm
        out.update(self.extra)
        return out


def _optional_time(data: Mapping[str, Any], name: str, key_id: str) -> datetime | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise KeySetError(f"key {key_id!r}: {name} must be an RFC 3339 string or null")
    try:
        return _time.parse_lenient(value)
    except ValueError as exc:
        raise KeySetError(f"key {key_id!r}: {exc}") from None


class KeySet:
    """An immutable collection of key entries, indexed by ``key_id``."""

    __slots__ = ("_by_id",)

    def __init__(self, entries: Iterable[KeyEntry] = ()) -> None:
        by_id: dict[str, KeyEntry] = {}
        for entry in entries:
            if entry.key_id in by_id:
                raise KeySetError(f"key set lists key_id {entry.key_id!r} twice")
            by_id[entry.key_id] = entry
        self._by_id = by_id

    @classmethod
    def from_obj(cls, data: Any) -> KeySet:
        """From ``{"keys": [...]}`` or a bare array of entries."""
        if isinstance(data, Mapping):
            if "keys" not in data:
                raise KeySetError("a key set object must have a 'keys' member")
            data = data["keys"]
        if not isinstance(data, list):
            raise KeySetError("a key set is an object with a 'keys' array, or an array")
        return cls(KeyEntry.from_dict(item) for item in data)

    @classmethod
    def from_json(cls, text: bytes | str) -> KeySet:
        """Parse a key set from JSON text."""
        try:
            data = loads(text)
        except ContentError as exc:
            raise KeySetError(f"key set is {exc}") from exc
        return cls.from_obj(data)

    def resolve(self, key_id: str) -> KeyEntry | None:
        return self._by_id.get(key_id)

    def to_dict(self) -> dict[str, Any]:
        """``{"keys": [...]}``, entries in insertion order."""
        return {"keys": [entry.to_dict() for entry in self._by_id.values()]}

    def with_entry(self, entry: KeyEntry) -> KeySet:
        """A copy with ``entry`` added, or replacing the entry with the same key id."""
        entries = dict(self._by_id)
        entries[entry.key_id] = entry
        return KeySet(entries.values())

    def __iter__(self) -> Iterator[KeyEntry]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._by_id

    def __repr__(self) -> str:
        return f"KeySet({list(self._by_id)!r})"
