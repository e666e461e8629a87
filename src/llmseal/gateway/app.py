"""The signing reverse proxy, as a plain ASGI application.

Routes (design.md, "HTTP"):

* ``POST /v1/chat/completions``, ``/v1/completions``, ``/v1/messages``, ``/v1/responses``,
  ``/v1/embeddings`` — forwarded and sealed
  (every response, or only when the client sends ``X-Receipt-Request: true``);
* ``/v1/receipts/...`` — the receipt API (:mod:`llmseal.gateway.receipts.api`);
* ``GET /metrics``, ``GET /healthz``, ``GET /openapi.json`` (the contract);
* ``GET /verify`` (the in-browser verifier) and, when enabled, ``GET /dashboard``
  (:mod:`llmseal.gateway.web.routes`);
* anything else — passed through unsigned (``GET /v1/models``...).

No framework on the hot path: routing is two dict/prefix checks, bodies are
bytes, and the upstream answer is spliced rather than re-serialized. Forwarding
and relaying the answer is :mod:`._relay`; this module wires a worker and routes.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from llmseal.core.keys import Signer
from llmseal.errors import ContentError, InputError
from llmseal.gateway._relay import Relay
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.http._asgi import (
    BodyTooLarge,
    ClientDisconnected,
    DisconnectWatch,
    header,
    read_body,
    send_bytes,
    send_error,
    send_json,
)
from llmseal.gateway.http._types import Receive, Scope, Send
from llmseal.gateway.http.upstream import Upstream
from llmseal.gateway.keys.keymap import open_keymap
from llmseal.gateway.observability.metrics import Metrics
from llmseal.gateway.observability.recent import RecentReceipts, RecordingStore
from llmseal.gateway.receipts.api import ReceiptsApi
from llmseal.gateway.receipts.receipt_log import open_log_link
from llmseal.gateway.sealing.sealing import SIGNED_ENDPOINTS, Sealer
from llmseal.gateway.web.openapi import OPENAPI_JSON
from llmseal.gateway.web.routes import gateway_routes
from llmseal.gateway.weights.binding import WeightsApi, WeightsBinding
from llmseal.gateway.weights.commitment import ensure_commitment
from llmseal.store.base import ReceiptStore
from llmseal.store.opening import commits_block, open_receipt_store
from llmseal.store.writer import BatchWriter
from llmseal.trust.keysource import load_keyset

__all__ = ["SIGNED_ENDPOINTS", "Gateway", "create_app"]

log = logging.getLogger("llmseal.gateway")


def _now() -> datetime:
    return datetime.now(UTC)


class Gateway:
    """The ASGI app. One instance per worker process."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        signer: Signer | None = None,
        store: ReceiptStore | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.config = config
        data = Path(config.data_dir)
        logged = config.log_dir is not None or config.log_url is not None
        self.store = store or open_receipt_store(
            config.store_location, durable=config.durable, outbox=logged
        )
        self.logger, self.log_app = open_log_link(config, self.store)
        # The dashboard lists recent receipts from small per-worker rings, not the store.
        self.recent = RecentReceipts(data / "recent") if config.dashboard else None
        committed = RecordingStore(self.store, self.recent) if self.recent else self.store
        offload = commits_block(config.store_location, durable=config.durable)
        self.writer = BatchWriter(committed, offload=offload)
        self.metrics = Metrics(data / "metrics")
        # Per-model keys (keymap.py), or the one key of this gateway.
        keys = open_keymap(config.key_settings()) if config.models else None
        signer = keys.default.signer if keys else signer or config.load_signer()
        self.weights = WeightsBinding.load(config)
        self.upstream = Upstream(
            config.upstream, timeout=config.upstream_timeout, connect_timeout=config.connect_timeout
        )
        self.sealer = Sealer(
            signer,
            self.writer,
            clock=clock,
            issuer=config.issuer,
            model_id=config.model_id,
            on_receipt=self.metrics.signed,
            llm_sign=config.llm_sign_issuer(),
            evidence=None if keys else config.certificate_evidence(signer),
            weight_hash=self.weights.manifest.weight_hash if self.weights else None,
            inference=self.weights.inference if self.weights else None,
            logger=self.logger,
            upstream_keys=load_keyset(config.upstream_keys) if config.upstream_keys else None,
            keys=keys,
        )
        self.relay = Relay(config, self.upstream, self.sealer, self.metrics)
        self.api = ReceiptsApi(self.store, config.keys_dir, max_body=config.max_request_bytes)
        self.weights_api = None
        if self.weights is not None:
            commitment = None
            if self.logger is not None:  # logged: the commitment is public and timestamped
                commitment = ensure_commitment(
                    self.store, signer, self.weights.manifest, at=clock(), issuer=config.issuer,
                    model_id=config.model_id, inference=self.weights.inference,
                )  # fmt: skip
            self.weights_api = WeightsApi(self.weights, commitment, self.logger)
        self.web = gateway_routes(config, signer.key_id, clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path in SIGNED_ENDPOINTS and method == "POST":
            started = time.perf_counter()
            status = await self._signed(scope, receive, send, path)
            self.metrics.sealed(time.perf_counter() - started)
            route = "signed"
        elif self.weights_api is not None and path.startswith("/v1/receipts/weights/"):
            status = await self.weights_api.handle(path, method, send)
            route = "receipts_api"
        elif path.startswith("/v1/receipts"):
            status = await self.api.handle(scope, receive, send)
            route = "receipts_api"
        elif self.log_app is not None and self.log_app.handles(path):
            status = await self.log_app.handle(scope, receive, send)
            route = "other"
        elif path == "/metrics" and method == "GET":
            status = 200
            await send_bytes(send, 200, self.metrics.render(), b"text/plain; version=0.0.4")
            route = "other"
        elif path == "/openapi.json" and method == "GET":
            status = 200
            await send_bytes(send, 200, OPENAPI_JSON)
            route = "other"
        elif path == "/healthz":
            status = 200
            await send_json(send, 200, {"status": "ok", "key_id": self.sealer.signer.key_id})
            route = "other"
        elif self.web.handles(path, method):
            status = await self.web.handle(scope, send)
            route = "other"
        else:
            status = await self.relay.passthrough(scope, receive, send, None)
            route = "passthrough"
        self.metrics.request(route, status)
        if self.config.access_log:
            log.info("%s %s %s", method, path, status)

    def _wants_receipt(self, scope: Scope) -> bool:
        if self.config.receipts == "always":
            return True
        value = header(scope, b"x-receipt-request")
        return value is not None and value.strip().lower() == b"true"

    async def _signed(self, scope: Scope, receive: Receive, send: Send, path: str) -> int:
        started = time.perf_counter()
        try:
            body = await read_body(scope, receive, self.config.max_request_bytes)
        except BodyTooLarge:
            return await send_error(
                send, 413, f"request body over {self.config.max_request_bytes} bytes", "too_large"
            )
        except ClientDisconnected:
            return 499
        if not self._wants_receipt(scope):
            return await self.relay.passthrough(scope, receive, send, body)
        try:
            parents = header(scope, b"x-receipt-parents")
            commit = header(scope, b"x-receipt-commit")
            info = self.sealer.inspect_request(path, body, started, parents, commit)
        except ContentError as exc:
            return await send_error(send, 400, f"request body: {exc}", "invalid_request")
        except InputError as exc:  # a malformed X-Receipt-Parents or X-Receipt-Commit
            return await send_error(send, 400, str(exc), "invalid_request")
        if not self.sealer.keys.admits(info.model):  # refused before the upstream works
            return await send_error(
                send, 400, f"model {info.model!r} has no signing key here", "unmapped_model"
            )
        forwarded = time.perf_counter()
        watch = DisconnectWatch(receive)
        try:
            response = await self.relay.forward(scope, body, stream=info.stream, send=send)
            if isinstance(response, int):
                return response
            try:
                if info.stream and response.status == 200:
                    seal = self.sealer.open_stream(info)
                    if response.content_type == seal.media_type.decode():
                        return await self.relay.relay_stream(seal, response, send, forwarded, watch)
                return await self.relay.relay_body(info, response, send, forwarded, watch)
            finally:
                response.close()
        finally:
            watch.stop()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Everything allocated so far lives as long as the worker: keep the
                # cyclic GC from rescanning it, which shows up as tail latency.
                gc.collect()
                gc.freeze()
                if self.logger is not None:
                    self.logger.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        """Commit what is pending and release connections (graceful shutdown)."""
        await self.upstream.close()
        self.writer.close()
        if self.logger is not None:
            await self.logger.aclose()  # resubmits the outbox, closes an embedded log
        self.store.close()
        self.metrics.close()
        if self.weights is not None:
            self.weights.close()
        if self.recent is not None:
            self.recent.close()


def create_app() -> Gateway:
    """Factory for uvicorn workers: reads the config from the environment."""
    return Gateway(GatewayConfig.from_env())
