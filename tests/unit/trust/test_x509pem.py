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
from llmseal.trust.x509pem import MAX_CHAIN, chain_from_evidence, parse_chain
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
    for bad in ({"x5c": "pem"}, {"x5c": [1]}, {"receipt_evidence": {"x5c": None}}):
        with pytest.raises(CertificateError):
            chain_from_evidence(bad)
