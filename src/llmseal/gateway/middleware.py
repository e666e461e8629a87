"""Sign in-process: pure ASGI middleware for any OpenAI-compatible ASGI app.

    vllm serve MODEL --middleware llmseal.gateway.middleware.ReceiptMiddleware

vLLM (like Starlette's ``add_middleware``) constructs the class with the app
only, so without keyword arguments the configuration comes from the environment:
``LLMSEAL_DATA_DIR`` (required; created with a key on first use, like
``llmseal serve --data-dir``), ``LLMSEAL_KEY_ID``, ``LLMSEAL_ISSUER``,
``LLMSEAL_MODEL_ID``, ``LLMSEAL_RECEIPTS`` (``always`` | ``on-request``),
``LLMSEAL_STORE`` (``postgresql://…``: receipts in PostgreSQL, shared by every process),
``LLMSEAL_LLM_SIGN_CERT`` + ``LLMSEAL_LLM_SIGN_KEY`` to add llm_sign envelopes too, and
``LLMSEAL_MODEL_KEY`` (``MODEL=KEY_ID[,cert_chain=FILE...]``, space-separated) with
``LLMSEAL_UNMAPPED`` (``refuse`` | ``unsigned``) to sign each served model with its own
key (:mod:`llmseal.gateway.keys.keymap`, docs/spec/receipt.md §7; token keys with
``LLMSEAL_PKCS11_MODULE``, ``LLMSEAL_PKCS11_TOKEN``, ``LLMSEAL_PIN_ENV``).

Same wire format and guarantees as the proxy: JSON answers gain ``receipt``,
SSE streams gain a receipt comment, Ollama's NDJSON streams a receipt line
(docs/spec/stream.md), every receipt is committed
before it is sent. Answers that are not JSON (an HTML 404) pass through unsigned.
The receipt API (``GET /v1/receipts/keys``, ``/v1/receipts/{id}``,
``/v1/receipts/{id}/verify``, ``POST /v1/receipts/verify``) is served too, so
callers have a key set URL.

Settings that cannot work (no data directory, a bad mode) refuse the server's
start: the ASGI lifespan startup fails with one line naming the setting, and a
server without lifespan support answers every request 500 with that line —
never an unsealed answer. One request's replayed body and rewritten response
messages are :mod:`._exchange`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from llmseal.compat.llm_sign import LlmSignIssuer
from llmseal.core.keys import Signer
from llmseal.errors import ConfigError, ContentError, Error, InputError
from llmseal.gateway._exchange import Exchange, replay_body
from llmseal.gateway.config.datadir import prepare_signing_dir
from llmseal.gateway.http._asgi import (
    BodyTooLarge,
    ClientDisconnected,
    header,
    read_body,
    send_error,
)
from llmseal.gateway.http._types import ASGIApp, Receive, Scope, Send
from llmseal.gateway.keys.keymap import keymap_from_env
from llmseal.gateway.keys.modelkeys import ModelKey
from llmseal.gateway.receipts.api import ReceiptsApi
from llmseal.gateway.sealing.sealing import SIGNED_ENDPOINTS, Sealer
from llmseal.store.base import ReceiptStore
from llmseal.store.opening import commits_block, open_receipt_store
from llmseal.store.writer import BatchWriter

__all__ = ["ReceiptMiddleware"]

log = logging.getLogger("llmseal.gateway")


def _now() -> datetime:
    return datetime.now(UTC)


class ReceiptMiddleware:
    """Adds receipts to the OpenAI-compatible responses of the wrapped ASGI app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        receipts: str | None = None,
        issuer: str | None = None,
        model_id: str | None = None,
        key_id: str | None = None,
        signer: Signer | None = None,
        store: ReceiptStore | None = None,
        max_request_bytes: int = 8 << 20,
        clock: Callable[[], datetime] = _now,
        model_keys: tuple[ModelKey, ...] | None = None,
        unmapped: str | None = None,
    ) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.error: str | None = None
        self._logged = False
        env = os.environ
        # Starlette and vLLM construct middleware lazily, inside the first ASGI call:
        # raising here would only turn every request into a bare 500. Keep the reason
        # and refuse the lifespan startup with it instead.
        try:
            directory = Path(data_dir or env.get("LLMSEAL_DATA_DIR") or "")
            if directory == Path():
                raise ConfigError("set LLMSEAL_DATA_DIR (or data_dir=): where keys and receipts go")
            self.mode = receipts or env.get("LLMSEAL_RECEIPTS", "always")
            if self.mode not in ("always", "on-request"):
                raise ConfigError(f"LLMSEAL_RECEIPTS must be always or on-request, not {self.mode}")
            keys = keymap_from_env(directory, model_keys, unmapped, env, at=clock())
            if signer is None and keys is None:
                signer = prepare_signing_dir(
                    directory, key_id or env.get("LLMSEAL_KEY_ID"), at=clock()
                )
            location = env.get("LLMSEAL_STORE") or str(directory / "receipts")
            self.store = store or open_receipt_store(location)
            self.writer = BatchWriter(self.store, offload=commits_block(location, store=self.store))
            self.sealer = Sealer(
                signer, self.writer, clock=clock, issuer=issuer or env.get("LLMSEAL_ISSUER"),
                model_id=model_id or env.get("LLMSEAL_MODEL_ID"), llm_sign=_llm_sign_from_env(env),
                keys=keys,
            )  # fmt: skip
            self.api = ReceiptsApi(self.store, directory / "keys", max_body=max_request_bytes)
        except Error as exc:
            self.error = f"llmseal ReceiptMiddleware: {exc}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.error is not None:
            await self._refuse(scope, receive, send, self.error)
            return
        if scope["type"] == "http" and scope["path"].startswith("/v1/receipts/"):
            await self.api.handle(scope, receive, send)
            return
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] not in SIGNED_ENDPOINTS
            or not self._wants_receipt(scope)
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            body = await read_body(scope, receive, self.max_request_bytes)
        except BodyTooLarge:
            await send_error(send, 413, "request body too large", "too_large")
            return
        except ClientDisconnected:
            return
        try:
            parents = header(scope, b"x-receipt-parents")
            commit = header(scope, b"x-receipt-commit")
            info = self.sealer.inspect_request(scope["path"], body, started, parents, commit)
        except ContentError as exc:
            await send_error(send, 400, f"request body: {exc}", "invalid_request")
            return
        except InputError as exc:  # a malformed X-Receipt-Parents or X-Receipt-Commit
            await send_error(send, 400, str(exc), "invalid_request")
            return
        if not self.sealer.keys.admits(info.model):  # refused before the app works
            message = f"model {info.model!r} has no signing key here"
            await send_error(send, 400, message, "unmapped_model")
            return
        exchange = Exchange(self.sealer, info, send)
        await self.app(scope, replay_body(body, receive), exchange.send)
        await exchange.close()

    def _wants_receipt(self, scope: Scope) -> bool:
        if self.mode == "always":
            return True
        value = header(scope, b"x-receipt-request")
        return value is not None and value.strip().lower() == b"true"

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: str) -> None:
        """Misconfigured: fail the lifespan startup (the server prints the line and
        exits); without lifespan, answer every request 500 (fail closed)."""
        if scope["type"] == "lifespan":
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.failed", "message": error})
        elif scope["type"] == "http":
            if not self._logged:
                self._logged = True
                log.error("%s", error)
            await send_error(send, 500, error, "llmseal_not_configured")

    def close(self) -> None:
        """Commit pending receipts and close the store (call at shutdown)."""
        self.writer.close()
        self.store.close()


def _llm_sign_from_env(env: Mapping[str, str]) -> LlmSignIssuer | None:
    cert, key = env.get("LLMSEAL_LLM_SIGN_CERT"), env.get("LLMSEAL_LLM_SIGN_KEY")
    if not cert and not key:
        return None
    if not (cert and key):
        raise ConfigError("LLMSEAL_LLM_SIGN_CERT and LLMSEAL_LLM_SIGN_KEY go together")
    return LlmSignIssuer.from_files(cert, key)
