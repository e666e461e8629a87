"""Sealing: turn an upstream answer into the same answer plus a stored receipt.

Shared by the reverse proxy (:mod:`llmseal.gateway.app`) and the in-process ASGI
middleware (:mod:`llmseal.gateway.middleware`). Order matters for the promise
"never a signature over something that wasn't delivered, never a delivered
receipt that isn't stored": hash what is delivered, sign, commit to the store,
and only then hand the bytes back for sending.

Wire format (design.md, "HTTP"; docs/spec/stream.md): a non-streaming JSON
response gains a top-level ``receipt``; a stream gains one SSE comment line
``: llmseal-receipt 2 {...}`` after its last event — before ``data: [DONE]`` on
chat and text completion streams, after the terminal event on Anthropic
(``message_stop``) and Responses API (``response.completed``...) ones (framing 2,
:mod:`llmseal.core.framing`). SSE decoders drop comments, so no SDK and no
``chunk.choices[0]`` loop ever meets the receipt.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from llmseal.bundle.commit import commit_request
from llmseal.bundle.declare import parse_parents
from llmseal.compat.llm_sign import LlmSignIssuer
from llmseal.core.canonical import canonicalize, loads
from llmseal.core.framing import comment_receipt, receipt_comment
from llmseal.core.hashing import (
    GATEWAY_MEMBERS,
    NDJSON_ENDPOINTS,
    SEALED_ENDPOINTS,
    TERMINAL_EVENTS,
    StreamHasher,
    hash_json,
    wants_stream,
)
from llmseal.core.keys import Signer
from llmseal.core.keyset import KeyResolver
from llmseal.core.receipt import Receipt, check_identifier
from llmseal.core.sign import issue_receipt
from llmseal.core.sse import SseSplitter, event_data
from llmseal.errors import ContentError, InputError, MalformedReceiptError
from llmseal.gateway.keys.keymap import KeyMap, SigningKey, StreamKey
from llmseal.gateway.keys.modelkeys import served_model
from llmseal.gateway.observability._otel import inference_spans
from llmseal.gateway.receipts.receipt_log import ReceiptLogger
from llmseal.gateway.sealing._ndjson import NdjsonSeal
from llmseal.gateway.sealing._protocol import UpstreamProtocolError
from llmseal.gateway.sealing.hop import upstream_failure
from llmseal.store.base import StoredReceipt
from llmseal.store.writer import BatchWriter

__all__ = [
    "SIGNED_ENDPOINTS",
    "RequestInfo",
    "Sealer",
    "StreamSeal",
    "UpstreamProtocolError",
]

DONE_EVENT = b"data: [DONE]\n\n"
SIGNED_ENDPOINTS = SEALED_ENDPOINTS


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What the gateway learnt from the client's request before forwarding it."""

    endpoint: str
    prompt_hash: str
    model: str | None
    stream: bool
    started: float  # perf_counter() when the request arrived
    request: dict[str, Any] | None = None  # the parsed body (llm_sign signs it again)
    parents: tuple[dict[str, Any], ...] = ()  # declared by the caller (X-Receipt-Parents)
    commit_seed: bytes | None = None  # X-Receipt-Commit: messages (llmseal.bundle.commit)
    commitments: dict[str, Any] | None = None  # the signed claim made from that seed


class Sealer:
    """Signs and stores receipts with the issuer's key, or the served model's (``keys``)."""

    def __init__(
        self,
        signer: Signer | None,
        writer: BatchWriter,
        *,
        clock: Callable[[], datetime],
        issuer: str | None = None,
        model_id: str | None = None,
        on_receipt: Callable[[float], None] | None = None,
        llm_sign: LlmSignIssuer | None = None,
        evidence: dict[str, Any] | None = None,
        weight_hash: str | None = None,
        inference: dict[str, Any] | None = None,
        logger: ReceiptLogger | None = None,
        upstream_keys: KeyResolver | None = None,
        keys: KeyMap | None = None,
    ) -> None:
        if keys is None:
            if signer is None:
                raise ValueError("a Sealer needs a signer or a key map")
            keys = KeyMap(single=SigningKey(signer, evidence))
        self.keys = keys
        self.signer = keys.default.signer
        self.upstream_keys = upstream_keys  # a hop: the upstream's receipts must verify
        self.weight_hash = weight_hash  # the v0.3 member: the weights the issuer commits to
        self.inference = inference  # what ran them (engine, settings that change outputs)
        self.logger = logger  # the transparency log (receipt_log.py)
        self.llm_sign = llm_sign
        self.writer = writer
        self.clock = clock
        self.issuer = issuer
        self.model_id = model_id
        self._on_receipt = on_receipt
        self.spans = inference_spans()  # None unless opentelemetry is installed (_otel.py)
        # A hop around another app (llmseal.integrations.litellm): the upstream receipts it
        # verified, as parents entries; it raises UpstreamProtocolError to refuse the seal.
        self.hop: Callable[[RequestInfo, int], list[dict[str, Any]]] | None = None

    def inspect_request(
        self,
        endpoint: str,
        body: bytes,
        started: float,
        parents: bytes | None = None,
        commit: bytes | None = None,
    ) -> RequestInfo:
        """Parse and hash the request exactly as received; ContentError if it is not JSON.

        ``parents``: the ``X-Receipt-Parents`` header, signed into the receipt as given
        (InputError when it is not that header's form). ``commit``: the
        ``X-Receipt-Commit`` header; ``messages`` adds salted per-message commitments
        and hands the caller their seed in ``receipt_evidence.commitment_seed``.
        """
        declared = tuple(parse_parents(parents)) if parents is not None else ()
        seed = _commit_seed(commit)
        parsed = loads(body)
        if not isinstance(parsed, dict):
            raise ContentError("the request body must be a JSON object")
        model = parsed.get("model")
        return RequestInfo(
            endpoint=endpoint,
            prompt_hash=hash_json(parsed),
            model=model if isinstance(model, str) else None,
            stream=wants_stream(endpoint, parsed),
            started=started,
            request=parsed,
            parents=declared,
            commit_seed=seed,
            # Made now: a request without messages is refused before it goes upstream.
            commitments=commit_request(parsed, seed) if seed is not None else None,
        )

    async def seal_body(
        self, info: RequestInfo, status: int, body: bytes, upstream_s: float
    ) -> tuple[bytes, Receipt | None]:
        """Seal a complete JSON response; returns the body to deliver and its receipt.

        The receipt is None (and the body the upstream's) for an unmapped model at a
        gateway that passes those unsigned; UnmappedModelError when it refuses them.
        """
        try:
            parsed = loads(body)
        except ContentError as exc:
            raise UpstreamProtocolError(f"upstream returned invalid JSON (HTTP {status})") from exc
        if not isinstance(parsed, dict):
            raise UpstreamProtocolError("upstream returned JSON that is not an object")
        carried = not GATEWAY_MEMBERS.isdisjoint(parsed)
        content = (
            {k: v for k, v in parsed.items() if k not in GATEWAY_MEMBERS} if carried else parsed
        )
        served = served_model(info.endpoint, content)
        model, key = self.keys.choose(served, info.model)  # before anything is signed
        claims = self.claims(info, status, upstream_s, content.get("usage"))
        if isinstance(parsed.get("receipt"), dict):
            # Chained gateways: the upstream's own receipt is kept, inside what we sign.
            claims["parents"] = [*claims.get("parents", ()), parsed["receipt"]]
        try:
            output_hash = hashlib.sha256(canonicalize(content)).hexdigest()
        except ContentError as exc:  # NaN-free JSON can still hold an unsafe integer
            raise UpstreamProtocolError(f"upstream JSON cannot be hashed: {exc}") from exc
        self.check_upstream(parsed.get("receipt"), info, output_hash)
        if key is None:
            return body, None
        receipt, receipt_json, evidence = await self.issue(
            info, output_hash, claims, key, served if model is None else model
        )
        envelope = self._llm_sign_envelope(info, status, content)
        if carried:
            members: dict[str, Any] = {**content, "receipt": orjson.Fragment(receipt_json)}
            if evidence is not None:
                members["receipt_evidence"] = orjson.Fragment(evidence)
            if envelope is not None:
                members["llm_sign"] = envelope
            delivered = orjson.dumps(members)
        else:
            spliced = receipt_json
            if evidence is not None:
                spliced += b',"receipt_evidence":' + evidence
            if envelope is not None:
                spliced += b',"llm_sign":' + orjson.dumps(envelope)
            delivered = _splice(body, spliced, empty=not parsed)
        return delivered, receipt

    def check_upstream(self, receipt: Any, info: RequestInfo, output_hash: str) -> None:
        """As a hop (``upstream_keys``): UpstreamProtocolError unless the upstream's
        receipt verifies over the forwarded request and this answer."""
        if self.upstream_keys is None:
            return
        why = upstream_failure(
            receipt, self.upstream_keys, prompt_hash=info.prompt_hash, output_hash=output_hash
        )
        if why is not None:
            raise UpstreamProtocolError(why)

    def _llm_sign_envelope(
        self, info: RequestInfo, status: int, content: dict[str, Any]
    ) -> dict[str, Any] | None:
        """llm_sign's envelope beside the receipt (seed 003): successful chat completions only.

        llm_sign has no error or streaming profile, so anything else goes without one.
        """
        if (
            self.llm_sign is None
            or info.request is None
            or info.endpoint != "/v1/chat/completions"
            or not 200 <= status < 300
        ):
            return None
        try:
            return self.llm_sign.envelope(info.request, content)
        except ContentError:
            return None  # not a chat completion exchange: the receipt alone covers it

    def open_stream(self, info: RequestInfo) -> StreamSeal | NdjsonSeal:
        """The sealer of a stream answer: SSE, or NDJSON for Ollama's native API."""
        if info.endpoint in NDJSON_ENDPOINTS:
            return NdjsonSeal(self, info)
        return StreamSeal(self, info)

    def claims(
        self, info: RequestInfo, status: int, upstream_s: float, usage: Any
    ) -> dict[str, Any]:
        claims: dict[str, Any] = {"endpoint": info.endpoint, "status_code": status}
        if self.issuer:
            claims["issuer"] = self.issuer
        if isinstance(usage, dict):
            claims["usage"] = usage
        if self.inference is not None:
            claims["inference"] = self.inference
        if info.parents:
            claims["parents"] = [dict(p) for p in info.parents]
        if self.hop is not None and (verified := self.hop(info, status)):
            claims["parents"] = [*claims.get("parents", ()), *verified]
        if info.commitments is not None:
            claims["commitments"] = info.commitments
        claims["timing"] = {
            "upstream_us": int(upstream_s * 1e6),
            "gateway_us": int((time.perf_counter() - info.started) * 1e6),
        }
        return claims

    async def issue(
        self,
        info: RequestInfo,
        output_hash: str,
        claims: dict[str, Any],
        key: SigningKey,
        served_model: Any,
    ) -> tuple[Receipt, bytes, bytes | None]:
        """Sign with ``key``, commit to the store, log; the receipt, its JSON and the
        evidence JSON. ``served_model``: the mapped model, else what the answer names."""
        start = time.perf_counter()
        receipt = issue_receipt(
            key.signer,
            model_id=key.model_id or self._model_id(info, served_model),
            prompt_hash=info.prompt_hash,
            output_hash=output_hash,
            at=self.clock(),
            claims=claims,
            weight_hash=self.weight_hash,
        )
        receipt_json = orjson.dumps(receipt.to_dict())
        if self._on_receipt is not None:
            self._on_receipt(time.perf_counter() - start)
        await self.writer.put(StoredReceipt.of(receipt, receipt_json))
        logged = None
        if self.logger is not None:
            logged = await self.logger.logged_evidence(receipt, receipt_json)
        if self.spans is not None:  # committed (and logged): now the trace may name it
            self.spans(info.endpoint, info.started, info.model, served_model, receipt,
                       claims.get("usage"), claims["status_code"])  # fmt: skip
        if not logged and info.commit_seed is None:
            # Static evidence of the key (a certificate chain), serialized once;
            # design.md keeps it beside the receipt, never inside.
            return receipt, receipt_json, key.evidence_json
        evidence = {**(key.evidence or {}), **(logged or {})}
        if info.commit_seed is not None:  # for the caller only: never stored by the gateway
            evidence["commitment_seed"] = base64.urlsafe_b64encode(info.commit_seed).decode()
        return receipt, receipt_json, orjson.dumps(evidence)

    def _model_id(self, info: RequestInfo, served: Any) -> str:
        # The configured model id wins; else what the upstream says it served; else
        # what the client asked for — each only if it can be a receipt's model_id
        # (a client may ask for model "" or "\x00": found by the schemathesis run).
        if self.model_id:
            return self.model_id
        for candidate in (served, info.model):
            if isinstance(candidate, str) and _usable_id(candidate):
                return candidate
        return "unknown"


def _commit_seed(header: bytes | None) -> bytes | None:
    """A fresh seed when the caller asked for ``X-Receipt-Commit: messages``."""
    if header is None:
        return None
    if header.strip().lower() != b"messages":
        raise InputError("x-receipt-commit takes the value 'messages'")
    return os.urandom(32)


def _usable_id(value: str) -> bool:
    try:
        check_identifier("model_id", value)
    except MalformedReceiptError:
        return False
    return True


def _splice(body: bytes, receipt_json: bytes, *, empty: bool) -> bytes:
    """Insert ``"receipt": {...}`` before the closing brace, keeping the upstream bytes."""
    end = len(body.rstrip())
    separator = b'"receipt":' if empty else b',"receipt":'
    return b"".join((body[: end - 1], separator, receipt_json, b"}"))


class StreamSeal:
    """Seals one SSE stream while it passes through.

    ``feed`` returns the bytes to forward right away (events as the upstream sent
    them, the ``[DONE]`` event held back); ``finish`` returns the receipt comment
    followed by ``[DONE]``. A stream that ends without ``[DONE]`` is never sealed.
    A receipt comment from the upstream (a chained gateway) is not forwarded: it
    becomes a signed ``parents`` claim, so the stream carries one receipt.
    """

    media_type = b"text/event-stream"

    def __init__(self, sealer: Sealer, info: RequestInfo) -> None:
        self._sealer = sealer
        self._info = info
        self._splitter = SseSplitter()
        self._hasher = StreamHasher()
        self._usage: Any = None
        self._parents: list[Any] = []
        # Anthropic and Responses streams end with a terminal event, the others with [DONE].
        self._terminal = TERMINAL_EVENTS.get(info.endpoint)
        self.key = StreamKey(sealer.keys, info.endpoint, info.model)
        self.done = False
        self.first_chunk_s: float | None = None

    def feed(self, data: bytes) -> bytes:
        if self.done:
            return b""  # nothing after [DONE] is delivered
        try:
            events = self._splitter.feed(data)
        except ValueError as exc:
            raise UpstreamProtocolError(str(exc)) from exc
        forward: list[bytes] = []
        for event in events:
            payload = event_data(event)
            if payload is None:
                if not self._parent(event):
                    forward.append(event)  # comments and retry hints pass, unhashed
                continue
            if self._terminal is None and payload.strip() == b"[DONE]":
                self.done = True
                break
            chunk = self._add(payload)
            forward.append(event)
            if self._terminal is not None and chunk.get("type") in self._terminal:
                self.done = True
                break
        if forward and self.first_chunk_s is None:
            self.first_chunk_s = time.perf_counter() - self._info.started
        return b"".join(forward)

    def _parent(self, event: bytes) -> bool:
        """True for an upstream receipt comment (kept as a parent, never forwarded)."""
        try:
            found = comment_receipt(event)
        except ContentError:
            return True  # claims to be a receipt but is none: not ours to pass on
        if found is not None:
            self._parents.append(found.receipt)
        return found is not None

    def _add(self, payload: bytes) -> dict[str, Any]:
        try:
            chunk = loads(payload)
            self._hasher.add(chunk)
        except ContentError as exc:
            raise UpstreamProtocolError(f"upstream stream carried a non-JSON event: {exc}") from exc
        if not isinstance(chunk, dict):
            return {}
        self.key.see(chunk)  # before the event is forwarded: refusing delivers nothing of it
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        return chunk

    async def finish(self, status: int, upstream_s: float) -> tuple[bytes, Receipt | None]:
        """The receipt comment (and ``[DONE]``); call only when ``done``. No receipt
        (and no comment) for an unmapped model passed unsigned."""
        if not self.done:
            raise UpstreamProtocolError("upstream stream ended early (no end-of-stream event)")
        model, key = self.key.final()
        claims = self._sealer.claims(self._info, status, upstream_s, self._usage)
        claims["stream"] = {
            "chunks": self._hasher.count,
            "first_chunk_us": int((self.first_chunk_s or 0.0) * 1e6),
        }
        self._sealer.check_upstream(
            self._parents[-1] if self._parents else None, self._info, self._hasher.hexdigest()
        )
        if self._parents:
            claims["parents"] = [*claims.get("parents", ()), *self._parents]
        if key is None:
            return (b"" if self._terminal is not None else DONE_EVENT), None
        receipt, receipt_json, evidence = await self._sealer.issue(
            self._info, self._hasher.hexdigest(), claims, key,
            self.key.served if model is None else model,
        )  # fmt: skip
        comment = receipt_comment(receipt_json, evidence)
        return (comment if self._terminal is not None else comment + DONE_EVENT), receipt

    @staticmethod
    def error_event(message: str) -> bytes:
        """An OpenAI-style error event: SDKs raise on it; no receipt follows."""
        body = {
            "error": {
                "message": message,
                "type": "llmseal_gateway_error",
                "code": "upstream_stream",
            }
        }
        return b"data: " + orjson.dumps(body) + b"\n\n"
