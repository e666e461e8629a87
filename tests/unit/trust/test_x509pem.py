"""Parsing chains from untrusted evidence: bounded, one error type, nothing else escapes."""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import event, given, settings
from hypothesis import strategies as st

from llmseal.errors import CertificateError
from llmseal.trust.x509.pem import MAX_CHAIN, chain_from_evidence, parse_chain
from tests.helpers import examples
from tests.x509_helpers import Lab

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def pems() -> list[str]:
    lab = Lab(datetime(2026, 4, 12, tzinfo=UTC))
    leaf, _ = lab.leaf()
    return lab.x5c(leaf)


def test_pem_base64_der_and_bundle_forms(pems: list[str]) -> None:
    certs = parse_chain(pems)
    der = [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in certs]
    assert parse_chain(der) == certs
    assert parse_chain("".join(pems)) == certs
    assert parse_chain("".join(pems).encode()) == certs


def test_limits(pems: list[str]) -> None:
    with pytest.raises(CertificateError, match="at most"):
        parse_chain(pems * (MAX_CHAIN // 2 + 1))
    with pytest.raises(CertificateError, match="16 KiB"):
        parse_chain([pems[0] + " " * (17 << 10)])
    with pytest.raises(CertificateError, match="holds 2"):
        parse_chain(["".join(pems)])


@settings(max_examples=examples(300), deadline=None)
@given(_json)
def test_arbitrary_json_is_parsed_or_refused_cleanly(value: Any) -> None:
    with contextlib.suppress(CertificateError):
        parse_chain(value)


@settings(max_examples=examples(200), deadline=None)
@given(st.integers(min_value=0, max_value=700), st.binary(min_size=1, max_size=4))
def test_corrupted_pem_is_refused_cleanly(pems: list[str], offset: int, junk: bytes) -> None:
    text = pems[0]
    cut = min(offset, len(text))
    mutated = text[:cut] + junk.decode("latin-1") + text[cut + len(junk) :]
    try:
        certs = parse_chain([mutated])
    except CertificateError as exc:  # the property: refused with our error, one line
        event("refused")
        assert "\n" not in str(exc)
        return
    event("still parses")  # junk in the armour's whitespace, or replacing equal bytes
    assert len(certs) == 1


def test_evidence_shapes(pems: list[str]) -> None:
    assert chain_from_evidence({"receipt_evidence": {"x5c": pems}}) == pems
    assert chain_from_evidence({"x5c": pems}) == pems
    assert chain_from_evidence({"receipt": {}}) is None
    assert chain_from_evidence([1]) is None
    assert chain_from_evidence({"receipt_evidence": "x5c"}) is None
    for bad in ({"x5c": "pem"}, {"x5c": [1]}, {"receipt_evidence": {"x5c": None}}):
        with pytest.raises(CertificateError) as info:
            chain_from_evidence(bad)
        assert str(info.value) == "receipt_evidence.x5c must be a list of certificate strings"


def test_a_pem_bundle_holds_at_most_max_chain(pems: list[str]) -> None:
    bundle = pems[0] * MAX_CHAIN
    assert len(parse_chain(bundle)) == MAX_CHAIN
    with pytest.raises(CertificateError) as info:
        parse_chain(bundle + pems[0])
    assert str(info.value) == f"a certificate chain may hold at most {MAX_CHAIN} certificates"


def test_crl_files(tmp_path: Any, t0: datetime) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding as Enc

    from llmseal.trust.x509 import profile
    from llmseal.trust.x509.pem import load_crl_file

    lab = Lab(t0)
    crl = profile.build_crl(lab.inter, lab.inter_key, [], at=t0, number=4)
    for name, data in (
        ("crl.pem", crl.public_bytes(Enc.PEM)),
        ("crl.der", crl.public_bytes(Enc.DER)),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        assert load_crl_file(path) == crl
    bad = tmp_path / "bad.crl"
    bad.write_bytes(b"\x30\x03garbage")
    with pytest.raises(CertificateError) as info:
        load_crl_file(bad)
    message = str(info.value)
    assert message.startswith(f"CRL {bad} is not a PEM or DER CRL: ") and "\n" not in message
    assert len(message) > len(f"CRL {bad} is not a PEM or DER CRL: ")
    with pytest.raises(CertificateError) as info:
        load_crl_file(tmp_path / "none.crl")
    assert str(info.value) == f"cannot read CRL {tmp_path / 'none.crl'}: No such file or directory"


def test_the_system_trust_store_is_read_from_the_ssl_paths(
    tmp_path: Any, t0: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmseal.trust.x509.chain import TrustAnchors

    lab = Lab(t0)
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(lab.root.public_bytes(Encoding.PEM))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "no-dir"))
    anchors = TrustAnchors.system()
    assert anchors.certificates == (lab.root,) and anchors.source == "system trust store"
    assert TrustAnchors.system() is anchors  # read once
    assert repr(anchors) == "TrustAnchors(system trust store, 1 roots)"
