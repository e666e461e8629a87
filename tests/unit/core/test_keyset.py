"""The key set: issuer binding, status values, one entry per key id, the revocation timeline."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import pytest

from llmseal.core.keys import EcdsaP256Signer, Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import issue_receipt
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import KeySetError

HEX = "ab" * 32


def _bound(issuer: str) -> KeyEntry:
    key = Ed25519Signer.generate("k").public_key()
    return KeyEntry("k", key, extra=MappingProxyType({"bound_issuer": issuer}))


@pytest.mark.parametrize("claim", ["example.com", "api.example.com", "a.b.example.com"])
def test_a_bound_key_speaks_for_its_domain_and_below(claim: str) -> None:
    assert _bound("example.com").issuer_allowed(claim)


@pytest.mark.parametrize(
    "claim",
    ["evilexample.com", "example.com.evil", "xexample.com", "example.co", "com", "", None, 7],
)
def test_a_bound_key_refuses_lookalike_and_missing_issuers(claim: object) -> None:
    # A suffix match without the dot would let example.com's key vouch for evilexample.com.
    assert not _bound("example.com").issuer_allowed(claim)


def test_an_unbound_key_does_not_judge_the_issuer() -> None:
    entry = KeyEntry("k", Ed25519Signer.generate("k").public_key())
    assert entry.bound_issuer is None
    assert entry.issuer_allowed(None) and entry.issuer_allowed("anyone.example")
    assert KeyEntry("k", entry.public_key, extra={"bound_issuer": 3}).bound_issuer is None


def _wire(signer: Ed25519Signer, **members: Any) -> dict[str, Any]:
    return {**KeyEntry(signer.key_id, signer.public_key()).to_dict(), **members}


@pytest.mark.parametrize("status", ["REVOKED", "Revoked", "retired", "inactive", "", None, 1])
def test_an_unknown_status_is_refused_not_treated_as_active(status: object) -> None:
    wire = _wire(Ed25519Signer.generate("k1"), status=status)
    with pytest.raises(KeySetError, match="status must be 'active' or 'revoked'"):
        KeyEntry.from_dict(wire)
    with pytest.raises(KeySetError):
        KeySet.from_obj({"keys": [wire]})


def test_status_defaults_to_active_and_revoked_is_read(t0: datetime) -> None:
    signer = Ed25519Signer.generate("k1")
    wire = _wire(signer)
    del wire["status"]
    assert KeyEntry.from_dict(wire).status == "active"
    revoked = KeyEntry.from_dict(_wire(signer, status="revoked", rotated_at="2026-04-12T14:32:00Z"))
    assert revoked.status == "revoked" and revoked.rotated_at == t0
    assert revoked.revoked_as_of(t0) and not revoked.revoked_as_of(t0 - timedelta(seconds=1))


def test_a_key_id_listed_twice_is_refused(t0: datetime) -> None:
    # Otherwise a later "active" entry could shadow the revoked one for the same key.
    signer = Ed25519Signer.generate("k1")
    revoked = _wire(signer, status="revoked", rotated_at="2026-01-01T00:00:00Z")
    active = _wire(signer)
    for entries in ([revoked, active], [active, revoked]):
        with pytest.raises(KeySetError, match="lists key_id 'k1' twice"):
            KeySet.from_obj({"keys": entries})
    entry = KeyEntry(signer.key_id, signer.public_key())
    with pytest.raises(KeySetError, match="twice"):
        KeySet([entry, entry.revoked(t0)])


def test_with_entry_replaces_the_entry_of_the_same_key_id(t0: datetime) -> None:
    signer, other = Ed25519Signer.generate("k1"), Ed25519Signer.generate("k2")
    keyset = KeySet([KeyEntry("k1", signer.public_key()), KeyEntry("k2", other.public_key())])
    updated = keyset.with_entry(KeyEntry("k1", signer.public_key()).revoked(t0))
    assert len(updated) == 2 and [e.key_id for e in updated] == ["k1", "k2"]
    assert updated.resolve("k1").status == "revoked"  # type: ignore[union-attr]
    assert keyset.resolve("k1").status == "active"  # type: ignore[union-attr]
    receipt = issue_receipt(signer, model_id="m", prompt_hash=HEX, output_hash=HEX, at=t0)
    assert verify_receipt(receipt, updated).status is Status.REVOKED
    assert verify_receipt(receipt, keyset).status is Status.VALID


def test_resolve_is_exact() -> None:
    keyset = KeySet([KeyEntry("k1", Ed25519Signer.generate("k1").public_key())])
    assert keyset.resolve("k1") is not None and "k1" in keyset
    for other in ("k10", "K1", "k1 ", "", "k"):
        assert keyset.resolve(other) is None and other not in keyset
    assert repr(keyset) == "KeySet(['k1'])"


def test_round_trip_keeps_algorithm_times_and_unknown_members(t0: datetime) -> None:
    p256 = EcdsaP256Signer.generate("p")
    wire = {
        "key_id": "p", "public_key": p256.public_key().b64(), "status": "revoked",
        "created_at": "2026-01-01T00:00:00Z", "rotated_at": "2026-04-12T14:32:00Z",
        "algorithm": "ecdsa-p256", "note": {"kept": True},
    }  # fmt: skip
    entry = KeyEntry.from_dict(wire)
    assert entry.public_key.algorithm == "ecdsa-p256" and entry.extra == {"note": {"kept": True}}
    assert entry.created_at == t0.replace(month=1, day=1, hour=0, minute=0)
    assert KeySet.from_obj([wire]).to_dict() == {"keys": [wire]}
    ed = KeyEntry("e", Ed25519Signer.generate("e").public_key()).to_dict()
    assert "algorithm" not in ed and ed["created_at"] is None and ed["rotated_at"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key_id": ""}, "without a string key_id"),
        ({"key_id": 5}, "without a string key_id"),
        ({"public_key": None}, "public_key must be a base64 string"),
        ({"public_key": "!!"}, "not standard base64"),
        ({"algorithm": 1}, "algorithm must be a string"),
        ({"algorithm": "rsa"}, "unsupported key algorithm"),
        ({"created_at": 5}, "created_at must be an RFC 3339 string or null"),
        ({"rotated_at": "yesterday"}, "key 'k1'"),
    ],
)
def test_malformed_entries_say_what_is_wrong(change: dict[str, Any], message: str) -> None:
    wire = {**_wire(Ed25519Signer.generate("k1")), **change}
    with pytest.raises(KeySetError, match=message):
        KeyEntry.from_dict(wire)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"key": []}, "must have a 'keys' member"),
        ({"keys": {}}, "an object with a 'keys' array"),
        ("keys", "an object with a 'keys' array"),
        ([1], "must be a JSON object"),
    ],
)
def test_malformed_key_sets(data: Any, message: str) -> None:
    with pytest.raises(KeySetError, match=message):
        KeySet.from_obj(data)
    with pytest.raises(KeySetError, match="key set is not valid JSON"):
        KeySet.from_json("{")
