"""The verifier's own anchors, and turning a bundle item's key evidence into a trusted key.

A bundle carries evidence, never trust. Each kind of key evidence counts only
through an anchor the verifier brings:

===============  ==========================================================
evidence         what roots it
===============  ==========================================================
``keyset``       a pinned key set listing the same ``key_id`` with the same
                 public key (the snapshot says what the issuer published
                 then; a revocation in either counts, the stricter wins)
``dnssec``       the verifier's DNSSEC trust anchor: the recorded chain is
                 validated from it, at the receipt's proven time or issued_at
``x5c``/``crls`` the verifier's CA roots and a pinned name (``--name`` or
                 ``--domain``); the bundle's CRLs join the verifier's own,
                 judged at the receipt's proven signing time
===============  ==========================================================

A key the bundle brings with nothing of the verifier's behind it resolves to
nothing: ``unknown_key``, never ``valid``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from cryptography import x509

from llmseal.core.keyset import KeyEntry, KeyResolver, KeySet
from llmseal.errors import BundleError, KeyLookupError, KeySetError
from llmseal.log.trust import LogTrust
from llmseal.log.witness.witnesspolicy import WitnessPolicy
from llmseal.trust.keysource import KeySources
from llmseal.trust.x509.chain import ChainValidator, TrustAnchors

if TYPE_CHECKING:  # dnspython is the optional [dns] extra: only DNSSEC anchors need it
    import dns.name

    from llmseal.trust.dns.dnssec import TrustAnchor

__all__ = ["Anchors", "SnapshotChecked"]


@dataclass(frozen=True)
class Anchors:
    """Everything the verifier trusts a priori. Empty anchors trust nothing."""

    keys: tuple[KeyResolver, ...] = ()
    """Pinned key sets (or any key source the verifier chose)."""
    dns: Mapping[dns.name.Name, TrustAnchor] = field(default_factory=dict)
    ca_roots: TrustAnchors | None = None
    """CA roots for X.509 key evidence (with ``x509_name``/``x509_domain`` as the pin)."""
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    """The verifier's own CRLs; with them revocation checking is required."""
    x509_name: str | None = None
    x509_domain: str | None = None
    logs: LogTrust = field(default_factory=LogTrust)
    witnesses: WitnessPolicy | None = None
    require_witnessed: bool = False
    """Every receipt must come with a log proof its witness quorum cosigned."""

    def __bool__(self) -> bool:
        return bool(self.keys or self.dns or self.ca_roots)

    def validator(
        self, pems: Sequence[str], *, at: datetime, signed_at: datetime
    ) -> ChainValidator | None:
        """A chain validator over the verifier's roots, its CRLs and the bundle's ``pems``.

        The verifier's own CRLs are its current knowledge: their freshness is judged
        at ``at`` (the verification time). The bundle's CRLs are evidence recorded
        with the receipt: like its DNSSEC chain they are judged at ``signed_at``,
        the receipt's proven signing time (docs/spec/bundle.md, "Time"), so a
        bundle stays verifiable after its CRL's nextUpdate, and a CRL that was
        already past it when the receipt was signed is refused (``crl_stale``).
        """
        if self.ca_roots is None:
            return None
        recorded = [_crl(pem) for pem in pems]
        return ChainValidator(
            self.ca_roots, crls=self.crls, require_crl=bool(self.crls), clock=lambda: at,
            cache_size=1, crl_evidence=recorded, crl_evidence_at=signed_at,
        )  # fmt: skip

    def resolver_for(self, evidence: Mapping[str, object], *, at: datetime) -> KeyResolver | None:
        """A key resolver for one item (keys and DNSSEC); None if nothing can root it.

        X.509 evidence is judged by :mod:`llmseal.bundle.verify` (it needs the chain
        validator's own result type); ``at`` is when DNSSEC signatures must be valid.
        """
        sources: list[KeyResolver] = []
        if self.keys:
            pinned = self.keys[0] if len(self.keys) == 1 else KeySources(*self.keys)
            snapshot = evidence.get("keyset")
            sources.append(SnapshotChecked(pinned, _snapshot(snapshot)) if snapshot else pinned)
        chain = evidence.get("dnssec")
        if self.dns and isinstance(chain, Mapping):
            from llmseal.bundle.dnschain import replay_source

            sources.append(replay_source(chain, self.dns, at=at))
        if not sources:
            return None
        return sources[0] if len(sources) == 1 else KeySources(*sources)


def _crl(pem: str) -> x509.CertificateRevocationList:
    try:
        return x509.load_pem_x509_crl(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise BundleError(f"a CRL in the bundle is not a PEM CRL: {exc}") from exc


def _snapshot(data: object) -> KeySet:
    try:
        return KeySet.from_obj(data)
    except KeySetError as exc:
        raise BundleError(f"the bundle's key-set snapshot is not a key set: {exc}") from exc


class SnapshotChecked:
    """The pinned key, checked against the bundle's snapshot of the issuer's key set."""

    def __init__(self, pinned: KeyResolver, snapshot: KeySet) -> None:
        self.pinned = pinned
        self.snapshot = snapshot

    def resolve(self, key_id: str) -> KeyEntry | None:
        entry = self.pinned.resolve(key_id)
        if entry is None:
            return None  # the snapshot alone roots nothing
        seen = self.snapshot.resolve(key_id)
        if seen is None:
            return entry
        if seen.public_key.raw != entry.public_key.raw:
            raise KeyLookupError(
                f"the bundle's key-set snapshot gives key {key_id!r} another public key than "
                "the verifier's pinned key set",
                code="snapshot_mismatch",
            )
        return _stricter(entry, seen)


def _stricter(entry: KeyEntry, seen: KeyEntry) -> KeyEntry:
    """The pinned entry, revoked as early as either source says."""
    times: Sequence[datetime | None] = [
        e.rotated_at for e in (entry, seen) if e.status == "revoked"
    ]
    if not times:
        return entry
    if any(t is None for t in times):
        return replace(entry, status="revoked", rotated_at=None)
    earliest = min(t for t in times if t is not None)
    return replace(entry, status="revoked", rotated_at=earliest)
