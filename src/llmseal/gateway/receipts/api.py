"""The receipt API (seed 004, "API surface").

* ``GET  /v1/receipts/keys``          the public key set (never a private key)
* ``GET  /v1/receipts/{id}``          a stored receipt, exactly as delivered
* ``GET  /v1/receipts/{id}/verify``   signature + key status of a stored receipt
* ``POST /v1/receipts/verify``        ``{receipt, prompt?, output?}`` ->
  ``{status, key_id, issued_at}``; ``prompt``/``output`` are strings holding the
  request/response JSON (objects are accepted too), so ``tampered`` is detectable
  for any receipt anyone holds.

Malformed input is a 400 with a JSON error, never a 500. The key set and stored
receipts are public documents, served with ``Access-Control-Allow-Origin: *`` so a
verifier page on another origin (or opened as a file) can read them.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import orjson

from llmseal.core.canonical import loads
from llmseal.core.keyset import KeySet
from llmseal.core.receipt import Receipt
from llmseal.core.verify import Verification, verify_receipt
from llmseal.errors import ContentError, InputError, KeySetError, StoreError
from llmseal.gateway.http._asgi import (
    BodyTooLarge,
    ClientDisconnected,
    read_body,
    send_bytes,
    send_error,
    send_json,
)
from llmseal.gateway.http._types import Receive, Scope, Send
from llmseal.store.base import ReceiptStore

__all__ = ["KeySetFile", "ReceiptsApi"]

log = logging.getLogger("llmseal.gateway")
_PUBLIC = (b"access-control-allow-origin", b"*")


class KeySetFile:
    """The gateway's ``keys.json``, re-read when it changes (rotation, revocation)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._keyset = KeySet()
        self._body = b'{"keys":[]}'

    def current(self) -> tuple[KeySet, bytes]:
        try:
            info = self.path.stat()
        except OSError:
            return self._keyset, self._body
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp != self._stamp:
            try:
                keyset = KeySet.from_json(self.path.read_bytes())
            except (OSError, KeySetError) as exc:  # mid-replacement or broken: keep the last good
                log.error("cannot reload %s: %s", self.path, exc)
                return self._keyset, self._body
            # Served from the parsed public entries only: nothing else in the file leaks.
            self._keyset, self._body, self._stamp = keyset, orjson.dumps(keyset.to_dict()), stamp
        return self._keyset, self._body


class ReceiptsApi:
    def __init__(self, store: ReceiptStore, keys_dir: Path, *, max_body: int) -> None:
        self.store = store
        self.keys = KeySetFile(keys_dir / "keys.json")
        self.max_body = max_body

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> int:
        parts = scope["path"].rstrip("/").split("/")[3:]  # after /v1/receipts
        method = scope["method"]
        if parts == ["keys"] and method == "GET":
            _, body = self.keys.current()
            await send_bytes(
                send, 200, body, headers=[(b"cache-control", b"public, max-age=60"), _PUBLIC]
            )
            return 200
        if parts == ["verify"] and method == "POST":
            return await self._verify_posted(scope, receive, send)
        if len(parts) == 1 and method == "GET":
            return await self._get(send, parts[0])
        if len(parts) == 2 and parts[1] == "verify" and method == "GET":
            return await self._verify_stored(send, parts[0])
        return await send_error(send, 404, "no such receipt endpoint", "not_found")

    async def _stored(self, send: Send, receipt_id: str) -> bytes | int:
        """The stored receipt's JSON, or the status of the error answer already sent."""
        try:
            stored = await asyncio.to_thread(self.store.get, receipt_id)
        except StoreError:
            return await send_error(send, 503, "receipt store unavailable", "store_unavailable")
        if stored is None:
            return await send_error(send, 404, f"no receipt {receipt_id!r}", "not_found")
        return stored.body

    async def _get(self, send: Send, receipt_id: str) -> int:
        body = await self._stored(send, receipt_id)
        if isinstance(body, int):
            return body
        await send_bytes(send, 200, body, headers=[_PUBLIC])
        return 200

    async def _verify_stored(self, send: Send, receipt_id: str) -> int:
        body = await self._stored(send, receipt_id)
        if isinstance(body, int):
            return body
        keyset, _ = self.keys.current()
        await send_json(send, 200, _result(verify_receipt(Receipt.from_json(body), keyset)))
        return 200

    async def _verify_posted(self, scope: Scope, receive: Receive, send: Send) -> int:
        try:
            body = await read_body(scope, receive, self.max_body)
        except BodyTooLarge:
            return await send_error(send, 413, f"body over {self.max_body} bytes", "too_large")
        except ClientDisconnected:
            return 499
        try:
            request = loads(body)
            if not isinstance(request, dict) or "receipt" not in request:
                raise InputError('expected {"receipt": {...}, "prompt"?: "...", "output"?: "..."}')
            prompt = _content(request, "prompt")
            output = _content(request, "output")
            keyset, _ = self.keys.current()
            result = verify_receipt(request["receipt"], keyset, prompt=prompt, output=output)
        except (InputError, ContentError) as exc:
            return await send_error(send, 400, str(exc), "invalid_request")
        await send_json(send, 200, _result(result))
        return 200


def _content(request: dict[str, Any], name: str) -> Any:
    value = request.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, dict | list):
        return value
    raise InputError(f"{name} must be a string holding JSON")


def _result(result: Verification) -> dict[str, Any]:
    return {
        "status": result.status.value,
        "key_id": result.key_id,
        "issued_at": result.issued_at,
        "reasons": list(result.reasons),
    }
