"""Keys: raw and base64 forms, SPKI fingerprints, signature encodings, bad key material."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from llmseal.core.hashing import StreamHasher, hash_json, hash_json_text, hash_stream
from llmseal.core.keys import (
    P256_ORDER,
    EcdsaP256Signer,
    Ed25519Signer,
    PublicKey,
    decode_signature,
    encode_signature,
    p256_raw_signature,
)
from llmseal.errors import ContentError, KeyManagementError, KeySetError


@pytest.mark.parametrize("make", [Ed25519Signer.generate, EcdsaP256Signer.generate])
def test_public_key_forms_round_trip(make: type) -> None:
    signer = make("k")
    public = signer.public_key()
    assert PublicKey.from_b64(public.algorithm, public.b64()) == public
    assert PublicKey.from_raw(public.algorithm, public.raw) == public
    assert base64.b64decode(public.b64()) == public.raw
    assert len(public.raw) == (32 if public.algorithm == "ed25519" else 65)
    der = public.spki_der()
    loaded = serialization.load_der_public_key(der)
    assert PublicKey.from_cryptography(loaded) == public
    assert public.fingerprint() == hashlib.sha256(der).hexdigest()
    assert signer.key_id == "k" and repr(signer) == f"{type(signer).__name__}(key_id='k')"
    data = b"signed bytes"
    signature = signer.sign(data)
    assert len(signature) == 64 and public.verify(signature, data)
    assert not public.verify(signature, data + b"!")
    assert not public.verify(signature[:63], data) and not public.verify(signature + b"\0", data)


@pytest.mark.parametrize(
    ("algorithm", "raw", "message"),
    [
        ("rsa", b"\0" * 32, "unsupported key algorithm 'rsa'"),
        ("ed25519", b"\0" * 31, "ed25519 public key must be 32 bytes"),
        ("ecdsa-p256", b"\4" + b"\0" * 63, "ecdsa-p256 public key must be 65 bytes"),
        ("ecdsa-p256", b"\4" + b"\1" * 64, "invalid ecdsa-p256 public key"),
    ],
)
def test_bad_key_material(algorithm: str, raw: bytes, message: str) -> None:
    with pytest.raises(KeySetError, match=message):
        PublicKey.from_raw(algorithm, raw)


def test_bad_base64_and_foreign_keys() -> None:
    with pytest.raises(KeySetError, match="public_key is not standard base64"):
        PublicKey.from_b64("ed25519", "not base64!")
    with pytest.raises(KeySetError, match="not standard base64"):
        PublicKey.from_b64("ed25519", "-_" * 22)  # base64url is not the key-set encoding
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(KeyManagementError, match="only Ed25519 and ECDSA P-256"):
        PublicKey.from_cryptography(p384.public_key())
    with pytest.raises(KeyManagementError, match="only the P-256 curve"):
        EcdsaP256Signer("k", p384)
    key = ed25519.Ed25519PrivateKey.generate()
    assert Ed25519Signer("k", key).public_key() == PublicKey.from_cryptography(key.public_key())


def test_p256_signatures_are_low_s() -> None:
    assert p256_raw_signature(1, P256_ORDER - 1) == (1).to_bytes(32, "big") + (1).to_bytes(
        32, "big"
    )
    half = P256_ORDER // 2
    assert p256_raw_signature(2, half)[32:] == half.to_bytes(32, "big")
    assert p256_raw_signature(2, half + 1)[32:] == (P256_ORDER - half - 1).to_bytes(32, "big")
    signer = EcdsaP256Signer.generate("k")
    for _ in range(8):
        assert int.from_bytes(signer.sign(b"x")[32:], "big") <= half


def test_signature_encodings() -> None:
    raw = bytes(range(64))
    text = encode_signature(raw)
    assert text == base64.b64encode(raw).decode() and len(text) == 88
    assert decode_signature(text) == raw
    url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert decode_signature(url) == raw
    for bad in (text[:-2], url + "==", text.replace("=", "A"), url[:-1] + "=", " " + text[1:],
                base64.b64encode(raw + b"\0").decode()[:88], ""):  # fmt: skip
        assert decode_signature(bad) is None, bad


def test_hashing_helpers() -> None:
    value = {"b": [1, "é"], "a": None}
    assert hash_json_text('{ "a": null, "b": [1, "\\u00e9"] }') == hash_json(value)
    assert hash_json_text(b'{"b":[1,"\xc3\xa9"],"a":null}') == hash_json(value)
    with pytest.raises(ContentError):
        hash_json_text("{")
    hasher = StreamHasher()
    assert hasher.hexdigest() == hash_stream([]) and hasher.count == 0
    assert hasher.add_text('{"n": 1}') == {"n": 1}
    hasher.add([2])
    assert hasher.count == 2 and hasher.hexdigest() == hash_stream([{"n": 1}, [2]])
    assert hasher.hexdigest() == hash_stream([{"n": 1}, [2]])  # reading does not finish it
    hasher.add("x")
    assert hasher.hexdigest() == hash_stream([{"n": 1}, [2], "x"])
    with pytest.raises(ContentError):
        hasher.add_text(b"[1,")
