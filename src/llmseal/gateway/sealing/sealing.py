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

The request side is :mod:`.request`, the streams :mod:`._sse` and :mod:`._ndjson`;
:class:`Sealer` is where each answer is signed, stored and logged. ``RequestInfo``
and ``StreamSeal`` are part of its interface and importable from here.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from llmseal.compat.llm_sign import LlmSignIssuer
from llmseal.core.canonical import canonicalize, loads
from llmseal.core.hashing import GATEWAY_MEMBERS, NDJSON_ENDPOINTS, SEALED_ENDPOINTS
from llmseal.core.keys import Signer
from llmseal.core.keyset import KeyResolver
from llmseal.core.receipt import Receipt, check_identifier
from llmseal.core.sign import issue_receipt
from llmseal.errors import ContentError, MalformedReceiptError
from llmseal.gateway.keys.keymap import KeyMap, SigningKey
from llmseal.gateway.keys.modelkeys import served_model
from llmseal.gateway.observability._otel import inference_spans
from llmseal.gateway.receipts.receipt_log import ReceiptLogger
from llmseal.gateway.sealing._ndjson import NdjsonSeal
from llmseal.gateway.sealing._protocol import UpstreamProtocolError
from llmseal.gateway.sealing._sse import StreamSeal
from llmseal.gateway.sealing.hop import upstream_failure
from llmseal.gateway.sealing.request import RequestInfo, inspect_request
from llmseal.store.base import StoredReceipt
from llmseal.store.writer import BatchWriter

__all__ = [
    "SIGNED_ENDPOINTS",
    "RequestInfo",
    "Sealer",
    "StreamSeal",
    "UpstreamProtocolError",
]

SIGNED_ENDPOINTS = SEALED_ENDPOINTS


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
        """The request as received (:func:`~.request.inspect_request`)."""
        return inspect_request(endpoint, body, started, parents, commit)

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
