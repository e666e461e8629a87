"""A bundle's CRL is judged at the receipt's proven signing time, like its DNSSEC chain.

Timeline (days after T0): the leaf is issued at 0 and valid for a year; the
receipt is signed at 10. The bundle's CRL says what the CA knew then; the
verifier's own CRLs (``--crl``) remain its current knowledge, judged now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.bundle.anchors import Anchors
from llmseal.bundle.create import item_from_response, make_bundle
from llmseal.bundle.format import Bundle
from llmseal.bundle.result import BundleResult
from llmseal.bundle.verify import verify_bundle
from llmseal.core.receipt import Receipt
from llmseal.core.sign import sign_exchange
from llmseal.core.verify import Status
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.log.trust import LogTrust
from llmseal.trust.x509.chain import TrustAnchors
from tests.bundle_helpers import Log
from tests.x509_helpers import DOMAIN, Lab

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SIGNED = T0 + timedelta(days=10)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def _crl(lab: Lab, *, issued: float, due: float, revoked: dict[int, float]) -> str:
    """A CRL of the lab's intermediate, issued at day ``issued``, next update at ``due``."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(lab.inter.subject)
        .last_update(day(issued))
        .next_update(day(due))
    )
    for serial, when in revoked.items():
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(day(when))
            .build()
        )
    crl = builder.sign(lab.inter_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM).decode("ascii")


class Setup:
    def __init__(self) -> None:
        self.lab = Lab(T0)
        self.leaf, signer = self.lab.leaf(at=T0)
        self.receipt: Receipt = sign_exchange(
            signer, model_id="smollm2", request=REQUEST, response=RESPONSE, at=SIGNED
        )
        self.roots = TrustAnchors([self.lab.root], source="lab root")

    def bundle(self, crl: str, log_proof: str | None = None) -> Bundle:
        response = {**RESPONSE, "receipt": self.receipt.to_dict(),
                    "receipt_evidence": {"x5c": self.lab.x5c(self.leaf)}}  # fmt: skip
        built = item_from_response(response, request=REQUEST, crls=[crl], log_proof=log_proof)
        return Bundle.from_json(make_bundle([built], at=SIGNED).to_json())

    def verify(self, bundle: Bundle, *, now: datetime, **anchors: object) -> BundleResult:
        chosen = Anchors(ca_roots=self.roots, x509_domain=DOMAIN, **anchors)  # type: ignore[arg-type]
        return verify_bundle(bundle, chosen, at=now)


def test_a_cert_revoked_after_the_signing_time_still_verifies_long_after() -> None:
    s = Setup()
    crl = _crl(s.lab, issued=20, due=50, revoked={s.leaf.serial_number: 15})
    # Verified on day 200: the CRL's nextUpdate (day 50) is long past; it still
    # tells what was known about day 10, as a replayed RRSIG does.
    result = s.verify(s.bundle(crl), now=day(200))
    assert result, result.reasons()


def test_a_cert_revoked_before_the_signing_time_fails() -> None:
    s = Setup()
    crl = _crl(s.lab, issued=20, due=50, revoked={s.leaf.serial_number: 8})
    result = s.verify(s.bundle(crl), now=day(200))
    assert result.items[0].verification.status is Status.REVOKED


def test_a_crl_already_past_its_next_update_at_the_signing_time_is_refused() -> None:
    s = Setup()
    stale = _crl(s.lab, issued=1, due=5, revoked={})  # due on day 5, signed on day 10
    result = s.verify(s.bundle(stale), now=day(11))
    assert result.items[0].verification.status is Status.UNKNOWN_KEY
    assert "crl_stale" in " ".join(result.reasons())
    assert "before the receipt's signing time" in " ".join(result.reasons())
    # Current at the signing time (issued before it): accepted.
    current = _crl(s.lab, issued=1, due=12, revoked={})
    assert s.verify(s.bundle(current), now=day(300))


def test_the_verifiers_own_crls_are_still_judged_now() -> None:
    s = Setup()
    fresh = _crl(s.lab, issued=20, due=50, revoked={})
    mine = x509.load_pem_x509_crl(_crl(s.lab, issued=20, due=50, revoked={}).encode())
    result = s.verify(s.bundle(fresh), now=day(200), crls=(mine,))
    assert result.items[0].verification.status is Status.UNKNOWN_KEY
    assert "supply a current CRL" in " ".join(result.reasons())
    assert s.verify(s.bundle(fresh), now=day(40), crls=(mine,))


def test_with_a_witnessed_log_proof_the_proven_time_is_the_signing_time() -> None:
    s = Setup()
    witness = CosignatureSigner.generate("witness.example/w0")
    log = Log()
    # Claimed day 10, first cosigned on day 16: judged at day 16.
    proof = log.prove(s.receipt, (witness,), at=day(16))
    logs = {"logs": LogTrust.from_vkeys([log.vkey]), "witnesses": log.witness_policy((witness,), 1)}
    revoked_between = _crl(s.lab, issued=20, due=50, revoked={s.leaf.serial_number: 13})
    result = s.verify(s.bundle(revoked_between, proof), now=day(200), **logs)
    assert result.items[0].verification.status is Status.REVOKED, result.reasons()
    assert result.items[0].log and result.items[0].log["proven_at"].startswith("2026-01-17")
    # A CRL current on day 10 but past its nextUpdate by day 16 says nothing about day 16.
    lapsed = _crl(s.lab, issued=9, due=14, revoked={})
    late = s.verify(s.bundle(lapsed, proof), now=day(200), **logs)
    assert "crl_stale" in " ".join(late.reasons())
    # Without the log proof, the same CRL is judged at issued_at and holds.
    assert s.verify(s.bundle(lapsed), now=day(200))
