"""Signing time proven by the log: revocation and X.509 validity judged at the proven time.

The scenario of issue 11: an issuer's key is revoked at R. A receipt that a witness
quorum saw in the log before R stays valid when verified years later. A thief who
stole the key signs receipts dated before R; they reach a compromised log after R,
so their proven time is after R: ``revoked``, whatever ``issued_at`` claims.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.receipt import Receipt
from llmseal.core.sign import sign_exchange
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import ProofError
from llmseal.log.entry import receipt_entry
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.log.tree.merkle import inclusion_proof, leaf_hash, memory_reader
from llmseal.log.tree.proof import LogProof
from llmseal.log.witness.quorum import verify_witnessed_proof
from llmseal.log.witness.witnesspolicy import WitnessPolicy
from llmseal.trust.x509.source import verify_receipt_x509
from tests.logtree import TreeLog
from tests.x509_helpers import Lab, receipt_at

R = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # the revocation
WITNESSES = [CosignatureSigner.generate(f"w{i}.example") for i in range(3)]


def _policy(log: TreeLog) -> WitnessPolicy:
    lines = [f"log {log.signer.vkey()}"]
    lines += [f"witness w{i} {w.vkey()}" for i, w in enumerate(WITNESSES)]
    return WitnessPolicy.parse("\n".join([*lines, "group q 2 w0 w1 w2", "quorum q"]))


def _prove(log: TreeLog, receipt: Receipt, cosign_at: list[datetime]) -> LogProof:
    """Log the receipt and return its proof against a checkpoint cosigned at those times."""
    log.entries.append(receipt_entry(receipt))
    index = len(log.entries) - 1
    cp = log.checkpoint()
    pairs = zip(WITNESSES, cosign_at, strict=False)  # fewer times: fewer witnesses
    lines = [w.cosign(cp.note.text, int(t.timestamp())) for w, t in pairs]
    note = cp.note.with_signatures(*lines)
    path = inclusion_proof(index, cp.size, memory_reader([leaf_hash(e) for e in log.entries]))
    return LogProof(index, tuple(path), note.encode())


def _verify(receipt: Receipt, keys: KeySet, proof: LogProof, log: TreeLog) -> Status:
    witnessed = verify_witnessed_proof(proof, receipt_entry(receipt), policy=_policy(log))
    proven = witnessed.witnessed.require().proven_at
    return verify_receipt(receipt, keys, prompt=REQUEST, output=RESPONSE, proven_at=proven).status


def _sign(signer: Ed25519Signer, at: datetime) -> Receipt:
    return sign_exchange(signer, model_id="m", request=REQUEST, response=RESPONSE, at=at)


def test_revocation_is_judged_at_the_proven_time() -> None:
    log = TreeLog.new(size=5)
    signer = Ed25519Signer.generate("issuer/2026q2")
    keys = KeySet([KeyEntry("issuer/2026q2", signer.public_key()).revoked(R)])
    # Honest: issued an hour before R, cosigned by a quorum ten minutes later.
    honest = _sign(signer, R - timedelta(hours=1))
    proof = _prove(log, honest, [R - timedelta(minutes=50)] * 3)
    assert _verify(honest, keys, proof, log) is Status.VALID
    # Stolen key, backdated two hours before R, first seen by witnesses after R.
    forged = _sign(signer, R - timedelta(hours=2))
    assert verify_receipt(forged, keys).status is Status.VALID  # issued_at alone is fooled
    late = _prove(log, forged, [R + timedelta(minutes=1)] * 3)
    result = verify_receipt(
        forged,
        keys,
        proven_at=verify_witnessed_proof(late, receipt_entry(forged), policy=_policy(log))
        .witnessed.require()
        .proven_at,
    )
    assert result.status is Status.REVOKED
    assert any("first proven at" in r for r in result.reasons)
    assert result.to_dict()["proven_at"] == "2026-06-01T12:01:00Z"


def test_one_lying_witness_cannot_backdate() -> None:
    log = TreeLog.new(size=2)
    signer = Ed25519Signer.generate("issuer/k")
    keys = KeySet([KeyEntry("issuer/k", signer.public_key()).revoked(R)])
    forged = _sign(signer, R - timedelta(days=30))
    # w0 is the thief's accomplice and stamps a time before R; w1, w2 are honest.
    proof = _prove(
        log, forged, [R - timedelta(days=29), R + timedelta(hours=3), R + timedelta(hours=4)]
    )
    assert _verify(forged, keys, proof, log) is Status.REVOKED


def test_a_proof_without_the_quorum_proves_no_time() -> None:
    log = TreeLog.new(size=2)
    signer = Ed25519Signer.generate("issuer/k")
    receipt = _sign(signer, R)
    proof = _prove(log, receipt, [R])  # one cosignature; the quorum needs two
    witnessed = verify_witnessed_proof(proof, receipt_entry(receipt), policy=_policy(log))
    assert witnessed.proven_at is None
    with pytest.raises(ProofError, match="not cosigned by the witness quorum"):
        witnessed.witnessed.require()
    # And the entry must be the receipt the proof is for.
    other = _sign(signer, R + timedelta(seconds=1))
    with pytest.raises(ProofError):
        verify_witnessed_proof(proof, receipt_entry(other), policy=_policy(log))


def test_x509_expiry_is_harmless_inside_the_proven_validity() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    lab = Lab(t0)
    cert, signer = lab.leaf(days=30)  # valid t0 .. t0+30d
    validator = lab.validator()
    log = TreeLog.new(size=1)
    policy = _policy(log)
    inside = receipt_at(signer, t0 + timedelta(days=10))
    proof = _prove(log, inside, [t0 + timedelta(days=10, minutes=1)] * 3)
    proven = verify_witnessed_proof(proof, receipt_entry(inside), policy=policy).proven_at
    result = verify_receipt_x509(inside, lab.x5c(cert), validator, name=None,
                                 domain="lab.example", proven_at=proven)  # fmt: skip
    assert result.status is Status.VALID
    # Backdated into the validity window, but first proven after the leaf expired.
    backdated = receipt_at(signer, t0 + timedelta(days=20))
    late = _prove(log, backdated, [t0 + timedelta(days=40)] * 3)
    proven = verify_witnessed_proof(late, receipt_entry(backdated), policy=policy).proven_at
    result = verify_receipt_x509(backdated, lab.x5c(cert), validator, domain="lab.example",
                                 proven_at=proven)  # fmt: skip
    assert result.status is Status.UNKNOWN_KEY and result.failure == "expired"
