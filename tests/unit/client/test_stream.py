"""The stream checker: nothing after the receipt, no SSE event injection, fail closed.

Streams here are framing 2 (docs/spec/stream.md): the receipt is a comment event after
the last event it covers, before ``[DONE]``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import pytest

from llmseal.bench._support.payload import REQUEST
from llmseal.client.stream import StreamVerifier
from llmseal.client.verifier import ResponseVerifier
from llmseal.core.framing import receipt_comment
from llmseal.core.hashing import hash_json, hash_stream
from llmseal.core.keys import Ed25519Signer
from llmseal.core.sign import issue_receipt
from llmseal.errors import BindingError, ReceiptRequiredError, VerificationError
from tests.unit.client.conftest import REQUEST_BYTES

CHAT, MESSAGES, RESPONSES = "/v1/chat/completions", "/v1/messages", "/v1/responses"


def _delta(text: str) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}}]}  # fmt: skip


def _event(value: Any, kind: str | None = None) -> bytes:
    head = f"event: {kind}\n".encode() if kind else b""
    return head + b"data: " + orjson.dumps(value) + b"\n\n"


@pytest.fixture
def stream(signer: Ed25519Signer, t0: datetime) -> Callable[..., list[bytes]]:
    """SSE events of a sealed stream over ``chunks`` (receipt comment, then ``[DONE]``)."""

    def make(chunks: list[Any], *, endpoint: str = CHAT, done: bool = True) -> list[bytes]:
        receipt = issue_receipt(
            signer, model_id="m", prompt_hash=hash_json(REQUEST), output_hash=hash_stream(chunks),
            at=t0, claims={"endpoint": endpoint},
        )  # fmt: skip
        comment = receipt_comment(orjson.dumps(receipt.to_dict()))
        if endpoint in (MESSAGES, RESPONSES):
            # The arriving event names are dropped: the checker re-emits the hashed type.
            return [*(_event(c, "upstream-name") for c in chunks), comment]
        events = [*(_event(c) for c in chunks), comment]
        return [*events, b"data: [DONE]\n\n"] if done else events

    return make


def _run(verifier: ResponseVerifier, endpoint: str, events: list[bytes]) -> bytes:
    checker = verifier.stream(endpoint, REQUEST_BYTES)
    out = b"".join(checker.feed(e) for e in events)
    return out + checker.finish()


def test_an_honest_stream_is_released_with_the_verdict(
    verifier: Callable[..., ResponseVerifier], stream: Callable[..., list[bytes]]
) -> None:
    out = _run(verifier(), CHAT, stream([_delta("Hello"), _delta(" world")]))
    payloads = [e[6:] for e in out.split(b"\n\n") if e]
    assert len(payloads) == 3 and payloads[2] == b"[DONE]"
    first, last = orjson.loads(payloads[0]), orjson.loads(payloads[1])
    assert first == _delta("Hello")  # released as it was hashed
    # The last covered chunk carries the receipt and the verdict: no extra event.
    assert last["choices"] == _delta(" world")["choices"]
    assert last["llmseal"]["status"] == "valid" and last["receipt"]["model_id"] == "m"


AFTER = [_event(_delta(" and more")), b'data: {"choices": []}\n\n', b"data: not json\n\n"]


@pytest.mark.parametrize("extra", [*AFTER, b"data: [DONE]\n\n"])
def test_anything_after_done_is_refused(
    verifier: Callable[..., ResponseVerifier], stream: Callable[..., list[bytes]], extra: bytes
) -> None:
    checker = verifier().stream(CHAT, REQUEST_BYTES)
    released = b"".join(checker.feed(e) for e in stream([_delta("Hi")]))
    assert b'"llmseal"' in released and released.endswith(b"data: [DONE]\n\n")
    with pytest.raises(BindingError, match=r"the stream continued after data: \[DONE\]"):
        checker.feed(extra)
    assert checker.feed(b": a comment is no content\n\n") == b""


@pytest.mark.parametrize("extra", AFTER)
def test_content_after_the_receipt_is_refused(
    verifier: Callable[..., ResponseVerifier], stream: Callable[..., list[bytes]], extra: bytes
) -> None:
    checker = verifier().stream(CHAT, REQUEST_BYTES)
    released = b"".join(checker.feed(e) for e in stream([_delta("Hi")], done=False))
    assert b'"llmseal"' in released
    with pytest.raises(BindingError, match="the stream continued after its receipt"):
        checker.feed(extra)


def _anthropic(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "message_start", "message": {"id": "msg", "content": []}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
        {"type": "message_stop"},
    ]


def test_anthropic_events_are_re_emitted_with_their_type(
    verifier: Callable[..., ResponseVerifier], stream: Callable[..., list[bytes]]
) -> None:
    out = _run(verifier(), MESSAGES, stream(_anthropic("hi"), endpoint=MESSAGES))
    heads = [e.split(b"\n")[0] for e in out.split(b"\n\n") if e]
    assert heads == [b"event: message_start", b"event: content_block_delta",
                     b"event: message_stop"]  # fmt: skip
    assert out.count(b'"llmseal":{"status":"valid"') == 1


@pytest.mark.parametrize(
    "kind",
    ["ping\ndata: {}", "message_stop\n\nevent: x", "content block", "a-b", "", 7, None, "1st"],
)
def test_an_anthropic_event_type_that_is_not_an_identifier_is_refused(
    verifier: Callable[..., ResponseVerifier], stream: Callable[..., list[bytes]], kind: object
) -> None:
    chunks = _anthropic("hi")
    chunks[1]["type"] = kind
    events = stream(chunks, endpoint=MESSAGES)
    checker = verifier().stream(MESSAGES, REQUEST_BYTES)
    checker.feed(events[0])
    checker.feed(events[1])  # held back one event (it may be the one the verdict goes on)
    with pytest.raises(BindingError, match="/v1/messages stream event without a usable type"):
        checker.feed(events[2])


def test_a_stream_without_a_receipt_fails_closed(
    verifier: Callable[..., ResponseVerifier], stream: Callable[..., list[bytes]]
) -> None:
    bare = [_event(_delta("Hi")), b"data: [DONE]\n\n"]
    with pytest.raises(ReceiptRequiredError, match="ended without a receipt"):
        _run(verifier(), CHAT, bare)
    with pytest.raises(ReceiptRequiredError):
        _run(verifier(), CHAT, bare[:1])
    assert _run(verifier(require_receipt=False), CHAT, bare).endswith(b"data: [DONE]\n\n")
    # A receipt the stream ends on (no [DONE]) is still settled.
    held = stream([_delta("Hi")], done=False)
    assert b'"llmseal"' in _run(verifier(), CHAT, held)
    # A second receipt is refused.
    twice = stream([_delta("Hi")])
    with pytest.raises(BindingError, match="more than one receipt"):
        _run(verifier(), CHAT, [*twice[:2], twice[1], twice[2]])


def test_a_receipt_chunk_followed_by_content_is_content(
    verifier: Callable[..., ResponseVerifier], stream: Callable[..., list[bytes]]
) -> None:
    # A chained round-1 gateway's inner receipt chunk is content the outer receipt covers.
    inner = {**_delta(""), "choices": [], "receipt": {"receipt_id": "inner"}}
    chunks = [_delta("Hi"), inner, _delta("!")]
    out = _run(verifier(), CHAT, stream(chunks))
    assert out.count(b'"receipt_id":"inner"') == 1 and b'"llmseal"' in out


def test_an_edited_chunk_or_a_non_json_event_is_refused(
    verifier: Callable[..., ResponseVerifier], stream: Callable[..., list[bytes]]
) -> None:
    events = stream([_delta("Hi")])
    events[0] = events[0].replace(b"Hi", b"Ho")
    with pytest.raises(BindingError, match="altered in transit"):
        _run(verifier(), CHAT, events)
    with pytest.raises(BindingError, match="non-JSON event"):
        _run(verifier(), CHAT, [b"data: {\n\n"])
    checker = verifier().stream(CHAT, REQUEST_BYTES)
    assert isinstance(checker, StreamVerifier)  # SSE, not NDJSON
    checker._splitter.max_event = 8
    with pytest.raises(VerificationError, match="unreadable stream"):
        checker.feed(b"data: 0123456789")


def _responses(text: str, end: str = "response.completed") -> list[dict[str, Any]]:
    return [
        {"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1"}},
        {"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg_1",
         "output_index": 0, "content_index": 0, "delta": text},
        {"type": end, "sequence_number": 2, "response": {"id": "resp_1", "status": "completed"}},
    ]  # fmt: skip


def test_responses_events_are_re_emitted_with_their_dotted_type(
    verifier: Callable[..., ResponseVerifier], stream: Callable[..., list[bytes]]
) -> None:
    out = _run(verifier(), RESPONSES, stream(_responses("hi"), endpoint=RESPONSES))
    events = [e for e in out.split(b"\n\n") if e]
    heads = [e.split(b"\n")[0] for e in events]
    assert heads == [b"event: response.created", b"event: response.output_text.delta",
                     b"event: response.completed"]  # fmt: skip
    last = orjson.loads(events[-1].split(b"\n", 1)[1][6:])
    assert last["type"] == "response.completed" and last["llmseal"]["status"] == "valid"
    assert b"[DONE]" not in out and b"llmseal-receipt" not in out


@pytest.mark.parametrize("kind", ["response.output_text.delta\ndata: {}", "a b", "-x", "", 7])
def test_a_responses_event_type_that_is_no_event_name_is_refused(
    verifier: Callable[..., ResponseVerifier], stream: Callable[..., list[bytes]], kind: object
) -> None:
    chunks = _responses("hi")
    chunks[1]["type"] = kind
    events = stream(chunks, endpoint=RESPONSES)
    checker = verifier().stream(RESPONSES, REQUEST_BYTES)
    checker.feed(events[0])
    checker.feed(events[1])
    with pytest.raises(BindingError, match="/v1/responses stream event without a usable type"):
        checker.feed(events[2])


def test_an_edited_or_cut_responses_stream_fails_closed(
    verifier: Callable[..., ResponseVerifier], stream: Callable[..., list[bytes]]
) -> None:
    events = stream(_responses("Paris"), endpoint=RESPONSES)
    edited = [events[0], events[1].replace(b"Paris", b"Rome"), *events[2:]]
    with pytest.raises(BindingError, match="altered in transit"):
        _run(verifier(), RESPONSES, edited)
    dropped = [events[0], *events[2:]]  # a delta taken out
    with pytest.raises(BindingError, match="altered in transit"):
        _run(verifier(), RESPONSES, dropped)
    with pytest.raises(ReceiptRequiredError, match="ended without a receipt"):
        _run(verifier(), RESPONSES, events[:-1])  # receipt stripped
