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

Private probe banks never leave the buyer: :func:`build_pack` refuses a
reference marked ``private`` and so does every load.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from llmseal.audit.enrollment.reference import Reference, content_id
from llmseal.core import _time
from llmseal.core.canonical import canonicalize, loads
from llmseal.core.keys import PublicKey, Signer
from llmseal.core.keyset import KeyResolver
from llmseal.errors import AuditError, AuditIntegrityError, ContentError, Error, InputError

__all__ = [
    "DOMAIN",
    "MAX_PACK_BYTES",
    "PACK_VERSION",
    "Pack",
    "Publisher",
    "build_pack",
    "load_pack",
    "load_references",
    "parse_pack",
    "signing_message",
    "verify_pack",
]

PACK_VERSION = 1
DOMAIN = b"llmseal-fingerprint-pack/v1\n"
MAX_PACK_BYTES = 64 << 20
_SKEW = timedelta(minutes=5)
_UNSIGNED_EXCLUDE = ("pack_id", "signature")
_REQUIRED = ("version", "pack_id", "signature", "publisher", "created_at", "expires_at",
             "license", "references")  # fmt: skip


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
    """A parsed pack whose hash checked out (see :func:`verify_pack` for the rest)."""

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
        signed = {"pack_id": self.pack_id, "signature": _b64(self.signature)}
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


def build_pack(
    references: Iterable[Reference],
    *,
    signer: Signer,
    at: datetime,
    expires_at: datetime,
    license: str,
    name: str = "",
    url: str = "",
    public_results: Sequence[Mapping[str, Any]] = (),
) -> Pack:
    """Sign a pack of ``references``; AuditError for a private or duplicate reference."""
    refs = list(references)
    if not refs:
        raise AuditError("a pack needs at least one reference")
    seen: set[str] = set()
    for ref in refs:
        if ref.private:
            raise AuditError(
                f"reference {ref.reference_id} ({ref.model_id}) is a private probe bank: "
                "it never leaves the buyer and is never put in a pack"
            )
        if ref.reference_id in seen:
            raise AuditError(f"reference {ref.reference_id} is given twice")
        seen.add(ref.reference_id)
    if _time.utc(expires_at) <= _time.utc(at):
        raise AuditError("a pack must expire after it is created")
    publisher = Publisher(signer.key_id, signer.public_key(), name, url)
    body: dict[str, Any] = {
        "version": PACK_VERSION, "publisher": publisher.to_dict(),
        "created_at": _time.format_utc(at), "expires_at": _time.format_utc(expires_at),
        "license": license, "references": [r.to_dict() for r in refs],
    }  # fmt: skip
    if public_results:
        body["public_results"] = [dict(r) for r in public_results]
    pack_id = content_id(body, exclude=())
    signature = signer.sign(signing_message(pack_id))
    return parse_pack(canonicalize({"pack_id": pack_id, "signature": _b64(signature), **body}))


def parse_pack(data: bytes | str) -> Pack:
    """Step 1: parse a pack and check its content hash and every reference id."""
    try:
        raw = loads(data)
    except ContentError as exc:
        raise InputError(f"a fingerprint pack must be JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InputError("a fingerprint pack must be a JSON object")
    missing = [m for m in _REQUIRED if m not in raw]
    if missing:
        raise InputError(f"not a fingerprint pack: missing {', '.join(missing)}")
    if raw["version"] != PACK_VERSION:
        raise InputError(f"unsupported fingerprint pack version {raw['version']!r}")
    claimed, actual = raw["pack_id"], content_id(raw, exclude=_UNSIGNED_EXCLUDE)
    if not isinstance(claimed, str) or not hmac.compare_digest(claimed, actual):
        raise AuditIntegrityError(
            f"pack {claimed!r} does not match its content ({actual})", code="hash_mismatch"
        )
    if not isinstance(raw["references"], list) or not raw["references"]:
        raise InputError("a fingerprint pack must hold a non-empty list of references")
    if not isinstance(raw["license"], str) or not raw["license"]:
        raise InputError("a fingerprint pack must name its license")
    references = tuple(Reference.from_dict(r) for r in raw["references"])
    for ref in references:
        if ref.private:
            raise AuditIntegrityError(
                f"pack {actual} holds the private reference {ref.reference_id}",
                code="private_reference",
            )
    created, expires = _when(raw, "created_at"), _when(raw, "expires_at")
    if expires <= created:
        raise InputError("fingerprint pack expires before it is created")
    body = {k: v for k, v in raw.items() if k not in _UNSIGNED_EXCLUDE}
    return Pack(
        pack_id=actual, signature=_unb64(raw["signature"]),
        publisher=Publisher.from_dict(raw["publisher"]), created_at=created,
        expires_at=expires, license=raw["license"], reference_list=references,
        body=MappingProxyType(body),
    )  # fmt: skip


def verify_pack(data: bytes | str, *, trusted: KeyResolver | None, at: datetime) -> Pack:
    """Hash, then signature, then trust policy (``trusted=None``: lifetime only)."""
    pack = parse_pack(data).check_signature()
    if trusted is None:
        return pack.check_time(at=at)
    return pack.check_trust(trusted, at=at)


def load_pack(path: str | Path, *, trusted: KeyResolver | None, at: datetime) -> Pack:
    """Read a pack file and :func:`verify_pack` it (``trusted=None`` skips the publisher check)."""
    return verify_pack(_read(path), trusted=trusted, at=at)


def load_references(
    path: str | Path, *, trusted: KeyResolver | None, at: datetime
) -> list[Reference]:
    """The references in a signed pack (fully checked), or in a bare ``REF.json``.

    A bare reference is the buyer's own (enrolled here, or private): only its id is
    checked, since it came from no publisher. Anything with ``pack_id`` is a pack and
    gets every check of :func:`load_pack`.
    """
    data = _read(path)
    try:
        raw = loads(data)
    except ContentError as exc:
        raise InputError(f"{path} is not JSON: {exc}") from exc
    if isinstance(raw, dict) and "reference_id" in raw and "pack_id" not in raw:
        return [Reference.from_dict(raw)]
    return verify_pack(data, trusted=trusted, at=at).references


def _read(path: str | Path) -> bytes:
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_PACK_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read fingerprint pack {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_PACK_BYTES:
        raise InputError(f"fingerprint pack {path} is larger than {MAX_PACK_BYTES >> 20} MiB")
    return data


def _when(raw: Mapping[str, Any], name: str) -> datetime:
    value = raw[name]
    if not isinstance(value, str):
        raise InputError(f"fingerprint pack {name} must be an RFC 3339 string")
    try:
        return _time.parse_strict(value)
    except (InputError, ValueError) as exc:
        raise InputError(f"fingerprint pack {name} is not an RFC 3339 time: {value!r}") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise InputError("pack signature must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError("pack signature is not standard base64") from exc


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(v) for v in value]
    return value
