"""The sealer in-process: what it signs, what it delivers, what a stream ends with.

Every receipt is checked with the independent spec verifier (tests/spec_verifier.py),
so these tests do not share the sealer's own hashing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import datetime
from typing import Any

import pytest

from llmseal.core.keys import Ed25519Signer
from llmseal.core.receipt import Receipt
from llmseal.errors import ContentError
from llmseal.gateway.sealing._ndjson import NdjsonSeal
from llmseal.gateway.sealing.sealing import RequestInfo, Sealer, StreamSeal, UpstreamProtocolError
from llmseal.store.base import StoredReceipt
from tests.spec_verifier import body_output, spec_verify, stream_output

REQUEST = {"model": "asked-model", "messages": [{"role": "user", "content": "hi"}]}
ANSWER = {"id": "c1", "model": "served-model", "choices": [{"message": {"content": "yo"}}],
          "usage": {"total_tokens": 3}}  # fmt: skip


class Writer:
    def __init__(self) -> None:
        self.stored: list[StoredReceipt] = []

    async def put(self, record: StoredReceipt) -> None:
        self.stored.append(record)


def _sealer(t0: datetime, **options: Any) -> tuple[Sealer, Writer, list[dict[str, Any]]]:
    signer = Ed25519Signer.generate("gw-key")
    writer = Writer()
    sealer = Sealer(signer, writer, clock=lambda: t0, **options)  # type: ignore[arg-type]
    key = {"key_id": "gw-key", "status": "active",
           "public_key": base64.b64encode(signer.public_key().raw).decode()}  # fmt: skip
    return sealer, writer, [key]


def _info(sealer: Sealer, request: dict[str, Any] = REQUEST, endpoint: str = "/v1/chat/completions",
          started: float | None = None) -> RequestInfo:  # fmt: skip
    body = json.dumps(request).encode()
    return sealer.inspect_request(
        endpoint, body, time.perf_counter() if started is None else started
    )


def _seal(sealer: Sealer, info: RequestInfo, status: int, body: bytes,
          upstream_s: float = 0.25) -> tuple[bytes, Receipt]:  # fmt: skip
    delivered, receipt = asyncio.run(sealer.seal_body(info, status, body, upstream_s))
    assert receipt is not None  # every model is signed here (no unsigned pass-through)
    return delivered, receipt


def _finish(seal: StreamSeal | NdjsonSeal, upstream_s: float) -> tuple[bytes, Receipt]:
    tail, receipt = asyncio.run(seal.finish(200, upstream_s))
    assert receipt is not None
    return tail, receipt


def _done(seal: StreamSeal | NdjsonSeal) -> bool:
    """A call, not the attribute: mypy would keep ``seal.done`` narrowed across feed()."""
    return seal.done


def test_inspect_request(t0: datetime) -> None:
    sealer, _, _ = _sealer(t0)
    info = _info(sealer, {**REQUEST, "stream": True})
    assert info.model == "asked-model" and info.stream is True
    assert info.request == {**REQUEST, "stream": True} and info.endpoint == "/v1/chat/completions"
    assert _info(sealer, {"model": 5, "stream": "yes"}).model is None
    assert _info(sealer, {"stream": 1}).stream is False
    for bad in (b"[1]", b"{"):
        with pytest.raises(ContentError):
            sealer.inspect_request("/v1/chat/completions", bad, 0.0)


def test_a_plain_answer_is_spliced_signed_and_stored(t0: datetime) -> None:
    sealer, writer, keys = _sealer(t0, issuer="api.example")
    raw = json.dumps(ANSWER, indent=1).encode() + b"\n "
    started = time.perf_counter() - 1.0  # the request arrived a second ago
    delivered, receipt = _seal(sealer, _info(sealer, started=started), 200, raw, 0.25)
    assert delivered.startswith(raw.rstrip()[:-1])  # the upstream bytes, then the receipt
    body = json.loads(delivered)
    assert spec_verify(body["receipt"], keys, REQUEST, body_output(body)) == "valid"
    assert body["receipt"] == receipt.to_dict()
    claims = dict(receipt.claims)
    timing = claims.pop("timing")
    assert claims == {"endpoint": "/v1/chat/completions", "status_code": 200,
                      "issuer": "api.example", "usage": {"total_tokens": 3}}  # fmt: skip
    assert timing["upstream_us"] == 250000 and 1_000_000 <= timing["gateway_us"] < 60_000_000
    assert receipt.model_id == "served-model" and receipt.issued_at == "2026-04-12T14:32:00Z"
    assert [r.receipt_id for r in writer.stored] == [receipt.receipt_id]
    assert json.loads(writer.stored[0].body) == body["receipt"]


def test_model_id_precedence(t0: datetime) -> None:
    configured, _, _ = _sealer(t0, model_id="lab/configured")
    plain, _, _ = _sealer(t0)
    answer = json.dumps(ANSWER).encode()
    assert _seal(configured, _info(configured), 200, answer)[1].model_id == "lab/configured"
    no_model = json.dumps({k: v for k, v in ANSWER.items() if k != "model"}).encode()
    assert _seal(plain, _info(plain), 200, no_model)[1].model_id == "asked-model"
    empty = json.dumps({**ANSWER, "model": ""}).encode()
    assert _seal(plain, _info(plain), 200, empty)[1].model_id == "asked-model"
    anonymous = _info(plain, {"messages": []})
    assert _seal(plain, anonymous, 200, no_model)[1].model_id == "unknown"


def test_empty_object_error_status_and_no_usage(t0: datetime) -> None:
    sealer, _, keys = _sealer(t0)
    delivered, receipt = _seal(sealer, _info(sealer), 503, b"{ }")
    assert json.loads(delivered) == {"receipt": receipt.to_dict()}
    assert receipt.claims["status_code"] == 503 and "usage" not in receipt.claims
    assert "issuer" not in receipt.claims
    assert spec_verify(receipt.to_dict(), keys, REQUEST, {}) == "valid"
    no_usage = json.dumps({**ANSWER, "usage": [1]}).encode()
    assert "usage" not in _seal(sealer, _info(sealer), 200, no_usage)[1].claims


def test_an_answer_that_already_carries_gateway_members(t0: datetime) -> None:
    sealer, _, keys = _sealer(t0, evidence={"x5c": ["pem"]})
    parent = {"receipt_id": "inner"}
    upstream = {**ANSWER, "receipt": parent, "llm_sign": {"old": 1}, "receipt_evidence": {"a": 1}}
    delivered, receipt = _seal(sealer, _info(sealer), 200, json.dumps(upstream).encode())
    body = json.loads(delivered)
    assert set(body) == {*ANSWER, "receipt", "receipt_evidence"}  # the old envelope is dropped
    assert body["receipt_evidence"] == {"x5c": ["pem"]}
    assert receipt.claims["parents"] == [parent]
    assert spec_verify(body["receipt"], keys, REQUEST, ANSWER) == "valid"
    plain, _ = _seal(sealer, _info(sealer), 200, json.dumps(ANSWER).encode())
    assert json.loads(plain)["receipt_evidence"] == {"x5c": ["pem"]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"id": "cut', "upstream returned invalid JSON (HTTP 200)"),
        (b"[1, 2]", "upstream returned JSON that is not an object"),
        (b'{"n": 18446744073709551615}', "upstream JSON cannot be hashed"),
    ],
)
def test_unsealable_answers(t0: datetime, body: bytes, message: str) -> None:
    sealer, writer, _ = _sealer(t0)
    with pytest.raises(
        UpstreamProtocolError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        _seal(sealer, _info(sealer), 200, body)
    assert writer.stored == []


def _chunk(text: str, **extra: Any) -> bytes:
    body = {
        "id": "s1",
        "model": "served-stream",
        "choices": [{"delta": {"content": text}}],
        **extra,
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def test_a_stream_is_forwarded_then_sealed(t0: datetime) -> None:
    sealer, writer, keys = _sealer(t0)
    info = _info(sealer, {**REQUEST, "stream": True})
    seal = sealer.open_stream(info)
    upstream = [b": hello\n\n", _chunk("a"), _chunk("b", usage={"total_tokens": 2}),
                b"data: [DONE]\n\n", _chunk("after")]  # fmt: skip
    forwarded = b"".join(seal.feed(part) for part in upstream)
    assert forwarded == b"".join(upstream[:3]) and seal.done
    assert seal.feed(_chunk("more")) == b""  # nothing after [DONE]
    assert seal.first_chunk_s is not None and seal.first_chunk_s >= 0
    tail, receipt = _finish(seal, 0.5)
    assert tail.startswith(b": llmseal-receipt 2 ") and tail.endswith(b"data: [DONE]\n\n")
    chunks, found = stream_output(forwarded + tail)
    assert found == receipt.to_dict() and len(chunks) == 2
    assert spec_verify(found, keys, {**REQUEST, "stream": True}, chunks) == "valid"
    assert receipt.claims["stream"]["chunks"] == 2 and receipt.claims["usage"] == {
        "total_tokens": 2
    }
    assert receipt.model_id == "served-stream" and len(writer.stored) == 1


def test_an_anthropic_stream_ends_at_message_stop(t0: datetime) -> None:
    sealer, _, keys = _sealer(t0)
    info = _info(sealer, {**REQUEST, "stream": True}, endpoint="/v1/messages")
    seal = sealer.open_stream(info)
    events = [b'event: message_start\ndata: {"type": "message_start"}\n\n',
              b'event: message_stop\ndata: {"type": "message_stop"}\n\n',
              b'event: ping\ndata: {"type": "ping"}\n\n']  # fmt: skip
    forwarded = seal.feed(b"".join(events))
    assert forwarded == b"".join(events[:2]) and seal.done
    tail, receipt = _finish(seal, 0.1)
    assert not tail.endswith(b"[DONE]\n\n")
    chunks, found = stream_output(forwarded + tail)
    assert found == receipt.to_dict() and receipt.claims["endpoint"] == "/v1/messages"
    assert spec_verify(found, keys, {**REQUEST, "stream": True}, chunks) == "valid"


def test_an_upstream_receipt_comment_becomes_a_parent(t0: datetime) -> None:
    from llmseal.core.framing import receipt_comment

    sealer, _, _ = _sealer(t0)
    seal = sealer.open_stream(_info(sealer, {**REQUEST, "stream": True}))
    inner = receipt_comment(b'{"receipt_id":"inner"}')
    broken = b": llmseal-receipt 9 {}\n\n"
    forwarded = seal.feed(_chunk("a") + inner + broken + b"data: [DONE]\n\n")
    assert forwarded == _chunk("a")  # neither receipt comment is passed on
    _, receipt = _finish(seal, 0.1)
    assert receipt.claims["parents"] == [{"receipt_id": "inner"}]


def test_a_stream_that_does_not_end_is_never_sealed(t0: datetime) -> None:
    sealer, writer, _ = _sealer(t0)
    seal = sealer.open_stream(_info(sealer, {**REQUEST, "stream": True}))
    seal.feed(_chunk("a"))
    with pytest.raises(UpstreamProtocolError, match="ended early"):
        asyncio.run(seal.finish(200, 0.1))
    with pytest.raises(UpstreamProtocolError, match="non-JSON event"):
        seal.feed(b"data: {\n\n")
    assert writer.stored == []
    event = StreamSeal.error_event("no receipt")
    assert json.loads(event[6:]) == {"error": {"message": "no receipt",
                                               "type": "llmseal_gateway_error",
                                               "code": "upstream_stream"}}  # fmt: skip


def _typed(kind: str, **members: Any) -> bytes:
    data = json.dumps({"type": kind, **members})
    return f"event: {kind}\ndata: {data}\n\n".encode()


@pytest.mark.parametrize("terminal", ["response.completed", "response.failed",
                                      "response.incomplete"])  # fmt: skip
def test_a_responses_stream_ends_at_its_terminal_event(t0: datetime, terminal: str) -> None:
    sealer, writer, keys = _sealer(t0)
    request = {"model": "m", "input": "hi", "stream": True}
    seal = sealer.open_stream(_info(sealer, request, endpoint="/v1/responses"))
    events = [_typed("response.created", response={"id": "r1", "model": "served-resp"}),
              _typed("response.output_text.delta", delta="yo"),
              b"data: [DONE]\n\n",  # not the end of a Responses stream: content (not JSON)
              ]  # fmt: skip
    with pytest.raises(UpstreamProtocolError, match="non-JSON"):
        sealer.open_stream(_info(sealer, request, endpoint="/v1/responses")).feed(events[2])
    forwarded = seal.feed(b"".join(events[:2]))
    assert forwarded == b"".join(events[:2]) and not _done(seal)
    end = _typed(terminal, response={"id": "r1", "usage": {"total_tokens": 4}})
    forwarded += seal.feed(end + _typed("response.output_text.delta", delta="late"))
    assert seal.done and forwarded.endswith(end)
    tail, receipt = _finish(seal, 0.1)
    assert tail.startswith(b": llmseal-receipt 2 ") and b"[DONE]" not in tail
    chunks, found = stream_output(forwarded + tail)
    assert len(chunks) == 3 and found == receipt.to_dict()
    assert receipt.claims["endpoint"] == "/v1/responses"
    assert spec_verify(found, keys, request, chunks) == "valid"
    assert len(writer.stored) == 1


def test_a_responses_stream_cut_before_its_terminal_event_is_never_sealed(t0: datetime) -> None:
    sealer, writer, _ = _sealer(t0)
    info = _info(sealer, {"input": "hi", "stream": True}, endpoint="/v1/responses")
    seal = sealer.open_stream(info)
    # An upstream error event is not a terminal event: no receipt for a failed stream.
    seal.feed(_typed("response.created") + _typed("error", message="overloaded"))
    with pytest.raises(UpstreamProtocolError, match="ended early"):
        asyncio.run(seal.finish(200, 0.1))
    assert writer.stored == []


def test_embeddings_are_sealed_like_any_json_answer(t0: datetime) -> None:
    sealer, _, keys = _sealer(t0)
    request = {"model": "m", "input": ["a", "b"], "encoding_format": "float"}
    vectors = [[0.1, -2.5e-07, 3], [1e21, 0.0, -0.0]]
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    answer = {"object": "list", "model": "emb", "data": data,
              "usage": {"prompt_tokens": 2, "total_tokens": 2}}  # fmt: skip
    info = _info(sealer, request, endpoint="/v1/embeddings")
    delivered, receipt = _seal(sealer, info, 200, json.dumps(answer).encode())
    body = json.loads(delivered)
    assert spec_verify(body["receipt"], keys, request, body_output(body)) == "valid"
    assert receipt.claims["endpoint"] == "/v1/embeddings" and receipt.model_id == "emb"
    body["data"][1]["embedding"][0] = 1e20  # one component of one vector changed
    assert spec_verify(body["receipt"], keys, request, body_output(body)) != "valid"


def _line(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode() + b"\n"


def test_an_ollama_stream_is_sealed_with_a_receipt_line(t0: datetime) -> None:
    from llmseal.core.ndjson import read_ndjson, receipt_line

    sealer, writer, keys = _sealer(t0)
    call = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
    request = {"model": "m", "messages": [{"role": "user", "content": "weather?"}],
               "tools": [{"type": "function", "function": {"name": "get_weather"}}]}  # fmt: skip
    info = _info(sealer, request, endpoint="/api/chat")
    assert info.stream  # Ollama streams unless told not to
    assert not _info(sealer, {**request, "stream": False}, endpoint="/api/chat").stream
    seal = sealer.open_stream(info)
    lines = [_line({"model": "ollama-m", "message": {"role": "assistant", "content": "",
                                                     "tool_calls": [call]}, "done": False}),
             receipt_line(b'{"receipt_id":"inner"}'),  # a chained gateway's: a parent
             _line({"model": "ollama-m", "message": {"role": "assistant", "content": ""},
                    "done": True, "eval_count": 7, "prompt_eval_count": 3})]  # fmt: skip
    forwarded = b"".join(seal.feed(part) for part in (lines[0][:9], lines[0][9:], *lines[1:]))
    assert forwarded == lines[0] + lines[2] and seal.done
    assert seal.feed(_line({"done": False})) == b""  # nothing after the done line
    tail, receipt = _finish(seal, 0.1)
    saved = read_ndjson(forwarded + tail)
    assert saved.receipt is not None and saved.receipt.receipt == receipt.to_dict()
    assert spec_verify(receipt.to_dict(), keys, request, list(saved.chunks)) == "valid"
    assert receipt.claims["parents"] == [{"receipt_id": "inner"}]
    assert receipt.claims["usage"] == {"prompt_eval_count": 3, "eval_count": 7}
    assert receipt.model_id == "ollama-m" and len(writer.stored) == 1
    edited = [dict(c) for c in saved.chunks]
    edited[0]["message"]["tool_calls"][0]["function"]["arguments"]["city"] = "Oslo"
    assert spec_verify(receipt.to_dict(), keys, request, edited) == "tampered"


def test_an_ollama_stream_without_its_done_line_is_never_sealed(t0: datetime) -> None:
    sealer, writer, _ = _sealer(t0)
    seal = sealer.open_stream(_info(sealer, {"prompt": "hi"}, endpoint="/api/generate"))
    seal.feed(_line({"response": "a", "done": False}))
    with pytest.raises(UpstreamProtocolError, match="ended early"):
        asyncio.run(seal.finish(200, 0.1))
    with pytest.raises(UpstreamProtocolError, match="bad line"):
        seal.feed(b"data: {}\n")
    bad_receipt = b'{"llmseal_receipt":2,"receipt":{},"response":"smuggled"}\n'
    with pytest.raises(UpstreamProtocolError, match="no content"):
        sealer.open_stream(_info(sealer, {"prompt": "hi"}, endpoint="/api/generate")).feed(
            bad_receipt
        )
    assert writer.stored == []
    assert json.loads(seal.error_event("cut")) == {"error": "llmseal gateway: cut"}
