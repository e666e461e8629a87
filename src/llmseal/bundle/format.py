"""The evidence bundle: one JSON file that carries everything a receipt's proof needs.

Format ``llmseal-bundle/1`` (docs/spec/bundle.md)::

    {"bundle": "llmseal-bundle/1",
     "created_at": "2026-12-02T06:00:00Z",
     "subject": "<receipt_id of the answer the bundle is about>",
     "items": [{"receipt": {...},                    # v0.3 receipt, as signed
                "request": {...}, "response": {...}, # content, each optional
                "disclosure": {...},                 # opened commitments (bundle.commit)
                "evidence": {"keyset": {...},        # key-set snapshot
                             "x5c": [PEM...], "crls": [PEM...],
                             "dnssec": {...},        # recorded chain (bundle.dnschain)
                             "log": "c2sp.org/tlog-proof@v1\\n..."}}],
     "audits": [{...}]}                              # audit reports, carried as they are

Parsing is strict about shape (a member of the wrong JSON type is a
:class:`~llmseal.errors.BundleError`, exit 2) and says nothing about trust: every
piece is checked later against the verifier's own anchors (:mod:`llmseal.bundle.verify`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from llmseal.core import _time
from llmseal.core.canonical import canonicalize, loads
from llmseal.core.hashing import hash_bytes
from llmseal.core.receipt import Receipt
from llmseal.errors import BundleError, ContentError, InputError

__all__ = [
    "FORMAT",
    "MAX_BUNDLE_BYTES",
    "MAX_ITEMS",
    "Bundle",
    "BundleItem",
    "receipt_digest",
]

FORMAT = "llmseal-bundle/1"
MAX_BUNDLE_BYTES = 16 << 20
MAX_ITEMS = 256
_TOP = frozenset({"bundle", "created_at", "subject", "items", "audits"})
_ITEM = frozenset({"receipt", "request", "response", "disclosure", "evidence"})
_EVIDENCE = frozenset({"keyset", "x5c", "crls", "dnssec", "log"})
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def receipt_digest(receipt: Receipt | Mapping[str, Any]) -> str:
    """SHA-256 of the receipt's RFC 8785 bytes, signature included: how receipts name parents."""
    data = receipt.to_dict() if isinstance(receipt, Receipt) else dict(receipt)
    return hash_bytes(canonicalize(data))


@dataclass(frozen=True, slots=True)
class BundleItem:
    """One receipt with the content and key evidence that came with it."""

    receipt: Receipt
    request: Any = None
    response: Any = None
    disclosure: Mapping[str, Any] | None = None
    evidence: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @property
    def digest(self) -> str:
        return receipt_digest(self.receipt)

    @classmethod
    def from_dict(cls, data: Any, index: int) -> BundleItem:
        where = f"bundle item {index}"
        if not isinstance(data, Mapping):
            raise BundleError(f"{where} is not a JSON object")
        _refuse_unknown(data, _ITEM, where)
        try:
            receipt = Receipt.from_dict(data.get("receipt"))
        except InputError as exc:
            raise BundleError(f"{where}: {exc}") from exc
        disclosure = data.get("disclosure")
        if disclosure is not None and not isinstance(disclosure, Mapping):
            raise BundleError(f"{where}: disclosure must be an object")
        evidence = data.get("evidence", {})
        if not isinstance(evidence, Mapping):
            raise BundleError(f"{where}: evidence must be an object")
        _refuse_unknown(evidence, _EVIDENCE, f"{where} evidence")
        _check_evidence(evidence, where)
        return cls(receipt, data.get("request"), data.get("response"), disclosure, evidence)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"receipt": self.receipt.to_dict()}
        for name in ("request", "response", "disclosure"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.evidence:
            out["evidence"] = dict(self.evidence)
        return out


@dataclass(frozen=True, slots=True)
class Bundle:
    """A parsed bundle. ``items[0]`` need not be the subject: :attr:`subject_item` finds it."""

    items: tuple[BundleItem, ...]
    subject: str
    created_at: str
    audits: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not self.items:
            raise BundleError("a bundle holds at least one receipt")
        if len(self.items) > MAX_ITEMS:
            raise BundleError(f"a bundle holds at most {MAX_ITEMS} receipts")
        ids = [item.receipt.receipt_id for item in self.items]
        if len(set(ids)) != len(ids):
            raise BundleError("a bundle lists the same receipt_id twice")
        if self.subject not in ids:
            raise BundleError(f"the bundle's subject {self.subject!r} is none of its receipts")

    @property
    def subject_item(self) -> BundleItem:
        return next(i for i in self.items if i.receipt.receipt_id == self.subject)

    def by_digest(self) -> dict[str, BundleItem]:
        return {item.digest: item for item in self.items}

    @classmethod
    def from_dict(cls, data: Any) -> Bundle:
        if not isinstance(data, Mapping):
            raise BundleError("a bundle is a JSON object")
        if data.get("bundle") != FORMAT:
            raise BundleError(f"not an evidence bundle of format {FORMAT!r}")
        _refuse_unknown(data, _TOP, "bundle")
        items = data.get("items")
        if not isinstance(items, list):
            raise BundleError("bundle 'items' must be an array")
        if len(items) > MAX_ITEMS:
            raise BundleError(f"a bundle holds at most {MAX_ITEMS} receipts")
        created = data.get("created_at")
        if not isinstance(created, str):
            raise BundleError("bundle 'created_at' must be an RFC 3339 string")
        try:
            _time.parse_strict(created)
        except ValueError as exc:
            raise BundleError(f"bundle 'created_at': {exc}") from None
        subject = data.get("subject")
        if not isinstance(subject, str):
            raise BundleError("bundle 'subject' must be a receipt_id")
        audits = data.get("audits", [])
        if not isinstance(audits, list) or not all(isinstance(a, Mapping) for a in audits):
            raise BundleError("bundle 'audits' must be an array of objects")
        parsed = tuple(BundleItem.from_dict(item, n) for n, item in enumerate(items))
        return cls(parsed, subject, created, tuple(audits))

    @classmethod
    def from_json(cls, text: bytes | str) -> Bundle:
        if len(text) > MAX_BUNDLE_BYTES:
            raise BundleError(f"a bundle is at most {MAX_BUNDLE_BYTES} bytes")
        try:
            data = loads(text)
        except ContentError as exc:
            raise BundleError(f"the bundle is {exc}") from exc
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "bundle": FORMAT,
            "created_at": self.created_at,
            "subject": self.subject,
            "items": [item.to_dict() for item in self.items],
        }
        if self.audits:
            out["audits"] = [dict(a) for a in self.audits]
        return out

    def to_json(self) -> bytes:
        """Canonical (RFC 8785) bytes: compact, and the same bundle always hashes the same."""
        return canonicalize(self.to_dict())


def _refuse_unknown(data: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in set(data) - known)
    if unknown:
        # A member this version does not define could be evidence the verifier
        # silently skips; the version number is how the format grows.
        raise BundleError(f"{where}: unknown member(s) {unknown}")


def _check_evidence(evidence: Mapping[str, Any], where: str) -> None:
    for name in ("x5c", "crls"):
        value = evidence.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BundleError(f"{where}: evidence '{name}' must be an array of PEM strings")
    if "log" in evidence and not isinstance(evidence["log"], str):
        raise BundleError(f"{where}: evidence 'log' must be a tlog-proof text")
    for name in ("keyset", "dnssec"):
        if name in evidence and not isinstance(evidence[name], Mapping):
            raise BundleError(f"{where}: evidence '{name}' must be an object")
