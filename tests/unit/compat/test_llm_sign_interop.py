"""llm_sign 0.2.0 interop with the real package, both directions, and its gaps closed."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from llm_sign import client, server
from llm_sign.vendor.tls import TLSCertificateCredential

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.compat.llm_sign import LlmSignIssuer, LlmSignStatus, verify_llm_sign
from llmseal.errors import ContentError, InputError, KeyManagementError
from llmseal.trust.x509 import profile
from llmseal.trust.x509.chain import ChainFailure
from tests.x509_helpers import Lab

HOST = "api.lab.example"


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def lab(now: datetime) -> Lab:
    return Lab(now - timedelta(days=1))


def _files(tmp_path: Path, lab: Lab, algorithm: str, host: str = HOST) -> tuple[Path, Path]:
    leaf, signer = lab.leaf(names=(host,), algorithm=algorithm)
    chain_path, key_path = tmp_path / f"{host}.chain.pem", tmp_path / f"{host}.key.pem"
    chain_path.write_text("".join(lab.x5c(leaf)))
    key = signer._key  # type: ignore[attr-defined]
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_path.write_bytes(pem)
    key_path.chmod(0o600)
    return chain_path, key_path


def _theirs(chain: Path, key: Path, body: Any = RESPONSE) -> dict[str, Any]:
    credential = TLSCertificateCredential.from_files(ssl_certfile=chain, ssl_keyfile=key)
    artifact = server.sign_openai_chat_turn(
        request=REQUEST, response=body, signer=credential.signer()
    )
    response = copy.deepcopy(body)
    signed: dict[str, Any] = server.attach_signed_artifact_to_openai_response(
        response, artifact=artifact, credential=credential
    )
    return signed


def _ours(chain: Path, key: Path) -> dict[str, Any]:
    response = copy.deepcopy(RESPONSE)
    response["llm_sign"] = LlmSignIssuer.from_files(chain, key).envelope(REQUEST, response)
    return response


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "ed25519"])
def test_our_issuer_is_accepted_by_llm_sign_client(
    tmp_path: Path, lab: Lab, algorithm: str
) -> None:
    chain, key = _files(tmp_path, lab, algorithm)
    response = _ours(chain, key)
    response["receipt"] = {"beside": "the llm_sign envelope"}  # as the gateway sends it
    result = client.verify_openai_response(
        response, trust_anchors=[lab.root], expected_host=HOST, request=REQUEST
    )
    assert result.valid, result.errors
    assert [b.payload_state for b in result.blocks] == ["payload_verified"] * 2
    tampered = copy.deepcopy(response)
    tampered["choices"][0]["message"]["content"] += "!"
    assert not client.verify_openai_response(
        tampered, trust_anchors=[lab.root], expected_host=HOST
    ).valid


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "ed25519"])
def test_llm_sign_signer_is_accepted_by_our_verifier(
    tmp_path: Path, lab: Lab, now: datetime, algorithm: str
) -> None:
    chain, key = _files(tmp_path, lab, algorithm)
    result = verify_llm_sign(
        _theirs(chain, key), lab.validator(), at=now, issuer=HOST, request=REQUEST
    )
    assert result.status is LlmSignStatus.VALID, result.reasons
    assert result.request_checked and result.to_dict()["x509"]["chain"] == "ok"


def test_ed25519_artifacts_are_byte_identical(tmp_path: Path, lab: Lab) -> None:
    chain, key = _files(tmp_path, lab, "ed25519")
    assert _ours(chain, key)["llm_sign"] == _theirs(chain, key)["llm_sign"]


def test_issuer_refuses_a_foreign_key(tmp_path: Path, lab: Lab) -> None:
    chain, _ = _files(tmp_path, lab, "ecdsa-p256")
    _, other_key = _files(tmp_path, lab, "ecdsa-p256", host="other.lab.example")
    with pytest.raises(KeyManagementError, match="does not match"):
        LlmSignIssuer.from_files(chain, other_key)


def test_issuer_refuses_non_chat_bodies(tmp_path: Path, lab: Lab) -> None:
    issuer = LlmSignIssuer.from_files(*_files(tmp_path, lab, "ecdsa-p256"))
    with pytest.raises(ContentError, match="missing"):
        issuer.envelope({"prompt": "x"}, RESPONSE)
    with pytest.raises(ContentError):
        issuer.envelope(REQUEST, {"error": {"message": "upstream down"}})
    assert "PRIVATE" not in repr(issuer)


# -- the gaps of llm_sign's client (notes §7), each closed ------------------------------


def test_gap1_relay_with_its_own_trusted_certificate(
    tmp_path: Path, lab: Lab, now: datetime
) -> None:
    fabricated = copy.deepcopy(RESPONSE)
    fabricated["choices"][0]["message"]["content"] = "fabricated by the relay"
    forged = _theirs(*_files(tmp_path, lab, "ecdsa-p256", host="relay.example"), fabricated)
    assert client.verify_openai_response(forged, trust_anchors=[lab.root]).valid  # their default
    pinned = verify_llm_sign(forged, lab.validator(), at=now, issuer=HOST)
    assert pinned.status is LlmSignStatus.UNTRUSTED
    assert pinned.failure is ChainFailure.WRONG_NAME
    unpinned = verify_llm_sign(forged, lab.validator(), at=now)
    assert unpinned.status is LlmSignStatus.UNPINNED and not unpinned


def test_gap2_replay_for_another_request(tmp_path: Path, lab: Lab, now: datetime) -> None:
    response = _theirs(*_files(tmp_path, lab, "ecdsa-p256"))
    other = {**REQUEST, "messages": [{"role": "user", "content": "Something else?"}]}
    result = verify_llm_sign(response, lab.validator(), at=now, issuer=HOST, request=other)
    assert result.status is LlmSignStatus.TAMPERED
    assert "request does not match" in result.reasons[0]


def test_gap5_key_id_not_the_leaf(tmp_path: Path, lab: Lab, now: datetime) -> None:
    chain, key = _files(tmp_path, lab, "ecdsa-p256")
    credential = TLSCertificateCredential.from_files(ssl_certfile=chain, ssl_keyfile=key)
    signer = server.create_signer(
        issuer=HOST, key_id="spki-sha256:NOT-THE-LEAF", private_key=credential.private_key
    )
    artifact = server.sign_openai_chat_turn(request=REQUEST, response=RESPONSE, signer=signer)
    response = server.attach_signed_artifact_to_openai_response(
        copy.deepcopy(RESPONSE), artifact=artifact, credential=credential
    )
    theirs = client.verify_openai_response(response, trust_anchors=[lab.root], expected_host=HOST)
    assert theirs.valid  # llm_sign never compares key_id with the leaf
    ours = verify_llm_sign(response, lab.validator(), at=now, issuer=HOST)
    assert ours.status is LlmSignStatus.UNTRUSTED
    assert ours.failure is ChainFailure.KEY_MISMATCH


def test_gap6_stripped_envelope_is_a_failure(tmp_path: Path, lab: Lab, now: datetime) -> None:
    response = _theirs(*_files(tmp_path, lab, "ecdsa-p256"))
    del response["llm_sign"]
    report = client.verify_openai_response_signature(response, trust_anchors=[lab.root])
    assert report.has_signature is False and report.valid is None  # theirs: "no signature"
    ours = verify_llm_sign(response, lab.validator(), at=now, issuer=HOST)
    assert ours.status is LlmSignStatus.MISSING and not ours


def test_visible_body_and_signature_tampering(tmp_path: Path, lab: Lab, now: datetime) -> None:
    response = _theirs(*_files(tmp_path, lab, "ecdsa-p256"))
    visible = copy.deepcopy(response)
    visible["model"] = "gpt-5"
    result = verify_llm_sign(visible, lab.validator(), at=now, issuer=HOST)
    assert result.status is LlmSignStatus.TAMPERED
    signature = copy.deepcopy(response)
    entry = signature["llm_sign"]["artifact"]["chain"][1]
    flipped = "AAAA" if entry["signature"][-4:] != "AAAA" else "BBBB"
    entry["signature"] = entry["signature"][:-4] + flipped
    result = verify_llm_sign(signature, lab.validator(), at=now, issuer=HOST)
    assert result.status is LlmSignStatus.TAMPERED
    dropped = copy.deepcopy(response)
    dropped["llm_sign"]["artifact"]["chain"].pop()
    result = verify_llm_sign(dropped, lab.validator(), at=now, issuer=HOST)
    assert result.status is LlmSignStatus.TAMPERED
    assert any("provider_output" in r for r in result.reasons)


def test_expired_and_revoked_leaf(tmp_path: Path, lab: Lab, now: datetime) -> None:
    chain, key = _files(tmp_path, lab, "ecdsa-p256")
    response = _theirs(chain, key)
    later = verify_llm_sign(response, lab.validator(), at=now + timedelta(days=400), issuer=HOST)
    assert later.failure is ChainFailure.EXPIRED and later.status is LlmSignStatus.UNTRUSTED
    leaf = lab.validator().validate(response["llm_sign"]["certificate_chain"], name=HOST, at=now)
    crl = profile.build_crl(
        lab.inter,
        lab.inter_key,
        [profile.Revocation(leaf.leaf.serial_number, now - timedelta(hours=1))],
        at=now - timedelta(hours=1),
        number=1,
    )
    revoked = verify_llm_sign(response, lab.validator(crls=[crl]), at=now, issuer=HOST)
    assert revoked.status is LlmSignStatus.REVOKED


def test_unreadable_envelopes_are_input_errors(tmp_path: Path, lab: Lab, now: datetime) -> None:
    response = _theirs(*_files(tmp_path, lab, "ecdsa-p256"))
    newer = copy.deepcopy(response)
    newer["llm_sign"]["artifact"]["protocol"]["min_reader_version"] = 2
    responses_api = copy.deepcopy(response)
    responses_api["llm_sign"]["artifact"]["platform"] = "openai-responses"
    no_chain = copy.deepcopy(response)
    del no_chain["llm_sign"]["certificate_chain"]
    string_seq = copy.deepcopy(response)
    string_seq["llm_sign"]["artifact"]["chain"][0]["block"]["seq"] = "0"
    unreadable: list[object] = [newer, responses_api, no_chain, string_seq, {"llm_sign": []}, []]
    for bad in unreadable:
        with pytest.raises(InputError):
            verify_llm_sign(bad, lab.validator(), at=now, issuer=HOST)  # type: ignore[arg-type]  # deliberately wrong type


def test_artifact_issuer_claim_must_be_the_pinned_issuer(
    tmp_path: Path, lab: Lab, now: datetime
) -> None:
    """A leaf valid for two names signs as the other one: the signed claim is checked too."""
    leaf, signer = lab.leaf(names=(HOST, "other.lab.example"))
    issuer = LlmSignIssuer([leaf, lab.inter], signer._key, issuer="other.lab.example")  # type: ignore[attr-defined]
    response = copy.deepcopy(RESPONSE)
    response["llm_sign"] = issuer.envelope(REQUEST, response)
    result = verify_llm_sign(response, lab.validator(), at=now, issuer=HOST)
    assert result.status is LlmSignStatus.UNTRUSTED
    assert "issuer 'other.lab.example'" in result.reasons[0]
    assert verify_llm_sign(response, lab.validator(), at=now, issuer="other.lab.example")
