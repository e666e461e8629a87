"""The client's checks on a complete answer: receipt required, bindings, expectations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
import openai
import orjson
import pytest

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.client.transport import VerifyingTransport
from llmseal.client.verifier import ResponseVerifier
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.errors import (
    BindingError,
    PolicyError,
    ReceiptRequiredError,
    VerificationError,
)
from tests.unit.client.conftest import REQUEST_BYTES

CHAT = "/v1/chat/completions"
Make = Callable[..., bytes]
Verifier = Callable[..., ResponseVerifier]


def test_an_honest_answer_verifies(sealed: Make, verifier: Verifier) -> None:
    result = verifier().check_body(CHAT, REQUEST_BYTES, sealed(), 200)
    assert result is not None and result.status.value == "valid"
    assert result.content_checked == ("prompt", "output")


def test_a_receipt_for_another_endpoint_is_refused(sealed: Make, verifier: Verifier) -> None:
    body = sealed(endpoint="/v1/completions")
    with pytest.raises(BindingError, match="was issued for /v1/completions, not /v1/chat"):
        verifier().check_body(CHAT, REQUEST_BYTES, body, 200)
    assert verifier().check_body("/v1/completions", REQUEST_BYTES, body, 200) is not None


def test_a_receipt_for_another_status_is_refused(sealed: Make, verifier: Verifier) -> None:
    with pytest.raises(BindingError, match="issued for HTTP 503, the answer arrived as HTTP 200"):
        verifier().check_body(CHAT, REQUEST_BYTES, sealed(status_code=503), 200)
    assert verifier().check_body(CHAT, REQUEST_BYTES, sealed(status_code=503), 503) is not None


def test_claims_that_are_absent_do_not_bind(sealed: Make, verifier: Verifier) -> None:
    body = sealed(endpoint=None, status_code=None)
    assert verifier().check_body("/v1/completions", REQUEST_BYTES, body, 201) is not None


# An empty issuer claim is not even a receipt (issue 9: test_terminal_escapes.py).
@pytest.mark.parametrize("issuer", [None, "api.other.example", "API.test.example"])
def test_expected_issuer_needs_that_exact_claim(
    sealed: Make, verifier: Verifier, issuer: str | None
) -> None:
    with pytest.raises(PolicyError, match=r"expected 'api\.test\.example'"):
        verifier(issuer="api.test.example").check_body(
            CHAT, REQUEST_BYTES, sealed(issuer=issuer), 200
        )


def test_expected_issuer_and_models_admit_a_match(sealed: Make, verifier: Verifier) -> None:
    check = verifier(issuer="api.test.example", models=["other/*", "lab/model-*"])
    assert check.check_body(CHAT, REQUEST_BYTES, sealed(issuer="api.test.example"), 200)
    with pytest.raises(PolicyError, match=r"is for model 'lab/model-1', expected one of"):
        verifier(models=["lab/model-2", "lab/model"]).check_body(CHAT, REQUEST_BYTES, sealed(), 200)


def test_a_bound_key_cannot_claim_another_issuer(
    sealed: Make, signer: Ed25519Signer, verifier: Verifier
) -> None:
    bound = KeySet([KeyEntry(signer.key_id, signer.public_key(), extra={"bound_issuer": "a.ex"})])
    with pytest.raises(PolicyError, match=r"claims issuer 'evila\.ex' but is signed by a key of"):
        verifier(keys=bound).check_body(CHAT, REQUEST_BYTES, sealed(issuer="evila.ex"), 200)
    assert verifier(keys=bound).check_body(CHAT, REQUEST_BYTES, sealed(issuer="b.a.ex"), 200)


STRIPPED = orjson.dumps(RESPONSE)


@pytest.mark.parametrize("status", [200, 201, 203, 204, 206, 301, 302, 304, 307, 399])
def test_a_stripped_receipt_fails_on_every_non_error_status(
    verifier: Verifier, status: int
) -> None:
    with pytest.raises(ReceiptRequiredError, match=f"carries no receipt \\(HTTP {status}\\)"):
        verifier().check_body(CHAT, REQUEST_BYTES, STRIPPED, status)


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503])
def test_unsealed_errors_pass_through(verifier: Verifier, status: int) -> None:
    assert verifier().check_body(CHAT, REQUEST_BYTES, STRIPPED, status) is None


@pytest.mark.parametrize("body", [STRIPPED, b"not json", b"[1, 2]", b'{"receipt": null}'])
def test_no_receipt_passes_only_when_not_required(verifier: Verifier, body: bytes) -> None:
    assert verifier(require_receipt=False).check_body(CHAT, REQUEST_BYTES, body, 200) is None
    with pytest.raises(ReceiptRequiredError):
        verifier().check_body(CHAT, REQUEST_BYTES, body, 200)


def test_each_failure_is_named(sealed: Make, verifier: Verifier, t0: datetime) -> None:
    body = orjson.loads(sealed())
    check = verifier()
    wrong_request = orjson.dumps({**REQUEST, "seed": 1})
    with pytest.raises(BindingError, match="for a different request than the one sent"):
        check.check_body(CHAT, wrong_request, orjson.dumps(body), 200)
    with pytest.raises(BindingError, match=r"does not match receipt .*: altered in transit"):
        check.check_body(CHAT, REQUEST_BYTES, orjson.dumps({**body, "id": "x"}), 200)
    forged = {**body, "receipt": {**body["receipt"], "model_id": "lab/other"}}
    with pytest.raises(VerificationError, match="has an invalid signature") as info:
        check.check_body(CHAT, REQUEST_BYTES, orjson.dumps(forged), 200)
    assert info.value.status == "tampered" and type(info.value) is VerificationError
    with pytest.raises(VerificationError, match="the receipt is malformed") as info:
        check.check_body(CHAT, REQUEST_BYTES, orjson.dumps({**body, "receipt": {"a": 1}}), 200)
    assert info.value.status == "malformed"
    with pytest.raises(BindingError, match="request that is not JSON"):
        check.check_body(CHAT, b"{", orjson.dumps(body), 200)
    other = Ed25519Signer.generate("someone-else")
    with pytest.raises(VerificationError, match="not in the issuer's key set") as info:
        verifier(keys=KeySet([KeyEntry(other.key_id, other.public_key())])).check_body(
            CHAT, REQUEST_BYTES, orjson.dumps(body), 200
        )
    assert info.value.status == "unknown_key"
    key = check.keys.resolve(body["receipt"]["key_id"])
    assert key is not None
    revoked = verifier(keys=KeySet([key.revoked(t0)]))
    with pytest.raises(VerificationError, match="revoked before it was issued") as info:
        revoked.check_body(CHAT, REQUEST_BYTES, orjson.dumps(body), 200)
    assert info.value.status == "revoked"


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/v1/chat/completions", "/v1/chat/completions"),
        ("/openai/v1/chat/completions", "/v1/chat/completions"),
        ("/api/openai/v1/completions", "/v1/completions"),
        ("/anthropic/v1/messages", "/v1/messages"),
        ("/v1/models", None),
        ("/v1/chat/completions/x", None),
        ("/v1/chat/completion", None),
        ("/v2/chat/completions", None),
    ],
)
def test_sealed_endpoints_behind_any_base_url_prefix(path: str, endpoint: str | None) -> None:
    assert ResponseVerifier.endpoint_of(path) == endpoint


def _sdk(verifier: ResponseVerifier, body: bytes, seen: list[str]) -> openai.OpenAI:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        assert request.headers["x-receipt-request"] == "true"
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    http = httpx.Client(transport=VerifyingTransport(verifier, httpx.MockTransport(answer)))
    return openai.OpenAI(
        base_url="http://gateway.test/openai/v1",
        api_key="sk",
        # openai types http_client as httpx2.Client; it takes an httpx.Client too
        http_client=http,  # type: ignore[arg-type]
        max_retries=0,
    )


def test_an_sdk_base_url_with_a_path_prefix_is_verified(sealed: Make, verifier: Verifier) -> None:
    seen: list[str] = []
    messages = REQUEST["messages"]
    with pytest.raises(ReceiptRequiredError):
        _sdk(verifier(), STRIPPED, seen).chat.completions.create(
            model=REQUEST["model"], messages=messages
        )
    assert seen == ["/openai/v1/chat/completions"]
    honest = _sdk(verifier(), sealed(), seen).chat.completions.create(**REQUEST)
    assert honest.model_extra is not None and honest.model_extra["receipt"]["model_id"] == (
        "lab/model-1"
    )
