"""X.509 path validation of a receipt's certificate chain, cached, with CRLs.

Seed 000, "Verification: Nothing New Required": (1) validate the chain up to
the lab's root, (2) check the SAN against the claimed model's DNS name, (3)
verify the signature. :class:`ChainValidator` does (1) and (2) with
``cryptography.x509.verification`` (the CA/B Forum server profile) and adds:

* **validation time = the receipt's ``issued_at``**, not the wall clock, so a
  receipt stays verifiable after its leaf expires (llm_sign's receipts stop
  verifying then), and a receipt claiming a time outside the leaf's validity
  is rejected as ``expired``;
* **the expected name is the verifier's**, never read from the artifact;
* **key binding**: the receipt's ``key_id`` must be the leaf's
  ``spki-sha256:`` key id (:func:`~llmseal.trust.x509.profile.spki_key_id`);
* **key usage**: the leaf must carry keyUsage with digitalSignature (the model
  profile, seed 000; RFC 5280 §4.2.1.3) — the Web-PKI server profile accepts a
  leaf without it. The profile sets no extendedKeyUsage; when a leaf has one,
  the server profile already requires ``serverAuth`` in it;
* **revocation** (RFC 5280 §5): a certificate of the path listed on a CRL of
  its issuer is revoked from its revocation date, or from the earlier
  invalidity date (§5.3.2) when the CA recorded one; a CRL past its
  ``nextUpdate`` by the verifier's ``clock`` is refused (``crl_stale``);
* **caching**: a validated chain is kept with the window in which every
  certificate of its path is valid; another receipt with the same chain, name
  and an ``issued_at`` inside the window skips path building (~225 µs). The
  trust store itself is built once per validator.

Failures carry a :class:`ChainFailure` code (in :class:`ChainValidationError`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.x509 import verification

from llmseal.core import _time
from llmseal.core.keys import PublicKey
from llmseal.core.keyset import KeyEntry
from llmseal.errors import ChainValidationError, Error
from llmseal.trust.x509.crl import RevocationIndex
from llmseal.trust.x509.pem import parse_chain, system_anchors
from llmseal.trust.x509.profile import check_dns_name, spki_key_id

__all__ = ["ChainFailure", "ChainValidator", "TrustAnchors", "ValidatedChain"]


def _now() -> datetime:
    return datetime.now(UTC)


class ChainFailure(StrEnum):
    """Why a chain was refused (``ChainValidationError.failure``)."""

    MALFORMED = "malformed"
    EXPIRED = "expired"
    WRONG_NAME = "wrong_name"
    UNTRUSTED_ROOT = "untrusted_root"
    NOT_CA = "not_ca"
    KEY_MISMATCH = "key_mismatch"
    KEY_USAGE = "key_usage"
    UNSUPPORTED_KEY = "unsupported_key"
    REVOKED = "revoked"
    CRL_MISSING = "crl_missing"
    CRL_STALE = "crl_stale"
    CRL_INVALID = "crl_invalid"
    INVALID = "invalid"


class TrustAnchors:
    """A set of trusted roots and the ``Store`` built from it (built once)."""

    __slots__ = ("certificates", "source", "store")

    def __init__(self, certificates: Iterable[x509.Certificate], *, source: str) -> None:
        self.certificates = tuple(certificates)
        if not self.certificates:
            raise ChainValidationError("no trust anchors", failure=ChainFailure.UNTRUSTED_ROOT)
        self.source = source
        self.store = verification.Store(list(self.certificates))

    @classmethod
    def system(cls) -> TrustAnchors:
        """The platform trust store, read once per process."""
        return _system_trust()

    def __repr__(self) -> str:
        return f"TrustAnchors({self.source}, {len(self.certificates)} roots)"


_system_lock = threading.Lock()
_system_cache: dict[tuple[x509.Certificate, ...], TrustAnchors] = {}


def _system_trust() -> TrustAnchors:
    certs = system_anchors()  # cached per (cafile, capath)
    with _system_lock:
        anchors = _system_cache.get(certs)
        if anchors is None:
            anchors = TrustAnchors(certs, source="system trust store")
            _system_cache[certs] = anchors
        return anchors


@dataclass(frozen=True, slots=True)
class ValidatedChain:
    """A chain that passed path validation for ``name``, and when it is valid."""

    name: str
    path: tuple[x509.Certificate, ...]  # leaf first, anchor last
    key_id: str
    public_key: Any  # the leaf's cryptography public key
    valid_from: datetime
    valid_until: datetime
    _entry_key: PublicKey | None = field(default=None, repr=False, compare=False)

    @property
    def leaf(self) -> x509.Certificate:
        return self.path[0]

    def covers(self, at: datetime) -> bool:
        return self.valid_from <= at <= self.valid_until

    def receipt_key(self) -> PublicKey:
        """The leaf key as a receipt verification key (Ed25519 or P-256 only)."""
        if self._entry_key is None:
            raise ChainValidationError(
                "the leaf key is not Ed25519 or ECDSA P-256; receipts cannot use it",
                failure=ChainFailure.UNSUPPORTED_KEY,
            )
        return self._entry_key

    def describe(self) -> dict[str, Any]:
        """Who the chain names, for reports."""
        return {
            "name": self.name,
            "subject": self.leaf.subject.rfc4514_string(),
            "issuer": self.leaf.issuer.rfc4514_string(),
            "serial": format(self.leaf.serial_number, "x"),
            "key_id": self.key_id,
            "not_before": _time.format_utc(self.leaf.not_valid_before_utc),
            "not_after": _time.format_utc(self.leaf.not_valid_after_utc),
            "root": self.path[-1].subject.rfc4514_string(),
        }


class ChainValidator:
    """Validates chains against fixed anchors and CRLs; thread-safe, with an LRU cache."""

    def __init__(
        self,
        anchors: TrustAnchors,
        *,
        crls: Sequence[x509.CertificateRevocationList] = (),
        require_crl: bool = False,
        cache_size: int = 1024,
        clock: Callable[[], datetime] = _now,
        crl_grace: timedelta = timedelta(0),
        crl_evidence: Sequence[x509.CertificateRevocationList] = (),
        crl_evidence_at: datetime | None = None,
    ) -> None:
        self.anchors = anchors
        # CRL freshness is judged by the verifier's clock (x509crl), not at issued_at;
        # CRLs recorded as evidence with a receipt, at its signing time (crl.py).
        self.revocations = RevocationIndex(
            crls, require=require_crl, clock=clock, grace=crl_grace,
            evidence=crl_evidence, evidence_at=crl_evidence_at,
        )  # fmt: skip
        self._cache: OrderedDict[tuple[Any, ...], ValidatedChain] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def validate(self, chain: Any, *, name: str, at: datetime) -> ValidatedChain:
        """Path-validate ``chain`` (x5c list or PEM text) for DNS ``name`` at time ``at``.

        Raises:
            ChainValidationError: with a :class:`ChainFailure` code.
        """
        key = (tuple(chain) if isinstance(chain, list | tuple) else chain, name)
        at = _time.utc(at)
        try:
            cached = self._cache.get(key)
        except TypeError:  # unhashable entries: not a chain of strings
            cached, key = None, None  # type: ignore[assignment]
        if cached is not None and cached.covers(at):
            return cached
        validated = self._validate(chain, name, at)
        if key is not None:
            with self._lock:
                self._cache[key] = validated
                self._cache.move_to_end(key)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return validated

    def key_entry(self, chain: Any, *, name: str, at: datetime, key_id: str) -> KeyEntry:
        """The receipt key the chain vouches for, bound to ``key_id`` and revocation.

        The entry is ``revoked`` (with ``rotated_at`` = the effective revocation
        time) when a CRL lists a certificate of the path; the core verifier then
        applies the v0.3 rule ``issued_at >= rotated_at``.
        """
        validated = self.validate(chain, name=name, at=at)
        if key_id != validated.key_id:
            raise ChainValidationError(
                f"key_id {key_id!r} is not the key of the leaf certificate ({validated.key_id})",
                failure=ChainFailure.KEY_MISMATCH,
            )
        revoked_at = self.revocations.revoked_at(validated.path)
        return KeyEntry(
            key_id=key_id,
            public_key=validated.receipt_key(),
            status="revoked" if revoked_at is not None else "active",
            created_at=validated.leaf.not_valid_before_utc,
            rotated_at=revoked_at,
        )

    def _validate(self, chain: Any, name: str, at: datetime) -> ValidatedChain:
        try:
            certs = parse_chain(chain)
            dns = x509.DNSName(check_dns_name(name))
        except Error as exc:
            raise ChainValidationError(str(exc), failure=ChainFailure.MALFORMED) from exc
        builder = verification.PolicyBuilder().store(self.anchors.store).time(at)
        verifier = builder.build_server_verifier(dns)
        try:
            path = tuple(verifier.verify(certs[0], list(certs[1:])))
        except verification.VerificationError as exc:
            failure, message = _classify(certs, dns.value, at, str(exc))
            raise ChainValidationError(message, failure=failure) from exc
        _check_leaf_usage(path[0])
        leaf_key = path[0].public_key()
        try:
            entry_key: PublicKey | None = PublicKey.from_cryptography(leaf_key)
        except Error:
            entry_key = None
        return ValidatedChain(
            name=dns.value,
            path=path,
            key_id=spki_key_id(leaf_key),
            public_key=leaf_key,
            valid_from=max(c.not_valid_before_utc for c in path),
            valid_until=min(c.not_valid_after_utc for c in path),
            _entry_key=entry_key,
        )

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()


def _check_leaf_usage(leaf: x509.Certificate) -> None:
    """The leaf's key may sign (keyUsage digitalSignature), per the model profile."""
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise ChainValidationError(
            "the leaf certificate has no keyUsage; a model key needs digitalSignature",
            failure=ChainFailure.KEY_USAGE,
        ) from None
    if not usage.digital_signature:
        raise ChainValidationError(
            "the leaf certificate's keyUsage does not include digitalSignature",
            failure=ChainFailure.KEY_USAGE,
        )


def _classify(
    certs: Sequence[x509.Certificate], name: str, at: datetime, detail: str
) -> tuple[ChainFailure, str]:
    """Turn cryptography's message into a code, checking the obvious causes first."""
    when = _time.format_utc(at)
    leaf = certs[0]
    if not _name_matches(leaf, name):
        return ChainFailure.WRONG_NAME, f"the leaf certificate is not valid for {name}"
    for index, cert in enumerate(certs):
        if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            which = "leaf" if index == 0 else f"chain certificate {index}"
            return ChainFailure.EXPIRED, (
                f"the {which} certificate was not valid at {when} "
                f"({_time.format_utc(cert.not_valid_before_utc)} to "
                f"{_time.format_utc(cert.not_valid_after_utc)})"
            )
    for index, cert in enumerate(certs[1:], start=1):
        if not _is_ca(cert):
            return ChainFailure.NOT_CA, f"chain certificate {index} is not a CA certificate"
    text = detail.removeprefix("validation failed: ")
    if "not valid at validation time" in text:
        return ChainFailure.EXPIRED, f"a certificate of the path was not valid at {when}"
    if "basicConstraints" in text or "CA certificate" in text:
        return ChainFailure.NOT_CA, f"an issuer is not a CA certificate: {text}"
    if "candidates exhausted" in text and "Forbidden" not in text:
        return ChainFailure.UNTRUSTED_ROOT, f"no path to a trusted root ({text})"
    return ChainFailure.INVALID, f"certificate chain rejected: {text}"


def _name_matches(leaf: x509.Certificate, name: str) -> bool:
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    for dns in san.get_values_for_type(x509.DNSName):
        pattern = dns.lower()
        if pattern == name:
            return True
        # RFC 6125 §6.4.3: a wildcard covers exactly one left-most label.
        if pattern.startswith("*.") and name.partition(".")[2] == pattern[2:]:
            return True
    return False


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False
