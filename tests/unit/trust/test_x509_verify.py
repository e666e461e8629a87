"""Path validation of receipt chains: every failure has its own code, every attack fails."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import ChainValidationError
from llmseal.trust.x509 import profile
from llmseal.trust.x509.chain import ChainFailure, ChainValidator, TrustAnchors
from llmseal.trust.x509.pem import chain_to_pem
from llmseal.trust.x509.source import X509KeySource, verify_receipt_x509
from tests.x509_helpers import DOMAIN, MODEL, NAME, Lab, raw_cert, receipt_at


@pytest.fixture
def lab(t0: datetime) -> Lab:
    return Lab(t0)


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "ed25519"])
def test_valid_receipt_with_chain(lab: Lab, t0: datetime, algorithm: str) -> None:
    leaf, signer = lab.leaf(algorithm=algorithm)
    receipt = receipt_at(signer, t0 + timedelta(days=3))
    result = verify_receipt_x509(
        receipt, lab.x5c(leaf), lab.validator(), domain=DOMAIN, prompt=REQUEST, output=RESPONSE
    )
    assert result.status is Status.VALID, result.reasons
    assert result.failure is None
    assert result.to_dict()["x509"]["chain"] == "ok"
    assert result.to_dict()["x509"]["name"] == NAME
    assert result.verification.content_checked == ("prompt", "output")


def test_content_tampering_is_still_detected(lab: Lab, t0: datetime) -> None:
    leaf, signer = lab.leaf()
    receipt = receipt_at(signer, t0 + timedelta(days=3))
    other = {**RESPONSE, "model": "something-else"}
    result = verify_receipt_x509(receipt, lab.x5c(leaf), lab.validator(), name=NAME, output=other)
    assert result.status is Status.TAMPERED


def _failure(lab: Lab, chain: object, receipt: object, **kwargs: object) -> ChainFailure | None:
    result = verify_receipt_x509(receipt, chain, lab.validator(), **kwargs)  # type: ignore[arg-type]
    assert result.status is not Status.VALID
    assert result.reasons and result.reasons[0].startswith("certificate chain rejected (")
    return result.failure


@pytest.mark.parametrize("offset", [timedelta(days=-1), timedelta(days=366)])
def test_expired_at_issuance(lab: Lab, t0: datetime, offset: timedelta) -> None:
    leaf, signer = lab.leaf()
    receipt = receipt_at(signer, t0 + offset)  # before not_before / after not_after
    assert _failure(lab, lab.x5c(leaf), receipt, name=NAME) is ChainFailure.EXPIRED


def test_validated_at_issued_at_not_now(lab: Lab, t0: datetime) -> None:
    # The leaf has long expired "now" (2126), but the receipt is judged at issued_at.
    leaf, signer = lab.leaf()
    receipt = receipt_at(signer, t0 + timedelta(days=10))
    validator = lab.validator()
    assert verify_receipt_x509(receipt, lab.x5c(leaf), validator, name=NAME)
    later = receipt_at(signer, t0 + timedelta(days=400))  # same chain, cached, now out of range
    result = verify_receipt_x509(later, lab.x5c(leaf), validator, name=NAME)
    assert result.failure is ChainFailure.EXPIRED


def test_wrong_san(lab: Lab, t0: datetime) -> None:
    leaf, signer = lab.leaf(names=("gemma.models.lab.example",))
    receipt = receipt_at(signer, t0 + timedelta(days=1))  # claims model smollm2
    assert _failure(lab, lab.x5c(leaf), receipt, domain=DOMAIN) is ChainFailure.WRONG_NAME
    assert _failure(lab, lab.x5c(leaf), receipt, name=NAME) is ChainFailure.WRONG_NAME


def test_model_claim_must_match_the_certificate_name(lab: Lab, t0: datetime) -> None:
    leaf, signer = lab.leaf()  # certificate for smollm2
    receipt = receipt_at(signer, t0 + timedelta(days=1), model="gemma")  # claims another model
    assert _failure(lab, lab.x5c(leaf), receipt, domain=DOMAIN) is ChainFailure.WRONG_NAME


def test_untrusted_root(lab: Lab, t0: datetime) -> None:
    stranger = Lab(t0, org="Example Lab")  # same names, other keys
    leaf, signer = stranger.leaf()
    receipt = receipt_at(signer, t0 + timedelta(days=1))
    assert _failure(lab, stranger.x5c(leaf), receipt, name=NAME) is ChainFailure.UNTRUSTED_ROOT


def test_missing_intermediate_is_untrusted(lab: Lab, t0: datetime) -> None:
    leaf, signer = lab.leaf()
    receipt = receipt_at(signer, t0 + timedelta(days=1))
    chain = chain_to_pem([leaf])
    assert _failure(lab, chain, receipt, name=NAME) is ChainFailure.UNTRUSTED_ROOT


@pytest.mark.parametrize("basic_constraints", [True, False])
def test_non_ca_intermediate(lab: Lab, t0: datetime, basic_constraints: bool) -> None:
    # An end-entity certificate of the lab (not a CA, or saying nothing) signs a "leaf".
    ee_key = ec.generate_private_key(ec.SECP256R1())
    fake_ca = raw_cert(
        "relay", ee_key.public_key(), lab.inter, lab.inter_key, at=t0, ca=False, names=("r.x.io",),
        basic_constraints=basic_constraints,
    )  # fmt: skip
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = raw_cert("m", leaf_key.public_key(), fake_ca, ee_key, at=t0, ca=False, names=(NAME,))
    from llmseal.core.keys import EcdsaP256Signer

    signer = EcdsaP256Signer(profile.spki_key_id(leaf_key.public_key()), leaf_key)
    receipt = receipt_at(signer, t0 + timedelta(days=1))
    chain = chain_to_pem([leaf, fake_ca, lab.inter])
    assert _failure(lab, chain, receipt, name=NAME) is ChainFailure.NOT_CA


def test_key_id_not_the_leaf(lab: Lab, t0: datetime) -> None:
    leaf, _ = lab.leaf()
    _, other_signer = lab.leaf()
    # Signed by a key whose key_id names it, with a chain for another key.
    receipt = receipt_at(other_signer, t0 + timedelta(days=1))
    assert _failure(lab, lab.x5c(leaf), receipt, name=NAME) is ChainFailure.KEY_MISMATCH


def test_chain_swapped_for_another_trusted_one(lab: Lab, t0: datetime) -> None:
    """A relay holding its own valid certificate under the same trusted root."""
    genuine_leaf, genuine = lab.leaf()
    relay_leaf, relay = lab.leaf(names=("relay.lab.example",))
    genuine_receipt = receipt_at(genuine, t0 + timedelta(days=1))
    # 1. keep the genuine receipt, swap in the relay's chain: the key binding fails.
    swapped = _failure(lab, lab.x5c(relay_leaf), genuine_receipt, name=NAME)
    assert swapped in (ChainFailure.WRONG_NAME, ChainFailure.KEY_MISMATCH)
    # 2. fabricate and re-sign with the relay's own key and chain: the pinned name fails.
    forged = receipt_at(relay, t0 + timedelta(days=1))
    assert _failure(lab, lab.x5c(relay_leaf), forged, name=NAME) is ChainFailure.WRONG_NAME
    # 3. a second genuine certificate for the same name, with the first one's receipt.
    second_leaf, _ = lab.leaf()
    assert (
        _failure(lab, lab.x5c(second_leaf), genuine_receipt, name=NAME) is ChainFailure.KEY_MISMATCH
    )
    assert verify_receipt_x509(genuine_receipt, lab.x5c(genuine_leaf), lab.validator(), name=NAME)


def test_malformed_chain(lab: Lab, t0: datetime) -> None:
    _, signer = lab.leaf()
    receipt = receipt_at(signer, t0 + timedelta(days=1))
    for chain in ([], ["not a cert"], [{"x": 1}], "garbage", [1, 2]):
        assert _failure(lab, chain, receipt, name=NAME) is ChainFailure.MALFORMED


def test_ed25519_signed_ca_is_refused_by_the_web_pki_profile(t0: datetime) -> None:
    with pytest.raises(Exception, match="ECDSA P-256"):
        profile.build_root(ed25519_key(), org="x", at=t0)  # type: ignore[arg-type]


def ed25519_key() -> object:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.generate()


def test_key_source_plugs_into_core_verify(lab: Lab, t0: datetime) -> None:
    leaf, signer = lab.leaf()
    receipt = receipt_at(signer, t0 + timedelta(days=1))
    source = X509KeySource.for_receipt(lab.validator(), lab.x5c(leaf), receipt, name=NAME)
    assert verify_receipt(receipt, source, output=RESPONSE).status is Status.VALID
    bad = X509KeySource.for_receipt(lab.validator(), lab.x5c(leaf), receipt, name="x.lab.example")
    assert verify_receipt(receipt, bad).status is Status.UNKNOWN_KEY
    assert bad.failure is not None and bad.failure.failure == "wrong_name"


def test_cache_is_keyed_by_chain_and_name(lab: Lab, t0: datetime) -> None:
    leaf, _ = lab.leaf()
    validator = lab.validator()
    chain = lab.x5c(leaf)
    first = validator.validate(chain, name=NAME, at=t0 + timedelta(days=1))
    assert validator.validate(list(chain), name=NAME, at=t0 + timedelta(days=2)) is first
    with pytest.raises(ChainValidationError) as info:
        validator.validate(chain, name="other.models.lab.example", at=t0 + timedelta(days=1))
    assert info.value.failure == "wrong_name"
    with pytest.raises(ChainValidationError):
        validator.validate(chain, name=NAME, at=t0 - timedelta(days=1))


def test_system_trust_store_is_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmseal.trust.x509 import pem as x509pem

    x509pem._load_system.cache_clear()
    calls = []
    real = x509.load_pem_x509_certificates  # the module pem.py calls it through

    def counting(data: bytes) -> object:
        calls.append(1)
        return real(data)

    monkeypatch.setattr(x509, "load_pem_x509_certificates", counting)
    first = TrustAnchors.system()
    loads = len(calls)
    assert loads >= 1
    for _ in range(5):
        assert TrustAnchors.system() is first
    assert len(calls) == loads
    assert len(first.certificates) > 10
    x509pem._load_system.cache_clear()


def test_system_anchors_reject_a_private_chain(lab: Lab, t0: datetime) -> None:
    leaf, signer = lab.leaf()
    receipt = receipt_at(signer, t0 + timedelta(days=1))
    validator = ChainValidator(TrustAnchors.system())
    result = verify_receipt_x509(receipt, lab.x5c(leaf), validator, name=NAME)
    assert result.failure is ChainFailure.UNTRUSTED_ROOT


def test_model_must_make_a_dns_name(lab: Lab, t0: datetime) -> None:
    from llmseal.errors import InputError

    leaf, signer = lab.leaf()
    receipt = receipt_at(signer, t0 + timedelta(days=1), model="org/model_v1")
    with pytest.raises(InputError, match="DNS name"):
        verify_receipt_x509(receipt, lab.x5c(leaf), lab.validator(), domain=DOMAIN)
    assert MODEL in NAME


ISO = "%Y-%m-%dT%H:%M:%SZ"


def test_validated_chain_window_description_and_key(lab: Lab, t0: datetime) -> None:
    leaf, signer = lab.leaf()
    chain = lab.validator().validate(lab.x5c(leaf), name=NAME, at=t0 + timedelta(days=1))
    start = max(c.not_valid_before_utc for c in (leaf, lab.inter, lab.root))
    end = min(c.not_valid_after_utc for c in (leaf, lab.inter, lab.root))
    assert (chain.valid_from, chain.valid_until) == (start, end)
    assert chain.covers(start) and chain.covers(end)  # both ends inclusive
    assert not chain.covers(start - timedelta(seconds=1))
    assert not chain.covers(end + timedelta(seconds=1))
    assert chain.describe() == {
        "name": NAME, "subject": leaf.subject.rfc4514_string(),
        "issuer": lab.inter.subject.rfc4514_string(), "serial": format(leaf.serial_number, "x"),
        "key_id": signer.key_id, "not_before": leaf.not_valid_before_utc.strftime(ISO),
        "not_after": leaf.not_valid_after_utc.strftime(ISO),
        "root": lab.root.subject.rfc4514_string(),
    }  # fmt: skip
    assert chain.receipt_key() == signer.public_key()
