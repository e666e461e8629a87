"""The ``v=llmsig1`` DNS TXT record and the rule that names it (seed 000, "Just use DNS").

Record (one TXT RDATA; its character-strings are concatenated, RFC 6376 §3.6.2.2)::

    claude-opus-4.2026q1.models.example.com. IN TXT "v=llmsig1; k=ed25519; p=<base64>"

A tag list in the DKIM style (RFC 6376 §3.2): ``tag=value`` pairs separated by
``;``, whitespace around both ignored, every tag at most once, unknown tags
ignored so the format can grow.

* ``v=llmsig1`` — required and first: it tells our record from other TXT data.
* ``k=`` — ``ed25519`` (the default when absent) or ``ecdsa-p256``.
* ``p=`` — the public key in standard base64, exactly as in the key set (32 raw
  bytes for Ed25519, the 65-byte uncompressed SEC1 point for P-256).
* ``r=`` — present iff the key is revoked: the RFC 3339 ``rotated_at``. Receipts
  issued at or after it are ``revoked``; older ones still verify (seed 004). A key
  revoked without a time is published as ``r=1970-01-01T00:00:00Z``.

Name rule (:func:`dns_name_for_key_id`): a key id ``DOMAIN/MODEL/PERIOD`` lives at
``MODEL.PERIOD.models.DOMAIN.`` — one name per key, so rotating to a new period
adds a name and the old one stays for old receipts. ``DOMAIN/MODEL`` maps to
``MODEL.models.DOMAIN.`` (the unversioned name of seed 000; it changes on
rotation, so versioned key ids are the recommended form). Every other key id
has no DNS name unless the verifier gives one.

The rule is one-to-one: only the *canonical* spelling has a name — ``DOMAIN``
lowercase without a trailing dot, ``MODEL`` and ``PERIOD`` one lowercase label
each. DNS itself folds case, drops the final dot and cannot tell
``MODEL.PERIOD`` from ``MODEL/PERIOD``, so without this ``GOOD.TEST/M1/2026Q1``,
``good.test./m1/2026q1`` and ``good.test/m1.2026q1`` would all find the record of
``good.test/m1/2026q1`` while missing that key id in a key set that revokes it.
Such spellings are aliases (:func:`is_key_id_alias`) and are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from llmseal.core import _time
from llmseal.core.keys import PublicKey
from llmseal.core.keyset import KeyEntry
from llmseal.errors import KeySetError

__all__ = [
    "RECORD_VERSION",
    "DnsKeyRecord",
    "dns_name_for_key_id",
    "format_record",
    "is_key_id_alias",
    "normalize_name",
    "parse_record",
    "zone_line",
]

RECORD_VERSION = "llmsig1"
_K_VALUES = {"ed25519": "ed25519", "ecdsa-p256": "ecdsa-p256"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LABEL = re.compile(r"\A[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_TAG = re.compile(r"\A[a-z][a-z0-9_]*\Z")
_MAX_NAME = 253  # RFC 1035 §2.3.4, presentation form without the final dot


@dataclass(frozen=True, slots=True)
class DnsKeyRecord:
    """A parsed ``v=llmsig1`` record."""

    public_key: PublicKey
    rotated_at: datetime | None = None

    def entry(self, key_id: str, **extra: Any) -> KeyEntry:
        """The key-set entry this record stands for, under ``key_id``."""
        return KeyEntry(
            key_id=key_id,
            public_key=self.public_key,
            status="revoked" if self.rotated_at is not None else "active",
            rotated_at=self.rotated_at,
            extra=MappingProxyType(dict(extra)),
        )


def normalize_name(name: str) -> str:
    """Lowercase, absolute (trailing dot) form of a DNS name; KeySetError if it is not one."""
    text = name.strip().lower().rstrip(".")
    labels = text.split(".")
    if not text or len(text) > _MAX_NAME or not all(_LABEL.match(label) for label in labels):
        raise KeySetError(f"{name!r} is not a DNS host name (letters, digits, '-', dots)")
    return text + "."


def dns_name_for_key_id(key_id: str) -> str | None:
    """The DNS name of ``key_id`` by the documented rule, or None if it has none.

    Only a canonical key id has a name: the rule must never give two spellings
    one name (module docstring).
    """
    name = _folded_name(key_id)
    if name is None:
        return None
    domain, *labels = key_id.split("/")
    # _folded_name checked that the domain is a host name: here it must also be spelt
    # as its own normalization, and each label must be one lowercase DNS label.
    if normalize_name(domain) != domain + "." or not all(_LABEL.match(lb) for lb in labels):
        return None
    return name


def is_key_id_alias(key_id: str) -> bool:
    """True for a spelling that DNS would fold onto another key id's name."""
    return _folded_name(key_id) is not None and dns_name_for_key_id(key_id) is None


def _folded_name(key_id: str) -> str | None:
    """The name DNS would look up for ``key_id``, folding case, dots and separators."""
    parts = key_id.split("/")
    if len(parts) not in (2, 3) or "." not in parts[0]:
        return None
    domain, model, *period = parts
    try:
        return normalize_name(".".join((model, *period, "models", domain)))
    except KeySetError:
        return None


def format_record(entry: KeyEntry) -> str:
    """The TXT value for a key-set entry (without the surrounding quotes)."""
    algorithm = entry.public_key.algorithm
    text = f"v={RECORD_VERSION}; k={algorithm}; p={entry.public_key.b64()}"
    if entry.status == "revoked":
        text += f"; r={_time.format_utc(entry.rotated_at or _EPOCH)}"
    return text


def zone_line(name: str, entry: KeyEntry, *, ttl: int | None = None) -> str:
    """A zone-file line publishing ``entry`` at ``name`` (RFC 1035 §5.1 master format)."""
    ttl_field = f" {ttl}" if ttl is not None else ""
    return f'{normalize_name(name)}{ttl_field} IN TXT "{format_record(entry)}"'


def parse_record(text: str) -> DnsKeyRecord | None:
    """Parse one TXT value; None if it is not a ``v=llmsig1`` record.

    Raises:
        KeySetError: it claims to be ``v=llmsig1`` but is malformed.
    """
    tags = _tag_list(text)
    if tags is None:
        return None
    algorithm = _K_VALUES.get(tags.get("k", "ed25519"))
    if algorithm is None:
        raise KeySetError(f"unsupported key type k={tags['k']!r}")
    public = tags.get("p")
    if not public:
        raise KeySetError("the record has no public key (p=)")
    key = PublicKey.from_b64(algorithm, public)
    rotated_at = None
    if "r" in tags:
        try:
            rotated_at = _time.parse_lenient(tags["r"])
        except ValueError as exc:
            raise KeySetError(f"r= is not an RFC 3339 time: {tags['r']!r}") from exc
    return DnsKeyRecord(key, rotated_at)


def _tag_list(text: str) -> dict[str, str] | None:
    items = [item.strip() for item in text.split(";")]
    if items and not items[-1]:
        items.pop()  # a trailing ';' is allowed (RFC 6376 §3.2)
    first = items[0].replace(" ", "").replace("\t", "") if items else ""
    if first != f"v={RECORD_VERSION}":
        return None
    tags: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not _TAG.match(name):
            raise KeySetError(f"malformed tag {item!r} in a v={RECORD_VERSION} record")
        if name in tags:
            raise KeySetError(f"tag {name}= appears twice in a v={RECORD_VERSION} record")
        tags[name] = value.strip()
    return tags
