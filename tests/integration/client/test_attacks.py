"""Issue 4 "Must show": every relay attack is rejected through the real openai SDK
against the real gateway; the honest path stores evidence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from llmseal.client import verifying_http_client
from llmseal.errors import (
    BindingError,
    ReceiptRequiredError,
    ReplayError,
    VerificationError,
)
from llmseal.gateway.app import Gateway
from llmseal.store.evidence import EvidenceStore
from tests.helpers import ThreadedUvicorn
from tests.integration.client.relay import Relay

QUESTION = {"model": "fake-model", "messages": [{"role": "user", "content": "What is 2+2?"}]}


@pytest.fixture
def relay(gateway: tuple[Gateway, str]) -> Iterator[tuple[Relay, str]]:
    relay = Relay(gateway[1])
    with ThreadedUvicorn(relay.app) as server:
        yield relay, server.url


@pytest.fixture
def sdk(
    relay: tuple[Relay, str], gateway: tuple[Gateway, str], tmp_path: Path
) -> Callable[..., openai.OpenAI]:
    def make(**options: Any) -> openai.OpenAI:
        http = verifying_http_client(
            keys=f"{gateway[1]}/v1/receipts/keys", data_dir=tmp_path / "evidence", **options
        )
        return openai.OpenAI(
            base_url=f"{relay[1]}/v1", api_key="sk", http_client=http, max_retries=0
        )

    return make


def _cause(exc: BaseException) -> BaseException:
    # openai >= 3 / anthropic >= 2 retry and wrap only httpx transport errors: the
    # llmseal exception reaches the caller as itself (docs/client.md).
    assert isinstance(exc, VerificationError), exc
    return exc


def test_honest_path_verifies_and_stores_evidence(
    relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI], tmp_path: Path
) -> None:
    client = sdk(sample_rate=1.0)
    completion = client.chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    assert completion.choices[0].message.content == "echo: What is 2+2?"
    receipt_id = completion.model_extra["receipt"]["receipt_id"]
    client.close()  # samples are written in the background; closing flushes them
    store = EvidenceStore(tmp_path / "evidence")
    record = store.get(receipt_id)
    assert record is not None and record.status == "valid" and record.issuer == "api.test.example"
    sample = store.sample_path(record)
    assert sample is not None and sample.parent.name == "accepted"
    assert sorted(p.name for p in sample.iterdir()) == [
        "manifest.json",
        "receipt.json",
        "request.json",
        "response.json",
    ]


def test_edited_answer_is_rejected(
    relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI]
) -> None:
    relay[0].mode = "edit"
    with pytest.raises(VerificationError) as info:
        sdk().chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    cause = _cause(info.value)
    assert isinstance(cause, BindingError) and "altered" in str(cause)
    assert relay[0].rewrites == {"edit": 1}


def test_swapped_model_in_the_request_is_rejected(
    relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI]
) -> None:
    relay[0].mode = "swap-model"
    with pytest.raises(VerificationError) as info:
        sdk().chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    cause = _cause(info.value)
    assert isinstance(cause, BindingError) and "different request" in str(cause)
    assert relay[0].rewrites == {"swap-model": 1}


def test_stripped_receipt_is_a_failure_not_unsigned(
    relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI]
) -> None:
    relay[0].mode = "strip"
    with pytest.raises(VerificationError) as info:
        sdk().chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    assert isinstance(_cause(info.value), ReceiptRequiredError)
    assert info.value.status == "missing" and info.value.reasons  # docs/client.md
    assert relay[0].rewrites == {"strip": 1}
    with pytest.raises(ReceiptRequiredError):
        list(sdk().chat.completions.create(**QUESTION, stream=True))  # type: ignore[call-overload]
    assert relay[0].rewrites == {"strip": 2}


def test_replayed_answer_for_a_new_question_is_rejected(
    relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI]
) -> None:
    relay[0].mode = "replay"
    client = sdk()
    client.chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    other = {**QUESTION, "messages": [{"role": "user", "content": "What is the capital of Peru?"}]}
    with pytest.raises(VerificationError) as info:
        client.chat.completions.create(**other)  # type: ignore[call-overload]
    assert isinstance(_cause(info.value), BindingError)
    with pytest.raises(VerificationError) as info:  # the very same question again
        client.chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    assert isinstance(_cause(info.value), ReplayError)
    assert relay[0].rewrites == {"replay": 2}


def test_resigned_fabrication_is_rejected(
    relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI]
) -> None:
    relay[0].mode = "resign"
    with pytest.raises(VerificationError) as info:
        sdk().chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    cause = _cause(info.value)
    assert isinstance(cause, VerificationError) and cause.status == "unknown_key"
    assert "not in the issuer's key set" in str(cause)
    assert relay[0].rewrites == {"resign": 1}


def test_resigned_fabrication_under_the_gateways_key_id_is_tampered(
    relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI]
) -> None:
    # The key id is the gateway's, so the key lookup succeeds: only the signature is wrong.
    relay[0].mode = "resign-as-gateway"
    with pytest.raises(VerificationError) as info:
        sdk().chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    cause = _cause(info.value)
    assert type(cause) is VerificationError and cause.status == "tampered"
    assert "has an invalid signature" in str(cause)
    assert any("signature does not verify with key" in r for r in cause.reasons)
    assert relay[0].rewrites == {"resign-as-gateway": 1}


def test_stream_edit_is_raised_from_the_iteration(
    relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI]
) -> None:
    relay[0].mode = "edit"
    seen = []
    with pytest.raises(BindingError):
        for chunk in sdk().chat.completions.create(**QUESTION, stream=True):  # type: ignore[call-overload]
            seen.append(chunk)
    # Tokens stream live (the last one, the finish chunk, waits for the verdict).
    assert [c.choices[0].delta.content for c in seen] == ["Hello", ", ", "relay"]
    assert relay[0].rewrites == {"edit": 1}


def test_honest_stream_final_chunk_carries_the_verdict(
    relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI]
) -> None:
    chunks = list(sdk().chat.completions.create(**QUESTION, stream=True))  # type: ignore[call-overload]
    verdict = chunks[-1].model_extra["llmseal"]
    assert verdict["status"] == "valid"


def test_sdk_retries_are_verified_afresh(
    relay: tuple[Relay, str], gateway: tuple[Gateway, str], tmp_path: Path
) -> None:
    # A signed 503 is retried by the SDK; every retry's receipt is checked again.
    app, _ = gateway
    before = app.writer.committed
    http = verifying_http_client(keys=f"{gateway[1]}/v1/receipts/keys", data_dir=tmp_path / "e")
    client = openai.OpenAI(
        base_url=f"{relay[1]}/v1", api_key="sk", http_client=http, max_retries=2,
        default_headers={"x-fake": "status:503"},
    )  # fmt: skip
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    assert app.writer.committed - before == 3
    client.close()
    assert [r.status for r in EvidenceStore(tmp_path / "e").list()] == ["valid"] * 3
    relay[0].mode = "edit"  # and a verification failure is final: not retried
    client = openai.OpenAI(
        base_url=f"{relay[1]}/v1", api_key="sk", max_retries=2,
        http_client=verifying_http_client(keys=f"{gateway[1]}/v1/receipts/keys"),
    )  # fmt: skip
    before = app.writer.committed
    with pytest.raises(VerificationError):
        client.chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    assert app.writer.committed - before == 1


def test_expected_model_and_issuer(
    relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI]
) -> None:
    from llmseal.errors import PolicyError

    with pytest.raises(VerificationError) as info:
        sdk(expect_models=["lab/frontier-*"]).chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    assert isinstance(_cause(info.value), PolicyError)
    with pytest.raises(VerificationError) as info:
        sdk(expect_issuer="api.other.example").chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    assert isinstance(_cause(info.value), PolicyError)
    admitted = sdk(expect_models=["fake-*"], expect_issuer="api.test.example")
    completion = admitted.chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    assert completion.choices[0].message.content == "echo: What is 2+2?"
    assert completion.model_extra["receipt"]["issuer"] == "api.test.example"


def test_unsigned_routes_pass(relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI]) -> None:
    assert [m.id for m in sdk().models.list()] == ["fake-model"]


def test_gateway_errors_reach_the_sdk_as_status_errors(
    relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI]
) -> None:
    with pytest.raises(openai.BadRequestError):
        sdk().chat.completions.create(model="m", messages=[], extra_body={"seed": 2**60})


def test_direct_httpx_use(gateway: tuple[Gateway, str], tmp_path: Path) -> None:
    with verifying_http_client(keys=f"{gateway[1]}/v1/receipts/keys") as client:
        response = client.post(f"{gateway[1]}/v1/chat/completions", json=QUESTION)
    assert response.json()["receipt"]["key_id"] == gateway[0].sealer.signer.key_id
    assert response.headers["x-receipt-id"] == response.json()["receipt"]["receipt_id"]
    assert httpx.Headers(response.headers).get("content-length") == str(len(response.content))


def test_gzip_smuggled_stream_is_refused(
    relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI]
) -> None:
    relay[0].mode = "gzip-smuggle"
    seen: list[str] = []
    with pytest.raises(BindingError, match="Content-Encoding"):
        for chunk in sdk().chat.completions.create(**QUESTION, stream=True):  # type: ignore[call-overload]
            seen += [c.delta.content or "" for c in chunk.choices]
    assert "FORGED BY RELAY" not in "".join(seen)
    assert relay[0].rewrites == {"gzip-smuggle": 1}


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("as-legacy-chunk", ReceiptRequiredError),  # content: not a round-1 receipt chunk
        ("beside-receipt", BindingError),  # hashed like any data event: tampered
        ("after-receipt", BindingError),  # nothing may follow the receipt
    ],
)
def test_content_smuggled_around_the_receipt_never_reaches_the_sdk(
    relay: tuple[Relay, str], sdk: Callable[..., openai.OpenAI], mode: str, error: type[Exception]
) -> None:
    relay[0].mode = mode
    seen: list[str] = []
    with pytest.raises(error):
        for chunk in sdk().chat.completions.create(**QUESTION, stream=True):  # type: ignore[call-overload]
            seen += [c.delta.content or "" for c in chunk.choices]
    assert "INJECTED" not in "".join(seen) and "".join(seen).startswith("Hello")
    assert relay[0].rewrites == {mode: 1}, "the relay smuggled nothing"


def test_signed_error_turned_into_a_200_is_rejected(
    relay: tuple[Relay, str], gateway: tuple[Gateway, str]
) -> None:
    relay[0].mode = "status-flip"
    http = verifying_http_client(keys=f"{gateway[1]}/v1/receipts/keys")
    with pytest.raises(BindingError, match="issued for HTTP 503"):
        http.post(
            f"{relay[1]}/v1/chat/completions", json=QUESTION, headers={"x-fake": "status:503"}
        )
    assert relay[0].rewrites == {"status-flip": 1}


def test_key_set_bound_to_another_issuer(gateway: tuple[Gateway, str]) -> None:
    from llmseal.errors import PolicyError

    http = verifying_http_client(keys={"other.example": f"{gateway[1]}/v1/receipts/keys"})
    with pytest.raises(PolicyError, match=r"signed by a key of 'other\.example'"):
        http.post(f"{gateway[1]}/v1/chat/completions", json=QUESTION)
    bound = verifying_http_client(keys={"test.example": f"{gateway[1]}/v1/receipts/keys"})
    answer = bound.post(f"{gateway[1]}/v1/chat/completions", json=QUESTION).json()
    assert answer["receipt"]["issuer"] == "api.test.example"  # below the bound test.example
