"""Pack announcements: a pack's "magnet link", with chunk hashes (AntSeed spec 08).

An announcement says a pack exists and where to get it, without the pack::

    {"version": 1, "type": "llmseal-pack-announcement",
     "pack_id": "sha256:...", "signature": "<base64>",   # the pack's own signature
     "publisher_key_id": "...", "expires_at": "...", "models": ["smollm2-135m-instruct"],
     "byte_length": 5120, "chunk_size": 262144,
     "chunk_hashes": ["sha256:...", ...],                 # of the pack's file form
     "mirrors": ["https://mirror.example/packs/sha256-<hex>.json", ...]}

The pack's file form is its RFC 8785 bytes and a newline
(:meth:`~llmseal.audit.packs.pack.Pack.to_json`), the same on every mirror, so chunk
hashes name the bytes. A buyer checks the announcement's signature against its
*trusted* publisher key before downloading anything (:func:`check_announcement`),
then each chunk as it arrives (:func:`check_chunk`): a bad mirror is dropped at
its first bad chunk rather than after the whole file, and chunks from different
mirrors can be combined. The whole pack is still checked at the end (hash,
signature, trust) and must carry the announced ``pack_id``.

The announcement itself is not hashed or signed beyond the pack signature it
repeats: its other members are hints, each checked against the bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmseal.audit.packs.pack import Pack, signing_message
from llmseal.core import _time
from llmseal.core.keyset import KeyResolver
from llmseal.errors import AuditIntegrityError, Error, InputError

__all__ = [
    "ANNOUNCEMENT_TYPE",
    "CHUNK_SIZE",
    "Announcement",
    "announce",
    "check_announcement",
    "check_chunk",
]

ANNOUNCEMENT_TYPE = "llmseal-pack-announcement"
CHUNK_SIZE = 262_144


@dataclass(frozen=True, slots=True)
class Announcement:
    pack_id: str
    signature: str
    publisher_key_id: str
    expires_at: str
    models: tuple[str, ...]
    byte_length: int
    chunk_size: int
    chunk_hashes: tuple[str, ...]
    mirrors: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1, "type": ANNOUNCEMENT_TYPE, "pack_id": self.pack_id,
            "signature": self.signature, "publisher_key_id": self.publisher_key_id,
            "expires_at": self.expires_at, "models": list(self.models),
            "byte_length": self.byte_length, "chunk_size": self.chunk_size,
            "chunk_hashes": list(self.chunk_hashes), "mirrors": list(self.mirrors),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Any) -> Announcement:
        if not isinstance(data, dict) or data.get("type") != ANNOUNCEMENT_TYPE:
            raise InputError("not a pack announcement")
        try:
            out = cls(
                str(data["pack_id"]), str(data["signature"]), str(data["publisher_key_id"]),
                str(data["expires_at"]), tuple(str(m) for m in data.get("models", ())),
                int(data["byte_length"]), int(data["chunk_size"]),
                tuple(str(h) for h in data["chunk_hashes"]),
                tuple(str(m) for m in data.get("mirrors", ())),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"not a pack announcement: {exc}") from exc
        expected = -(-out.byte_length // out.chunk_size) if out.chunk_size > 0 else -1
        if out.chunk_size <= 0 or out.byte_length <= 0 or len(out.chunk_hashes) != expected:
            raise InputError("pack announcement: chunk hashes do not cover byte_length")
        return out


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def announce(
    pack: Pack, *, mirrors: Sequence[str] = (), chunk_size: int = CHUNK_SIZE
) -> Announcement:
    """The announcement of ``pack`` (chunk hashes over its file form)."""
    if chunk_size <= 0:
        raise InputError("chunk size must be positive")
    data = pack.to_json()
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    signature = pack.to_dict()["signature"]
    return Announcement(
        pack.pack_id, signature, pack.publisher.key_id, _time.format_utc(pack.expires_at),
        tuple(sorted({r.model_id for r in pack.references})), len(data), chunk_size,
        tuple(_digest(c) for c in chunks), tuple(mirrors),
    )  # fmt: skip


def check_announcement(announcement: Announcement, trusted: KeyResolver) -> None:
    """Before any download: the trusted publisher key signed the announced ``pack_id``."""
    key_id = announcement.publisher_key_id
    try:
        entry = trusted.resolve(key_id)
    except Error as exc:
        raise AuditIntegrityError(
            f"publisher {key_id!r}: {exc}", code="untrusted_publisher"
        ) from exc
    if entry is None or entry.status == "revoked":
        raise AuditIntegrityError(
            f"publisher {key_id!r} is not a trusted publisher", code="untrusted_publisher"
        )
    try:
        signature = base64.b64decode(announcement.signature, validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not entry.public_key.verify(signature, signing_message(announcement.pack_id)):
        raise AuditIntegrityError(
            f"announcement of {announcement.pack_id} is not signed by {key_id!r}",
            code="bad_signature",
        )


def check_chunk(announcement: Announcement, index: int, data: bytes) -> None:
    """AuditIntegrityError ``chunk_mismatch`` unless chunk ``index`` is the announced bytes."""
    if not 0 <= index < len(announcement.chunk_hashes):
        raise AuditIntegrityError(
            f"chunk {index} is beyond the announced {announcement.byte_length} bytes",
            code="chunk_mismatch",
        )
    if not hmac.compare_digest(_digest(data), announcement.chunk_hashes[index]):
        raise AuditIntegrityError(
            f"chunk {index} of {announcement.pack_id} does not match its announced hash",
            code="chunk_mismatch",
        )
