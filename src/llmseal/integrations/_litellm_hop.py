"""LiteLLM as a signed hop: verify the upstream's receipt inside the proxy, sign it as parent.

What LiteLLM 1.110.2 hands back of a sealed upstream (read in its source, and
seen on the wire with our gateway as the upstream):

* a plain answer keeps the upstream's top-level ``receipt`` (the openai SDK
  keeps unknown members, and LiteLLM's ``ModelResponse`` re-serializes them),
  but the body around it is rebuilt (``model`` restamped to the name the client
  asked for, ``provider_specific_fields`` added to each choice), so that receipt
  no longer covers the bytes LiteLLM sends; upstream headers come back prefixed
  ``llm_provider-`` (``llm_provider-x-receipt-id``: an id only);
* a streamed answer loses the receipt: the openai SDK parses the SSE stream and
  drops comments, which is where a sealed stream carries its receipt.

So the receipt is checked where the bytes still exist: LiteLLM's OpenAI provider
talks to the upstream through ``litellm.aclient_session``, which
:func:`install` sets to an ``httpx.AsyncClient`` on the verifying transport. Each
verified upstream receipt (or failure) is recorded for the client request being
served (a context variable that :class:`HopCapture` sets around LiteLLM's app),
and the sealer of :class:`~llmseal.gateway.middleware.ReceiptMiddleware` signs
it into ``parents``, whole, as an ``upstream`` link with a declared
``reserialize`` transform (docs/spec/bundle.md, "Chains"): ``preserves`` lists
only the JSON pointers this hop found equal on both sides.

Fail closed: a 2xx answer is sealed only when the last upstream call for it
returned a verified receipt; otherwise it goes out unsigned (plain) or with an
error event instead of a receipt (stream). An upstream answer that fails
verification makes LiteLLM's call fail, so the client gets LiteLLM's error,
sealed without a parent. In hop mode every OpenAI-provider upstream of the proxy
must be sealed, and LiteLLM's own response cache must be off (a cached answer
has no upstream receipt, so it is refused). Tested on chat completions, plain
and streamed (tests/integration/model/test_litellm_hop.py); by LiteLLM's source
its text completions and embeddings use the same client. Routes whose upstream
calls bypass it (LiteLLM's Anthropic and Responses handlers build their own httpx
clients) have no verified upstream receipt, so their 2xx answers are not sealed.
A stream's ``reserialize`` declares no preserved response pointers: the hop
compares plain bodies only.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from llmseal.bundle.format import receipt_digest
from llmseal.client.transport import AsyncVerifyingTransport
from llmseal.client.verifier import ResponseVerifier
from llmseal.core.canonical import loads
from llmseal.core.hashing import GATEWAY_MEMBERS, SEALED_ENDPOINTS, hash_json
from llmseal.core.sse import SseSplitter, event_data
from llmseal.errors import ContentError, Error
from llmseal.gateway.http._types import ASGIApp, Message, Receive, Scope, Send
from llmseal.gateway.sealing._protocol import UpstreamProtocolError
from llmseal.gateway.sealing.sealing import RequestInfo

__all__ = ["HopCapture", "HopTransport", "hop_parents"]

# The request members a hop may pass on unchanged; ``model`` is LiteLLM's to rename.
_REQUEST_POINTERS = ("messages", "prompt", "input", "tools", "tool_choice", "max_tokens",
                     "max_completion_tokens", "temperature", "top_p", "stop", "seed", "n",
                     "stream", "response_format")  # fmt: skip
_CHOICE_POINTERS = ("message/content", "message/tool_calls", "text", "finish_reason")


@dataclass
class _Calls:
    """The upstream calls made for one client request, in order."""

    events: list[tuple[str, Any, Any]] = field(default_factory=list)  # (kind, receipt, bodies)
    response_preserves: list[str] | None = None


_CURRENT: contextvars.ContextVar[_Calls | None] = contextvars.ContextVar(
    "llmseal_litellm_hop", default=None
)


def _record(kind: str, receipt: Any = None, bodies: Any = None) -> None:
    calls = _CURRENT.get()
    if calls is not None:
        calls.events.append((kind, receipt, bodies))


class _Watched(httpx.AsyncByteStream):
    """A verified stream, passed on; records its receipt, or its failure."""

    def __init__(self, inner: Any, request: Any) -> None:
        self._inner = inner
        self._request = request
        self._splitter = SseSplitter()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._inner:
                for event in self._splitter.feed(data):
                    receipt = _verdict_receipt(event_data(event))
                    if receipt is not None:
                        _record("ok", receipt, (self._request, None))
                yield data
        except Error as exc:
            _record("failed", str(exc))
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()


def _verdict_receipt(payload: bytes | None) -> dict[str, Any] | None:
    """The receipt on the event the verifier released with its verdict, if this is it."""
    if payload is None or b'"llmseal"' not in payload:
        return None
    event = _json(payload)  # the verifier vetted these bytes already
    receipt = event.get("receipt") if isinstance(event, dict) else None
    return receipt if isinstance(receipt, dict) else None


class HopTransport(httpx.AsyncBaseTransport):
    """The verifying transport, recording each verdict for the request being served."""

    def __init__(self, verifier: ResponseVerifier) -> None:
        self._inner = AsyncVerifyingTransport(verifier)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = await request.aread()
        try:
            response: httpx.Response = await self._inner.handle_async_request(request)
        except Error as exc:
            _record("failed", str(exc))
            raise
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return httpx.Response(
                response.status_code, headers=response.headers.raw,
                stream=_Watched(response.stream, _json(sent)), extensions=response.extensions,
            )  # fmt: skip
        if response.is_stream_consumed:  # a verified JSON answer, already read
            body = _json(response.content)
            if isinstance(body, dict) and isinstance(body.get("receipt"), dict):
                _record("ok", body["receipt"], (_json(sent), body))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _json(raw: bytes) -> Any:
    try:
        return loads(raw)
    except ContentError:
        return None


def hop_parents(info: RequestInfo, status: int) -> list[dict[str, Any]]:
    """The ``parents`` entry for this answer (the Sealer's ``hop`` hook).

    Raises:
        UpstreamProtocolError: a 2xx answer whose last upstream call did not
            return a verified receipt: it must not be sealed.
    """
    calls = _CURRENT.get()
    last = calls.events[-1] if calls is not None and calls.events else None
    if not 200 <= status < 300:
        return []  # LiteLLM's own error answer: sealed as such, building on nothing
    if last is None:
        raise UpstreamProtocolError("no verified upstream receipt for this answer (hop mode)")
    kind, receipt, bodies = last
    if kind != "ok":
        raise UpstreamProtocolError(f"the upstream receipt failed verification: {receipt}")
    assert calls is not None
    upstream_request = bodies[0] if isinstance(bodies, tuple) else None
    request = {"op": "reserialize", "preserves": _same(info.request, upstream_request,
                                                       _REQUEST_POINTERS)}  # fmt: skip
    response = {"op": "reserialize", "preserves": calls.response_preserves or []}
    return [{"digest": receipt_digest(receipt), "relation": "upstream", "receipt": receipt,
             "transform": {"request": request, "response": response}}]  # fmt: skip


def _same(ours: Any, theirs: Any, names: tuple[str, ...]) -> list[str]:
    if not isinstance(ours, dict) or not isinstance(theirs, dict):
        return []
    return [f"/{n}" for n in names if n in ours and n in theirs
            and hash_json(ours[n]) == hash_json(theirs[n])]  # fmt: skip


def _response_preserves(delivered: dict[str, Any], upstream: Any) -> list[str]:
    if not isinstance(upstream, dict):
        return []
    same = _same(delivered, upstream, ("usage",))
    ours, theirs = delivered.get("choices"), upstream.get("choices")
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for n, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            for pointer in _CHOICE_POINTERS:
                a, b = _at(mine, pointer), _at(other, pointer)
                if a is not None and b is not None and hash_json(a) == hash_json(b):
                    same.append(f"/choices/{n}/{pointer}")
    return same


def _at(value: Any, path: str) -> Any:
    for token in path.split("/"):
        value = value.get(token) if isinstance(value, dict) else None
    return value


class HopCapture:
    """ASGI app between ReceiptMiddleware and LiteLLM's app.

    Opens the record of upstream calls for each sealed request, and takes the
    upstream's ``receipt`` (its evidence, the verifier's ``llmseal`` verdict) out
    of LiteLLM's answers, plain and streamed: it does not cover what LiteLLM
    sends, and the verified one goes into ``parents`` instead.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in SEALED_ENDPOINTS:
            await self.app(scope, receive, send)
            return
        calls = _Calls()
        token = _CURRENT.set(calls)
        try:
            await self.app(scope, receive, _Rewriter(calls, send).send)
        finally:
            _CURRENT.reset(token)


_CARRIED = GATEWAY_MEMBERS | {"llmseal"}  # the upstream's members, the verifier's verdict


def _without_carried(body: Any) -> Any:
    if isinstance(body, dict) and not _CARRIED.isdisjoint(body):
        return {k: v for k, v in body.items() if k not in _CARRIED}
    return body


def _clean_event(event: bytes) -> bytes:
    """An SSE event without the upstream's receipt and verdict (LiteLLM keeps both)."""
    payload = event_data(event)
    if payload is None or (b'"receipt"' not in payload and b'"llmseal"' not in payload):
        return event
    body = _json(payload)
    cleaned = _without_carried(body)
    return event if cleaned is body else b"data: " + orjson.dumps(cleaned) + b"\n\n"


class _Rewriter:
    def __init__(self, calls: _Calls, send: Send) -> None:
        self._calls = calls
        self._send = send
        self._start: Message | None = None
        self._chunks: list[bytes] = []
        self._sse: SseSplitter | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            kind = dict(message.get("headers", [])).get(b"content-type", b"")
            if kind.startswith(b"application/json"):
                self._start = message
                return
            if kind.startswith(b"text/event-stream"):
                self._sse = SseSplitter()
        elif message["type"] == "http.response.body" and self._start is not None:
            self._chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._flush()
            return
        elif message["type"] == "http.response.body" and self._sse is not None:
            more = message.get("more_body", False)
            out = b"".join(_clean_event(e) for e in self._sse.feed(message.get("body", b"")))
            message = {**message, "body": out if more else out + self._sse.pending}
        await self._send(message)

    async def _flush(self) -> None:
        assert self._start is not None
        raw = b"".join(self._chunks)
        parsed = _json(raw)
        body = _without_carried(parsed)
        if body is not parsed:
            raw = orjson.dumps(body)
        if isinstance(body, dict) and self._calls.events and self._calls.events[-1][0] == "ok":
            self._calls.response_preserves = _response_preserves(body, self._calls.events[-1][2][1])
        headers = [(k, v) for k, v in self._start.get("headers", [])
                   if k.lower() != b"content-length"]  # fmt: skip
        headers.append((b"content-length", str(len(raw)).encode()))
        await self._send({**self._start, "headers": headers})
        await self._send({"type": "http.response.body", "body": raw, "more_body": False})
