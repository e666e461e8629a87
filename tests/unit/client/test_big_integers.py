"""Issue 9, defect 4: integers beyond 64 bits are refused, never rounded.

orjson reads such an integer as a float, so two different literals hash alike
while a stdlib-json SDK reads each exactly: a relay could change the number a
caller acts on without breaking the receipt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from llmseal.client.verifier import ResponseVerifier
from llmseal.core.canonical import canonicalize, loads
from llmseal.core.sign import issue_receipt
from llmseal.errors import BindingError, CanonicalizationError, ContentError
from tests.conftest import CliResult
from tests.unit.client.conftest import ENDPOINT, NOW, Issuer

SIGNED = 18446744073709551616  # 2**64: orjson reads it as 1.8446744073709552e19
RELAYED = 18446744073709551617  # a different number with the same float


@pytest.mark.parametrize(
    "text",
    ['{"a": 18446744073709551616}', "[-9223372036854775809]", '{"b": [1, 99999999999999999999]}',
     '["\\\\", 123456789012345678901234]'],
)  # fmt: skip
def test_loads_refuses_an_integer_it_would_round(text: str) -> None:
    for data in (text, text.encode()):
        with pytest.raises(CanonicalizationError, match="beyond 64 bits"):
            loads(data)


@pytest.mark.parametrize(
    "text",
    ['{"a": "18446744073709551616"}', "[0.18446744073709551616123]", "[1.8446744073709551616e3]",
     "[18446744073709551615]", "[-9223372036854775808]", '{"k18446744073709551616": 1}'],
)  # fmt: skip
def test_loads_keeps_what_it_reads_exactly(text: str) -> None:
    assert loads(text) == orjson.loads(text)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(2**80), max_value=2**80), st.booleans())
def test_an_integer_is_read_exactly_or_refused(number: int, in_string: bool) -> None:
    text = f'{{"n": "{number}"}}' if in_string else f'{{"n": {number}}}'
    exact = in_string or -(2**63) <= number < 2**64
    event("exact" if exact else "refused")
    if exact:
        assert loads(text)["n"] in (number, str(number))
    else:
        with pytest.raises(CanonicalizationError):
            loads(text)


def _sealed_with_rounded_content(issuer: Issuer) -> tuple[bytes, bytes]:
    """What an old gateway sealed for ``{"seed": 2**64}``, with the relay's digits in place."""
    request = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "seed?"}]})
    rounded = {"id": "x", "seed": float(SIGNED)}
    receipt = issue_receipt(
        issuer.signer, model_id="m", at=NOW,
        prompt_hash=hashlib.sha256(canonicalize(orjson.loads(request))).hexdigest(),
        output_hash=hashlib.sha256(canonicalize(rounded)).hexdigest(),
        claims={"endpoint": ENDPOINT, "status_code": 200},
    )  # fmt: skip
    receipt_json = orjson.dumps(receipt.to_dict()).decode()
    body = f'{{"id": "x", "seed": {RELAYED}, "receipt": {receipt_json}}}'.encode()
    return request, body


def test_the_verifier_refuses_content_it_would_round(
    issuer: Issuer, make_verifier: Callable[..., ResponseVerifier]
) -> None:
    request, body = _sealed_with_rounded_content(issuer)
    with pytest.raises(BindingError, match="beyond 64 bits"):
        make_verifier().check_body(ENDPOINT, request, body, 200)


def test_the_stream_verifier_refuses_such_a_chunk(
    issuer: Issuer, make_verifier: Callable[..., ResponseVerifier]
) -> None:
    checker = make_verifier(require_receipt=False).stream(ENDPOINT, b'{"stream": true}')
    with pytest.raises(BindingError):
        checker.feed(f'data: {{"seed": {RELAYED}}}\n\n'.encode())


def test_llmseal_verify_refuses_such_a_file(
    issuer: Issuer, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    _, body = _sealed_with_rounded_content(issuer)
    response = tmp_path / "response.json"
    response.write_bytes(body)
    keys = tmp_path / "keys.json"
    keys.write_bytes(orjson.dumps(issuer.keyset.to_dict()))
    result = cli("verify", response, "--keys", keys)
    assert result.status == 2, result.stdout
    assert "beyond 64 bits" in result.stderr


def test_canonical_error_is_a_content_error() -> None:
    assert issubclass(CanonicalizationError, ContentError)
