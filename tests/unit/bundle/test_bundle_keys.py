"""Key evidence judged offline: a recorded DNSSEC chain, an X.509 chain with its CRL."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import dns.name
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.bundle.anchors import Anchors
from llmseal.bundle.create import item_from_response, make_bundle, record_dnssec
from llmseal.bundle.format import Bundle
from llmseal.bundle.verify import BundleResult, verify_bundle
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry
from llmseal.core.sign import sign_exchange
from llmseal.core.verify import Status
from llmseal.errors import KeyLookupError
from llmseal.trust.dns.record import format_record
from llmseal.trust.x509.chain import TrustAnchors
from tests.dns_zones import NOW, Zone, ZoneServer
from tests.x509_helpers import DOMAIN, Lab

AT = datetime.fromtimestamp(NOW, UTC)
KEY_ID = "lab.example/m1/2026q4"


def _dns_bundle(*, sign: dict[str, Any] | None = None) -> tuple[Bundle, Zone, Ed25519Signer]:
    """Publish a key in a signed zone, seal an answer, record the chain, stop the server."""
    signer = Ed25519Signer.generate(KEY_ID)
    with ZoneServer() as server:
        zone = server.zone("lab.example.")
        record = format_record(KeyEntry(KEY_ID, signer.public_key()))
        server.txt(zone, "m1.2026q4.models.lab.example.", record, **(sign or {}))
        receipt = sign_exchange(signer, model_id="m1", request=REQUEST, response=RESPONSE, at=AT,
                                claims={"issuer": "lab.example"})  # fmt: skip
        chain = record_dnssec(receipt, nameserver=server.address, anchors=zone.anchor(), at=AT)
    response = {**RESPONSE, "receipt": receipt.to_dict()}
    built = item_from_response(response, request=REQUEST, dnssec=chain)
    return Bundle.from_json(make_bundle([built], at=AT).to_json()), zone, signer


def _check(bundle: Bundle | dict[str, Any], zone: Zone) -> BundleResult:
    parsed = bundle if isinstance(bundle, Bundle) else Bundle.from_dict(bundle)
    return verify_bundle(parsed, Anchors(dns=zone.anchor()), at=AT + timedelta(days=400))


def test_a_dnssec_keyed_bundle_verifies_after_the_server_is_gone() -> None:
    bundle, zone, _ = _dns_bundle()
    result = _check(bundle, zone)  # a year later, with no DNS server at all
    assert result, result.reasons()
    assert result.items[0].key_source == "dnssec"
    types = [a["type"] for a in bundle.items[0].evidence["dnssec"]["answers"]]
    assert types == ["TXT", "DNSKEY"]


def test_a_tampered_txt_record_in_the_chain_is_bogus() -> None:
    bundle, zone, _ = _dns_bundle()
    other = Ed25519Signer.generate(KEY_ID)
    data = bundle.to_dict()
    answers = data["items"][0]["evidence"]["dnssec"]["answers"]
    txt = answers[0]["records"]
    theirs = format_record(KeyEntry(KEY_ID, other.public_key()))
    txt[0] = txt[0].split(" TXT ")[0] + f' TXT "{theirs}"'
    result = _check(data, zone)
    assert result.items[0].verification.status is Status.UNKNOWN_KEY
    assert "dnssec_bogus" in " ".join(result.reasons())


def test_a_chain_from_another_zone_key_does_not_reach_the_verifiers_anchor() -> None:
    bundle, _, _ = _dns_bundle()
    stranger = Zone("lab.example.")  # the verifier's anchor is some other key
    result = _check(bundle, stranger)
    assert not result and "dnssec_bogus" in " ".join(result.reasons())


def test_a_stripped_rrsig_is_unsigned() -> None:
    bundle, zone, _ = _dns_bundle()
    data = copy.deepcopy(bundle.to_dict())
    txt = data["items"][0]["evidence"]["dnssec"]["answers"][0]
    txt["records"] = [r for r in txt["records"] if " RRSIG " not in r]
    assert "dnssec_unsigned" in " ".join(_check(data, zone).reasons())


def test_an_rrsig_expired_at_the_signing_time_fails() -> None:
    # The RRSIG over the TXT ran out an hour before the receipt was signed.
    bundle, zone, _ = _expired_bundle()
    result = _check(bundle, zone)
    assert result.items[0].verification.status is Status.UNKNOWN_KEY
    assert "dnssec_expired" in " ".join(result.reasons())


def _expired_bundle() -> tuple[Bundle, Zone, Ed25519Signer]:
    window = {"start": NOW - 7200, "end": NOW + 600}
    bundle, zone, signer = _dns_bundle(sign=window)
    # Re-sign the same receipt content an hour after the RRSIG's end: same chain.
    late = AT + timedelta(hours=1)
    receipt = sign_exchange(signer, model_id="m1", request=REQUEST, response=RESPONSE, at=late,
                            claims={"issuer": "lab.example"})  # fmt: skip
    data = bundle.to_dict()
    data["items"][0]["receipt"] = receipt.to_dict()
    data["subject"] = receipt.receipt_id
    return Bundle.from_dict(data), zone, signer


def test_recording_refuses_a_chain_that_does_not_validate_now() -> None:
    signer = Ed25519Signer.generate(KEY_ID)
    with ZoneServer() as server:
        zone = server.zone("lab.example.")
        record = format_record(KeyEntry(KEY_ID, signer.public_key()))
        server.txt(zone, "m1.2026q4.models.lab.example.", record, signed=False)
        receipt = sign_exchange(signer, model_id="m1", request=REQUEST, response=RESPONSE, at=AT)
        with pytest.raises(KeyLookupError, match="no RRSIG"):
            record_dnssec(receipt, nameserver=server.address, anchors=zone.anchor(), at=AT)
    assert isinstance(zone.origin, dns.name.Name)


# --- X.509 -------------------------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _crl(lab: Lab, revoked: list[x509.Certificate], at: datetime) -> str:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(lab.inter.subject)
        .last_update(at)
        .next_update(at + timedelta(days=30))
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
            .revocation_date(at).build()
        )  # fmt: skip
    crl = builder.sign(lab.inter_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _x509_bundle(lab: Lab, revoked: bool) -> tuple[Bundle, datetime]:
    leaf, signer = lab.leaf(at=T0)
    at = T0 + timedelta(days=10)
    receipt = sign_exchange(signer, model_id="smollm2", request=REQUEST, response=RESPONSE, at=at)
    response = {
        **RESPONSE,
        "receipt": receipt.to_dict(),
        "receipt_evidence": {"x5c": lab.x5c(leaf)},
    }
    crl = _crl(lab, [leaf] if revoked else [], T0 + timedelta(days=5))
    built = item_from_response(response, request=REQUEST, crls=[crl])
    return Bundle.from_json(make_bundle([built], at=at).to_json()), at


def test_an_x509_bundle_verifies_against_the_verifiers_roots_and_pinned_domain() -> None:
    lab = Lab(T0)
    bundle, at = _x509_bundle(lab, revoked=False)
    roots = TrustAnchors([lab.root], source="lab root")
    result = verify_bundle(bundle, Anchors(ca_roots=roots, x509_domain=DOMAIN), at=at)
    assert result, result.reasons()
    assert result.items[0].key_source == "x509"
    # Another CA's roots: the chain does not validate; no pin: refused too.
    other = TrustAnchors([Lab(T0).root], source="other root")
    assert not verify_bundle(bundle, Anchors(ca_roots=other, x509_domain=DOMAIN), at=at)
    unpinned = verify_bundle(bundle, Anchors(ca_roots=roots), at=at)
    assert not unpinned and "pinned name" in " ".join(unpinned.reasons())


def test_the_bundles_crl_revokes_the_leaf() -> None:
    lab = Lab(T0)
    bundle, at = _x509_bundle(lab, revoked=True)
    roots = TrustAnchors([lab.root], source="lab root")
    result = verify_bundle(bundle, Anchors(ca_roots=roots, x509_domain=DOMAIN), at=at)
    assert result.items[0].verification.status is Status.REVOKED


def test_the_verifiers_own_crl_revokes_and_makes_revocation_checking_required() -> None:
    lab = Lab(T0)
    bundle, at = _x509_bundle(lab, revoked=False)
    leaf_pem = bundle.items[0].evidence["x5c"][0]
    leaf = x509.load_pem_x509_certificate(leaf_pem.encode())
    roots = TrustAnchors([lab.root], source="lab root")
    mine = x509.load_pem_x509_crl(_crl(lab, [leaf], T0 + timedelta(days=6)).encode())
    stripped = bundle.to_dict()
    del stripped["items"][0]["evidence"]["crls"]
    result = verify_bundle(
        Bundle.from_dict(stripped), Anchors(ca_roots=roots, x509_domain=DOMAIN, crls=(mine,)), at=at
    )
    assert result.items[0].verification.status is Status.REVOKED
    # A CRL of another CA: none covers this chain, and the verifier's CRLs make one required.
    other = Lab(T0)
    theirs = x509.load_pem_x509_crl(_crl(other, [], T0 + timedelta(days=6)).encode())
    required = verify_bundle(
        Bundle.from_dict(stripped), Anchors(ca_roots=roots, x509_domain=DOMAIN, crls=(theirs,)),
        at=at,
    )  # fmt: skip
    assert required.items[0].verification.status is Status.UNKNOWN_KEY, required.reasons()
