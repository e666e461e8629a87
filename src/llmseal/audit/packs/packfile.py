"""A pack's file form: building one, parsing and verifying its bytes, loading it from disk.

The checks run in the order :mod:`.pack` lists — hash (:func:`parse_pack`), then
signature, then trust and lifetime (:func:`verify_pack`) — and a pack is only ever
read through them. A file is read up to :data:`MAX_PACK_BYTES` and refused past it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from llmseal.audit.enrollment.reference import Reference, content_id
from llmseal.audit.packs.pack import Pack, Publisher, signing_message
from llmseal.core import _time
from llmseal.core.canonical import canonicalize, loads
from llmseal.core.keys import Signer
from llmseal.core.keyset import KeyResolver
from llmseal.errors import AuditError, AuditIntegrityError, ContentError, InputError

__all__ = [
    "MAX_PACK_BYTES",
    "PACK_VERSION",
    "build_pack",
    "load_pack",
    "load_references",
    "parse_pack",
    "verify_pack",
]

PACK_VERSION = 1
MAX_PACK_BYTES = 64 << 20
_UNSIGNED_EXCLUDE = ("pack_id", "signature")
_REQUIRED = ("version", "pack_id", "signature", "publisher", "created_at", "expires_at",
             "license", "references")  # fmt: skip


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
