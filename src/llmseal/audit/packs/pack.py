"""Fingerprint packs: signed, content-addressed bundles of references (AntSeed spec 08).

A pack is one JSON object (``docs/audit-packs.md`` has the walk-through)::

    {"version": 1,
     "pack_id": "sha256:<hex>",          # sha256(JCS(the pack without pack_id, signature))
     "signature": "<base64>",            # publisher's signature over DOMAIN + pack_id
     "publisher": {"key_id": "...", "algorithm": "ed25519", "public_key": "<base64>",
                   "name": "...", "url": "..."},
     "created_at": "2026-12-01T00:00:00Z", "expires_at": "2027-03-01T00:00:00Z",
     "license": "CC-BY-4.0",
     "references": [{"reference_id": "sha256:...", ...}, ...],
     "public_results": [...]}            # optional, AntSeed's separation scores

AntSeed's camelCase names map one to one (``packId``, ``createdAt``...); the
members here are snake_case like the references they carry. The signed message
is ``DOMAIN + pack_id`` (ASCII), so a pack signature can never be mistaken for a
receipt, a note or any other llmseal signature by the same key.

Checking a pack goes in the spec's order, each step with its own
:class:`~llmseal.errors.AuditIntegrityError` code:

1. **hash** — the content gives ``pack_id`` and every reference its id
   (``hash_mismatch``); a private reference is refused (``private_reference``);
2. **signature** — the embedded publisher key signed ``pack_id``
   (``bad_signature``);
3. **trust** — the publisher's key is in the caller's trusted key set, with the
   same public key, not revoked (``untrusted_publisher``, ``revoked_publisher``),
   and the pack is within its lifetime at ``at`` (``not_yet_valid``, ``expired``).

Private probe banks never leave the buyer: :func:`~.packfile.build_pack` refuses a
reference marked ``private`` and so does every load.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from llmseal.audit.enrollment.reference import Reference
from llmseal.core import _time
from llmseal.core.canonical import canonicalize
from llmseal.core.keys import PublicKey
from llmseal.core.keyset import KeyResolver
from llmseal.errors import AuditIntegrityError, Error, InputError

__all__ = ["DOMAIN", "Pack", "Publisher", "signing_message"]

DOMAIN = b"llmseal-fingerprint-pack/v1\n"
_SKEW = timedelta(minutes=5)


def signing_message(pack_id: str) -> bytes:
    """The bytes a publisher signs: ``DOMAIN + pack_id``."""
    return DOMAIN + pack_id.encode("ascii")


@dataclass(frozen=True, slots=True)
class Publisher:
    """Who signed a pack: a key id and its public key (plus display name and URL)."""

    key_id: str
    public_key: PublicKey
    name: str = ""
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        key = self.public_key
        return {"key_id": self.key_id, "algorithm": key.algorithm, "public_key": key.b64(),
                "name": self.name, "url": self.url}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Any) -> Publisher:
        if not isinstance(data, dict):
            raise InputError("pack publisher must be an object")
        key_id, name, url = data.get("key_id"), data.get("name", ""), data.get("url", "")
        if not isinstance(key_id, str) or not key_id:
            raise InputError("pack publisher has no key_id")
        if not isinstance(name, str) or not isinstance(url, str):
            raise InputError("pack publisher name and url must be strings")
        algorithm, public = data.get("algorithm", "ed25519"), data.get("public_key")
        if not isinstance(algorithm, str) or not isinstance(public, str):
            raise InputError("pack publisher needs a base64 public_key")
        return cls(key_id, PublicKey.from_b64(algorithm, public), name, url)


@dataclass(frozen=True, slots=True)
class Pack:
    """A parsed pack whose hash checked out (see :func:`~.packfile.verify_pack` for the rest)."""

    pack_id: str
    signature: bytes
    publisher: Publisher
    created_at: datetime
    expires_at: datetime
    license: str
    reference_list: tuple[Reference, ...]
    body: Mapping[str, Any]
    """The unsigned pack (every member except ``pack_id`` and ``signature``)."""

    @property
    def references(self) -> list[Reference]:
        return list(self.reference_list)

    @property
    def reference_ids(self) -> tuple[str, ...]:
        return tuple(r.reference_id for r in self.reference_list)

    def reference(self, model: str) -> Reference | None:
        """The first reference for the model sold as ``model`` (id or alias)."""
        return next((r for r in self.reference_list if r.names(model)), None)

    def to_dict(self) -> dict[str, Any]:
        signature = base64.b64encode(self.signature).decode("ascii")
        signed = {"pack_id": self.pack_id, "signature": signature}
        return {**signed, **_thaw(self.body)}

    def to_json(self) -> bytes:
        """The file form: the pack's RFC 8785 bytes and a newline (what mirrors serve)."""
        return canonicalize(self.to_dict()) + b"\n"

    def check_signature(self) -> Pack:
        """AuditIntegrityError ``bad_signature`` unless the publisher key signed ``pack_id``."""
        if not self.publisher.public_key.verify(self.signature, signing_message(self.pack_id)):
            raise AuditIntegrityError(
                f"pack {self.pack_id} is not signed by its publisher key {self.publisher.key_id!r}",
                code="bad_signature",
            )
        return self

    def check_trust(self, trusted: KeyResolver, *, at: datetime) -> Pack:
        """The local trust policy: a trusted, unrevoked publisher key and a live pack."""
        key_id = self.publisher.key_id
        try:
            entry = trusted.resolve(key_id)
        except Error as exc:
            raise AuditIntegrityError(
                f"publisher {key_id!r} cannot be looked up: {exc}", code="untrusted_publisher"
            ) from exc
        mine = self.publisher.public_key
        if entry is None or not (entry.public_key.algorithm == mine.algorithm and
                                 hmac.compare_digest(entry.public_key.raw, mine.raw)):  # fmt: skip
            what = "is not a trusted publisher" if entry is None else "has another key"
            raise AuditIntegrityError(f"publisher {key_id!r} {what}", code="untrusted_publisher")
        if entry.status == "revoked":
            raise AuditIntegrityError(
                f"publisher key {key_id!r} is revoked", code="revoked_publisher"
            )
        return self.check_time(at=at)

    def check_time(self, *, at: datetime) -> Pack:
        at = _time.utc(at)
        if at + _SKEW < self.created_at:
            raise AuditIntegrityError(
                f"pack {self.pack_id} is not valid before {_time.format_utc(self.created_at)}",
                code="not_yet_valid",
            )
        if at >= self.expires_at:
            raise AuditIntegrityError(
                f"pack {self.pack_id} expired at {_time.format_utc(self.expires_at)}",
                code="expired",
            )
        return self


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(v) for v in value]
    return value
