"""CRL checking for a validated certificate path (RFC 5280 §5, §6.3).

A CRL counts for a certificate when its issuer name is the certificate's issuer
and its signature verifies with the key of the certificate's issuer *in the
validated path* — so a CRL cannot be forged by anyone but that CA. A CRL that
names the issuer but does not verify is an error (``crl_invalid``), never
silently skipped.

Revocation is "as of": the effective time is the entry's invalidity date
(§5.3.2, "known or suspected compromise") when present, else its revocation
date. The verifier compares it with the receipt's ``issued_at`` (v0.3 rule:
revoked iff ``issued_at >= rotated_at``), so receipts a model key signed before
its certificate was revoked stay valid.

Freshness (§5.1.2.5): a CRL past its ``nextUpdate`` *at verification time* (the
verifier's clock, not the receipt's ``issued_at``) no longer says anything about
certificates revoked since, so it is refused (``crl_stale``), required or not;
``grace`` allows a CA's publication lag. A CRL without ``nextUpdate`` is never
fresh. The relying party supplies newer CRLs as they are published.

*Evidence* CRLs are the exception: CRLs recorded beside a receipt (an evidence
bundle, docs/spec/bundle.md "Time") describe the certificate at the time the
receipt was signed, not today, so their freshness is judged at ``evidence_at``
(the receipt's proven signing time), as a DNSSEC RRSIG replayed from a bundle is.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509

from llmseal.errors import ChainValidationError

__all__ = ["RevocationIndex", "effective_revocation_time"]


class RevocationIndex:
    """CRLs indexed by issuer name, with signature checks memoized per issuer.

    Failure codes are the string values of :class:`llmseal.trust.x509.chain.ChainFailure`.
    """

    def __init__(
        self,
        crls: Sequence[x509.CertificateRevocationList],
        *,
        require: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        grace: timedelta = timedelta(0),
        evidence: Sequence[x509.CertificateRevocationList] = (),
        evidence_at: datetime | None = None,
    ) -> None:
        if evidence and evidence_at is None:
            raise ValueError("evidence CRLs need evidence_at")  # programming error
        every = (*crls, *evidence)
        self._by_issuer: dict[bytes, list[x509.CertificateRevocationList]] = {}
        for crl in every:
            self._by_issuer.setdefault(crl.issuer.public_bytes(), []).append(crl)
        self.require = require
        self.clock = clock
        self.grace = grace
        self.evidence_at = evidence_at
        self._verified: dict[tuple[int, x509.Certificate], bool] = {}
        self._crl_index = {id(crl): n for n, crl in enumerate(every)}
        self._evidence = frozenset(range(len(crls), len(every)))
        self._crls = every  # keeps the objects (and so their ids) alive
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._crls)

    def revoked_at(self, path: Sequence[x509.Certificate]) -> datetime | None:
        """Earliest effective revocation time of any certificate of ``path``, or None.

        Raises:
            ChainValidationError: ``crl_invalid`` for a CRL that names an issuer of
                the path but is not signed by it; ``crl_missing`` when CRLs are
                required and none covers the leaf.
        """
        earliest: datetime | None = None
        for index, (cert, issuer) in enumerate(itertools.pairwise(path)):
            crls = self._by_issuer.get(cert.issuer.public_bytes()) if self._by_issuer else None
            if not crls:
                if self.require and index == 0:
                    raise ChainValidationError(
                        f"no CRL from {cert.issuer.rfc4514_string()} was supplied",
                        failure="crl_missing",
                    )
                continue
            for crl in crls:
                if not self._signed_by(crl, issuer):
                    raise ChainValidationError(
                        f"a CRL naming {crl.issuer.rfc4514_string()} is not signed by that CA",
                        failure="crl_invalid",
                    )
                self._check_fresh(crl)
                entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
                if entry is not None:
                    when = effective_revocation_time(entry)
                    earliest = when if earliest is None else min(earliest, when)
        return earliest

    def _check_fresh(self, crl: x509.CertificateRevocationList) -> None:
        next_update = crl.next_update_utc
        evidence = self._crl_index[id(crl)] in self._evidence
        now = self.evidence_at if evidence and self.evidence_at is not None else self.clock()
        if next_update is None or now > next_update + self.grace:
            when = next_update.isoformat() if next_update else "never (no nextUpdate)"
            issuer = crl.issuer.rfc4514_string()
            if evidence:
                message = (
                    f"the recorded CRL of {issuer} was due for renewal at {when}, before the "
                    f"receipt's signing time {now.isoformat()}: it says nothing about that time"
                )
            else:
                message = (
                    f"the CRL of {issuer} was due for renewal at {when}; "
                    f"it is {now.isoformat()}: supply a current CRL"
                )
            raise ChainValidationError(message, failure="crl_stale")

    def _signed_by(self, crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
        key = (self._crl_index[id(crl)], issuer)
        ok = self._verified.get(key)
        if ok is None:
            try:
                ok = crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
            except (TypeError, ValueError):
                ok = False
            with self._lock:
                self._verified[key] = ok
        return ok


def effective_revocation_time(entry: x509.RevokedCertificate) -> datetime:
    """The invalidity date when the CA recorded one (it is earlier), else the revocation date."""
    revoked = entry.revocation_date_utc
    try:
        since = entry.extensions.get_extension_for_class(x509.InvalidityDate).value
    except x509.ExtensionNotFound:
        return revoked
    return min(revoked, since.invalidity_date_utc)
