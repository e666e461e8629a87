"""One receipt's bundle: format, key-set evidence against pinned keys, content, log proofs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.bundle.anchors import Anchors
from llmseal.bundle.create import item_from_response, make_bundle
from llmseal.bundle.format import Bundle
from llmseal.bundle.verify import verify_bundle
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.policy import Policy
from llmseal.core.verify import Status
from llmseal.errors import BundleError
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.log.trust import LogTrust
from tests.bundle_helpers import T0, Issuer, Log, item, later, mutate

NOW = later(60)
ISSUER = Issuer("api.lab.example")


def _sealed(issuer: Issuer = ISSUER) -> tuple[dict[str, Any], Any]:
    receipt = issuer.seal(REQUEST, RESPONSE)
    return {**RESPONSE, "receipt": receipt.to_dict()}, receipt


def _one(**evidence: Any) -> Bundle:
    response, _ = _sealed()
    built = item_from_response(response, request=REQUEST, keyset=ISSUER.keyset(), **evidence)
    return make_bundle([built], at=NOW)


def _roundtrip(bundle: Bundle | dict[str, Any]) -> Bundle:
    data = bundle.to_dict() if isinstance(bundle, Bundle) else bundle
    return Bundle.from_json(Bundle.from_dict(data).to_json())


def test_a_bundle_with_a_pinned_key_verifies_and_round_trips() -> None:
    bundle = _roundtrip(_one())
    result = verify_bundle(bundle, Anchors(keys=(ISSUER.keyset(),)), at=NOW)
    assert result, result.reasons()
    assert result.items[0].verification.content_checked == ("prompt", "output")
    assert result.items[0].key_source == "keyset"


def test_a_bundle_that_brings_its_own_key_is_never_valid() -> None:
    thief = Issuer("api.lab.example")  # same name, another key
    response, _ = _sealed(thief)
    forged = make_bundle(
        [item_from_response(response, request=REQUEST, keyset=thief.keyset())], at=NOW
    )
    # The verifier pins the real issuer's keys: the snapshot roots nothing.
    result = verify_bundle(forged, Anchors(keys=(ISSUER.keyset(),)), at=NOW)
    assert not result
    assert result.items[0].verification.status is Status.UNKNOWN_KEY
    # And with no anchor at all, nothing is trusted.
    bare = verify_bundle(forged, Anchors(), at=NOW)
    assert not bare and "rooted in none" in bare.reasons()[0]


def test_a_snapshot_that_names_another_public_key_for_the_key_id_fails() -> None:
    other = Issuer("x")
    data = _one().to_dict()
    entry = data["items"][0]["evidence"]["keyset"]["keys"][0]
    entry["public_key"] = other.signer.public_key().b64()
    result = verify_bundle(_roundtrip(data), Anchors(keys=(ISSUER.keyset(),)), at=NOW)
    assert result.items[0].verification.status is Status.UNKNOWN_KEY
    assert "snapshot_mismatch" in " ".join(result.reasons())


def test_a_revocation_in_the_snapshot_counts_when_the_pinned_set_is_older() -> None:
    data = _one().to_dict()
    data["items"][0]["evidence"]["keyset"] = (
        ISSUER.keyset().with_entry(ISSUER.entry.revoked(T0 - timedelta(minutes=1))).to_dict()
    )
    result = verify_bundle(_roundtrip(data), Anchors(keys=(ISSUER.keyset(),)), at=NOW)
    assert result.items[0].verification.status is Status.REVOKED


@pytest.mark.parametrize(
    ("path", "value", "status"),
    [
        (("items", 0, "response", "choices", 0, "message", "content"), "Forged.", "tampered"),
        (("items", 0, "request", "messages", 1, "content"), "Another question", "tampered"),
        (("items", 0, "receipt", "model_id"), "gpt-5", "tampered"),
        (("items", 0, "receipt", "issuer"), "other.example", "tampered"),
    ],
)
def test_any_change_to_receipt_or_content_is_found(
    path: tuple[Any, ...], value: Any, status: str
) -> None:
    tampered = mutate(_one().to_dict(), path, value)
    result = verify_bundle(_roundtrip(tampered), Anchors(keys=(ISSUER.keyset(),)), at=NOW)
    assert not result
    assert result.items[0].verification.status.value == status


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(bundle="llmseal-bundle/9"), "format"),
        (lambda d: d.update(extra=1), "unknown member"),
        (lambda d: d.update(subject="nope"), "subject"),
        (lambda d: d["items"].append(d["items"][0]), "twice"),
        (lambda d: d["items"][0].update(evidence=[]), "evidence must be an object"),
        (lambda d: d["items"][0]["receipt"].pop("nonce"), "nonce"),
        (lambda d: d["items"][0]["evidence"].update(log=5), "tlog-proof"),
        (lambda d: d.update(items=[]), "at least one"),
    ],
)
def test_a_malformed_bundle_is_refused_with_the_reason(change: Any, message: str) -> None:
    data = _one().to_dict()
    change(data)
    with pytest.raises(BundleError, match=message):
        Bundle.from_dict(data)


def test_not_json_is_a_bundle_error() -> None:
    with pytest.raises(BundleError, match="JSON"):
        Bundle.from_json(b"{not json")


def test_a_log_proof_verifies_against_the_verifiers_log_key_only() -> None:
    log = Log()
    response, receipt = _sealed()
    built = item_from_response(
        response, request=REQUEST, keyset=ISSUER.keyset(), log_proof=log.prove(receipt)
    )
    bundle = _roundtrip(make_bundle([built], at=NOW))
    policy = Policy(require_logged=True)
    trusted = Anchors(keys=(ISSUER.keyset(),), logs=LogTrust.from_vkeys([log.vkey]))
    result = verify_bundle(bundle, trusted, at=NOW, policy=policy)
    assert result, result.reasons()
    assert result.items[0].log is not None and result.items[0].log["verified"] is True
    # Another log's key: the proof is not trusted, and require_logged refuses.
    stranger = Anchors(keys=(ISSUER.keyset(),), logs=LogTrust.from_vkeys([Log().vkey]))
    refused = verify_bundle(bundle, stranger, at=NOW, policy=policy)
    assert not refused and "not signed by a trusted key" in " ".join(refused.reasons())


def test_a_log_proof_of_another_receipt_does_not_verify() -> None:
    log = Log()
    response, _ = _sealed()
    _, other = _sealed()
    built = item_from_response(
        response, request=REQUEST, keyset=ISSUER.keyset(), log_proof=log.prove(other)
    )
    anchors = Anchors(keys=(ISSUER.keyset(),), logs=LogTrust.from_vkeys([log.vkey]))
    result = verify_bundle(make_bundle([built], at=NOW), anchors, at=NOW)
    assert not result
    assert "log proof does not verify" in " ".join(result.reasons())


def test_a_witnessed_proof_gives_the_proven_time_revocation_is_judged_at() -> None:
    witnesses = tuple(CosignatureSigner.generate(f"w{i}.example") for i in range(3))
    log = Log()
    revoked_at = later(30)
    keys = KeySet([ISSUER.entry.revoked(revoked_at)])
    response, receipt = _sealed()  # issued at T0, before the revocation
    for cosigned, status in ((later(10), Status.VALID), (later(40), Status.REVOKED)):
        proof = log.prove(receipt, witnesses, at=cosigned)
        built = item_from_response(response, request=REQUEST, log_proof=proof)
        anchors = Anchors(
            keys=(keys,), logs=LogTrust.from_vkeys([log.vkey]),
            witnesses=log.witness_policy(witnesses, 2),
        )  # fmt: skip
        result = verify_bundle(make_bundle([built], at=NOW), anchors, at=NOW)
        assert result.items[0].verification.status is status
        assert result.items[0].log is not None and result.items[0].log["witnessed"] is True


def test_the_bundle_for_a_2kb_answer_with_keyset_and_log_proof_is_under_8kb() -> None:
    log = Log()
    response, receipt = _sealed()
    built = item_from_response(
        response, request=REQUEST, keyset=ISSUER.keyset(), log_proof=log.prove(receipt)
    )
    size = len(make_bundle([built], at=NOW).to_json())
    assert size <= 8 * 1024, size


def test_a_policy_applies_to_every_receipt_in_the_bundle() -> None:
    bundle = _one()
    policy = Policy(issuers=("other.example",))
    result = verify_bundle(bundle, Anchors(keys=(ISSUER.keyset(),)), at=NOW, policy=policy)
    assert not result
    assert any("policy rule issuers" in r for r in result.reasons())
    assert callable(item)  # the helper module is importable for the other bundle tests


def test_required_witnesses_refuse_an_unwitnessed_or_missing_proof() -> None:
    witnesses = tuple(CosignatureSigner.generate(f"w{i}.example") for i in range(3))
    log = Log()
    response, receipt = _sealed()
    policy = log.witness_policy(witnesses, 2)
    anchors = Anchors(keys=(ISSUER.keyset(),), logs=LogTrust.from_vkeys([log.vkey]),
                      witnesses=policy, require_witnessed=True)  # fmt: skip
    for proof, ok in ((log.prove(receipt, witnesses[:1]), False), (None, False),
                      (log.prove(receipt, witnesses[:2]), True)):  # fmt: skip
        built = item_from_response(response, request=REQUEST, log_proof=proof)
        result = verify_bundle(make_bundle([built], at=NOW), anchors, at=NOW)
        assert bool(result) is ok, result.reasons()
        if not ok:
            assert "witness quorum" in " ".join(result.reasons())


@pytest.mark.parametrize(
    ("pinned_at", "snapshot_at", "status"),
    [
        (None, later(-1), Status.REVOKED),  # only the snapshot knows: it counts
        (later(-1), None, Status.REVOKED),  # only the pinned set knows
        (later(30), later(-1), Status.REVOKED),  # both: the earliest wins
        (later(-1), later(30), Status.REVOKED),
        (later(30), later(40), Status.VALID),  # both after issuance: valid then
        ("always", None, Status.REVOKED),  # revoked with no timeline: for every receipt
        (None, "always", Status.REVOKED),
    ],
)
def test_revocation_from_pinned_set_and_snapshot_the_earliest_wins(
    pinned_at: Any, snapshot_at: Any, status: Status
) -> None:
    def entry(at: Any) -> Any:
        if at is None:
            return ISSUER.entry
        if at == "always":
            return KeyEntry(ISSUER.entry.key_id, ISSUER.entry.public_key, status="revoked")
        return ISSUER.entry.revoked(at)

    data = _one().to_dict()
    data["items"][0]["evidence"]["keyset"] = KeySet([entry(snapshot_at)]).to_dict()
    pinned = KeySet([entry(pinned_at)])
    result = verify_bundle(_roundtrip(data), Anchors(keys=(pinned,)), at=NOW)
    assert result.items[0].verification.status is status, result.reasons()
    if status is Status.REVOKED and pinned_at not in (None, "always") and snapshot_at:
        # The reason names the earliest of the two times.
        earliest = min(t for t in (pinned_at, snapshot_at) if t != "always")
        assert earliest.isoformat() in " ".join(result.reasons())


def test_the_snapshot_mismatch_names_the_key() -> None:
    other = Issuer("x")
    data = _one().to_dict()
    data["items"][0]["evidence"]["keyset"]["keys"][0]["public_key"] = (
        other.signer.public_key().b64()
    )
    result = verify_bundle(_roundtrip(data), Anchors(keys=(ISSUER.keyset(),)), at=NOW)
    assert "another public key than the verifier's pinned key set" in " ".join(result.reasons())


def test_pinned_keys_and_dnssec_together_use_whichever_knows_the_key() -> None:
    from tests.dns_zones import Zone

    zone = Zone("lab.example.")
    anchors = Anchors(keys=(ISSUER.keyset(),), dns=zone.anchor())
    assert verify_bundle(_one(), anchors, at=NOW)
    assert not verify_bundle(_one(), Anchors(keys=(Issuer("y").keyset(),), dns=zone.anchor()),
                             at=NOW)  # fmt: skip
