"""The stream receipt framing (docs/spec/stream.md): what every SSE decoder does
with it, how a saved stream is read back, and the round-1 framing kept verifiable.

The framing-1 streams under tests/vectors/streams/framing-1/ were captured from
the round-1 gateway (real SmolLM2 for chat and text completions, the fake
Anthropic upstream for messages) before framing 2 existed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from anthropic._streaming import SSEDecoder as AnthropicDecoder
from hypothesis import event, given, settings
from hypothesis import strategies as st
from openai._streaming import SSEDecoder as OpenAIDecoder

from llmseal.client.verifier import ResponseVerifier
from llmseal.core.framing import comment_receipt, legacy_receipt, read_stream, receipt_comment
from llmseal.core.keyset import KeySet
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import BindingError, ContentError, ReceiptRequiredError

LEGACY = Path(__file__).parents[2] / "vectors" / "streams" / "framing-1"
RECEIPT = {"receipt_id": "r-1", "signature": "x"}


def _legacy(name: str) -> tuple[bytes, bytes, KeySet]:
    return (
        (LEGACY / f"{name}.sse").read_bytes(),
        (LEGACY / f"{name}.request.json").read_bytes(),
        KeySet.from_json((LEGACY / f"{name}.keys.json").read_bytes()),
    )


def test_the_comment_is_one_line_with_its_version() -> None:
    event = receipt_comment(orjson.dumps(RECEIPT), b'{"x5c":["AA=="]}')
    assert event == (
        b': llmseal-receipt 2 {"receipt":{"receipt_id":"r-1","signature":"x"},'
        b'"receipt_evidence":{"x5c":["AA=="]}}\n\n'
    )
    found = comment_receipt(event)
    assert found is not None and found.framing == 2
    assert found.receipt == RECEIPT and found.evidence == {"x5c": ["AA=="]}
    bare = comment_receipt(b':llmseal-receipt 2 {"receipt":{}}\r\n\r\n')
    assert bare is not None and bare.evidence is None


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (b': llmseal-receipt 3 {"receipt":{}}\n\n', "framing 3 is not supported"),
        (b": llmseal-receipt 2 {not json\n\n", "JSON"),
        (b': llmseal-receipt 2 {"receipt":[]}\n\n', "must hold"),
        (b': llmseal-receipt 2 {"receipt":{},"receipt_evidence":1}\n\n', "JSON object"),
        (b': llmseal-receipt 2 {"receipt":{}}\ndata: {}\n\n', "event of its own"),
    ],
)
def test_a_broken_receipt_comment_is_an_error(event: bytes, message: str) -> None:
    with pytest.raises(ContentError, match=message):
        comment_receipt(event)


@pytest.mark.parametrize(
    "event",
    [b": keep-alive\n\n", b"data: {}\n\n", b": llmseal-receipts are great\n\n",
     b'data: {"text": "llmseal-receipt 2 {}"}\n\n'],
)  # fmt: skip
def test_other_events_are_not_receipt_comments(event: bytes) -> None:
    assert comment_receipt(event) is None


def test_legacy_receipt_chunks_are_recognised_only_in_their_exact_shape() -> None:
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [], "receipt": RECEIPT}  # fmt: skip
    assert legacy_receipt(chunk) is not None
    assert legacy_receipt({"type": "ping", "receipt": RECEIPT}) is not None
    content = [{"index": 0, "delta": {"content": "hidden"}}]
    assert legacy_receipt({**chunk, "choices": content}) is None  # content is never skipped
    assert legacy_receipt({**chunk, "usage": {"total_tokens": 1}}) is None
    assert legacy_receipt({"type": "message_stop", "receipt": RECEIPT}) is None
    assert legacy_receipt({**chunk, "receipt": "r-1"}) is None


@pytest.mark.parametrize("name", ["chat", "completions", "messages"])
def test_round_one_streams_still_verify(name: str) -> None:
    raw, request, keys = _legacy(name)
    saved = read_stream(raw)
    assert saved.receipt is not None and saved.receipt.framing == 1
    result = verify_receipt(saved.receipt.receipt, keys, prompt=request, output=list(saved.chunks))
    assert result.status is Status.VALID, result.reasons
    assert saved.receipt.receipt["stream"]["chunks"] == len(saved.chunks)
    # The same receipt moved into a framing-2 comment covers the same chunks.
    events = raw.split(b"\n\n")
    at = next(i for i, e in enumerate(events) if b'"receipt"' in e)
    events[at] = receipt_comment(orjson.dumps(saved.receipt.receipt))[:-2]
    moved = read_stream(b"\n\n".join(events))
    assert moved.receipt is not None and moved.receipt.framing == 2
    assert moved.chunks == saved.chunks


def test_a_round_one_stream_with_an_edited_token_is_tampered() -> None:
    raw, request, keys = _legacy("chat")
    saved = read_stream(raw)
    token = json.dumps(saved.chunks[1]["choices"][0]["delta"]["content"]).encode()
    edited = read_stream(raw.replace(token, b'"Ultraviolet"', 1))
    assert edited.receipt is not None
    receipt = edited.receipt.receipt
    result = verify_receipt(receipt, keys, prompt=request, output=list(edited.chunks))
    assert result.status is Status.TAMPERED


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b"data: {}\n\n" + receipt_comment(b"{}") * 2, "more than one receipt"),
        (receipt_comment(b"{}") + b"data: {}\n\n", "after its receipt"),
        (b"data: [DONE]\n\ndata: {}\n\n", r"after data: \[DONE\]"),
        (b"data: {not json}\n\n", "JSON"),
    ],
)
def test_streams_no_gateway_sends_are_refused(stream: bytes, message: str) -> None:
    with pytest.raises(ContentError, match=message):
        read_stream(stream)


def test_a_stream_cut_after_its_last_line_is_still_read() -> None:
    saved = read_stream(b'data: {"a": 1}\n\n' + receipt_comment(b'{"r":1}').rstrip())
    assert saved.chunks == ({"a": 1},) and saved.receipt is not None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
chunks_strategy = st.lists(st.dictionaries(st.text(max_size=5), json_values, max_size=4),
                           max_size=6)  # fmt: skip


def _decoded(decoder: Any, stream: bytes, pieces: list[int]) -> list[Any]:
    parts, start = [], 0
    for cut in sorted(pieces):
        parts.append(stream[start:cut])
        start = cut
    parts.append(stream[start:])
    data = [sse.data for sse in decoder.iter_bytes(iter(parts))]
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


@settings(deadline=None, max_examples=150)
@given(chunks_strategy, st.lists(st.integers(0, 4000), max_size=5), st.booleans())
def test_sdk_decoders_never_see_the_receipt(
    chunks: list[dict[str, Any]], cuts: list[int], evidence: bool
) -> None:
    """The official SDKs' own SSE decoders, fed in arbitrary pieces, yield exactly
    the content events; the receipt comment yields nothing; read_stream agrees."""
    receipt = {"receipt_id": "r\n\u2028", "claims": chunks[:1]}
    stream = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks)
    stream += receipt_comment(orjson.dumps(receipt), b'{"x5c":[]}' if evidence else None)
    cuts = [c % (len(stream) + 1) for c in cuts]
    event(f"chunks={min(len(chunks), 3)}")
    for decoder in (OpenAIDecoder(), AnthropicDecoder()):
        assert _decoded(decoder, stream + b"data: [DONE]\n\n", cuts) == chunks
    saved = read_stream(stream)
    assert list(saved.chunks) == chunks
    assert saved.receipt is not None and saved.receipt.receipt == receipt


def _client_output(raw: bytes, request: bytes, keys: KeySet, endpoint: str) -> list[Any]:
    # Recorded streams are not live answers: freshness off.
    checker = ResponseVerifier(keys, freshness=None).stream(endpoint, request)
    out = b"".join(checker.feed(raw[i : i + 97]) for i in range(0, len(raw), 97))
    out += checker.finish()
    assert checker.result is not None and checker.result.status is Status.VALID
    return list(read_stream(out).chunks)


@pytest.mark.parametrize(
    ("name", "endpoint"),
    [("chat", "/v1/chat/completions"), ("completions", "/v1/completions"),
     ("messages", "/v1/messages")],
)  # fmt: skip
def test_the_verifying_client_reads_round_one_streams(name: str, endpoint: str) -> None:
    raw, request, keys = _legacy(name)
    released = _client_output(raw, request, keys, endpoint)
    expected = read_stream(raw)
    assert len(released) == len(expected.chunks)  # no receipt event reaches the SDK
    assert not any(c.get("choices") == [] for c in released)
    assert released[-1]["llmseal"]["status"] == "valid"
    assert released[-1]["receipt"] == dict(expected.receipt.receipt)  # type: ignore[union-attr]


def test_the_verifying_client_fails_closed_on_an_edited_round_one_stream() -> None:
    raw, request, keys = _legacy("chat")
    token = json.dumps(read_stream(raw).chunks[1]["choices"][0]["delta"]["content"]).encode()
    checker = ResponseVerifier(keys, freshness=None).stream("/v1/chat/completions", request)
    with pytest.raises(BindingError):
        checker.feed(raw.replace(token, b'"Ultraviolet"', 1))
    content = [c for c in raw.split(b"\n\n") if b'"receipt"' not in c]
    stripped = ResponseVerifier(keys, freshness=None).stream("/v1/chat/completions", request)
    with pytest.raises(ReceiptRequiredError):
        stripped.feed(b"\n\n".join(content))
