"""The log over HTTP: the C2SP tlog-tiles read API plus add, proof and lookup.

Routes (below ``prefix``, "" standalone, ``/log`` inside the gateway):

* ``GET /checkpoint`` — ``text/plain; charset=utf-8``, cacheable for 2 s at most;
* ``GET /checkpoint.witnessed`` — the newest checkpoint witnesses cosigned (404 until
  one is; see :mod:`llmseal.log.witness.witnessing`);
* ``GET /tile/<L>/<N>[.p/<W>]``, ``GET /tile/entries/<N>[.p/<W>]`` —
  ``application/octet-stream``, immutable (a path's bytes never change); bundles
  gzip-compressed when the client accepts it (tlog-tiles, "Log entries");
* ``POST /add`` — a receipt (or a JSON array of receipts) → ``{index, leaf_hash,
  duplicate}`` (or an array of them) once the index is durable; 400/403/413 for
  entries the log refuses, 503 when it cannot sequence;
* ``GET /proof/<receipt_id | leaf hash hex>[?wait=S]`` — the tlog-proof@v1 of that
  entry against the latest checkpoint (404 ``pending`` with ``Retry-After`` until a
  checkpoint covers it; with ``wait``, up to S ≤ 30 seconds are spent waiting for one);
* ``GET /lookup/<receipt_id>`` — JSON: where that receipt is;
* ``GET /`` — origin, vkey and size of the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import math
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

import orjson

from llmseal.errors import Error, LogAdmissionError, LogError, LogFormatError, LogUnavailableError
from llmseal.log.http._asgi import BodyTooLarge as _BodyTooLarge
from llmseal.log.http._asgi import Receive, Scope, Send, send_bytes
from llmseal.log.http._asgi import read_body as _read_body
from llmseal.log.service.awaiter import PublicationAwaiter
from llmseal.log.service.service import TransparencyLog
from llmseal.log.storage.base import EntryRef, Sequenced
from llmseal.log.tree.tiles import parse_tile_path

__all__ = ["LogApp"]

_TEXT = b"text/plain; charset=utf-8"
_BINARY = b"application/octet-stream"
_IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")
_SHORT = (b"cache-control", b"public, max-age=2")
_NO_STORE = (b"cache-control", b"no-store")
# Everything a log serves is public: a verify page on another origin, or opened from
# a file, must be able to read checkpoints, tiles and proofs (issue 15).
_PUBLIC = (b"access-control-allow-origin", b"*")


async def _send(
    send: Send, status: int, body: bytes, ctype: bytes, headers: Iterable[tuple[bytes, bytes]] = ()
) -> int:
    return await send_bytes(send, status, body, ctype, (_PUBLIC, *headers))


async def _json(send: Send, status: int, value: Any, *headers: tuple[bytes, bytes]) -> int:
    return await _send(
        send, status, orjson.dumps(value), b"application/json", (_NO_STORE, *headers)
    )


async def _error(
    send: Send, status: int, message: str, code: str, *headers: tuple[bytes, bytes]
) -> int:
    return await _json(send, status, {"error": {"message": message, "code": code}}, *headers)


def _entry_json(s: Sequenced) -> dict[str, Any]:
    return {"index": s.index, "leaf_hash": s.leaf_hash.hex(), "duplicate": s.duplicate}


def _wait(scope: Scope) -> float:
    """``?wait=S`` in seconds (0 when absent or not a number), at most 30."""
    for part in (scope.get("query_string") or b"").split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"wait":
            try:
                seconds = float(value)
            except ValueError:
                return 0.0
            return min(max(seconds, 0.0), 30.0) if math.isfinite(seconds) else 0.0
    return 0.0


def _accepts_gzip(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept-encoding" and b"gzip" in value.lower():
            return True
    return False


class LogApp:
    """ASGI app serving one :class:`TransparencyLog` under ``prefix``."""

    def __init__(
        self,
        log: TransparencyLog,
        *,
        prefix: str = "",
        max_body: int = 8 << 20,
        add_timeout: float = 30.0,
    ) -> None:
        self.log = log
        self.prefix = prefix.rstrip("/")
        self._max_body = max_body
        self._add_timeout = add_timeout
        self._awaiter: PublicationAwaiter | None = None

    def handles(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        elif scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await asyncio.to_thread(self.log.close)  # publish what is queued
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> int:
        """Answer one request; returns the status (for the caller's metrics)."""
        path = scope["path"][len(self.prefix) :] or "/"
        method = scope["method"]
        try:
            if method == "POST" and path == "/add":
                return await self._add(receive, send)
            if method != "GET":
                return await _error(
                    send, 405, f"{method} is not allowed here", "method_not_allowed"
                )
            return await self._get(scope, path, send)
        except LogUnavailableError as exc:
            return await _error(send, 503, str(exc), "unavailable", (b"retry-after", b"1"))
        except Error as exc:  # a key set that cannot be fetched, a storage error
            return await _error(send, 503, exc.diagnostics(), "unavailable")

    async def _get(self, scope: Scope, path: str, send: Send) -> int:
        if path == "/checkpoint":
            return await _send(send, 200, self.log.checkpoint().encode(), _TEXT, (_SHORT,))
        if path == "/checkpoint.witnessed":  # the newest cosigned checkpoint (issue 11)
            witnessed = self.log.sequencer.witnessed
            if witnessed is None:
                return await _error(send, 404, "no checkpoint is cosigned yet", "not_found")
            return await _send(send, 200, witnessed.encode(), _TEXT, (_SHORT,))
        if path.startswith("/tile/"):
            return await self._tile(scope, path[1:], send)
        if path.startswith("/proof/"):
            return await self._proof(unquote(path[len("/proof/") :]), _wait(scope), send)
        if path.startswith("/lookup/"):
            return await self._lookup(unquote(path[len("/lookup/") :]), send)
        if path == "/":
            cp = self.log.checkpoint()
            info = {"origin": self.log.origin, "vkey": self.log.vkey, "size": cp.size}
            return await _json(send, 200, info)
        return await _error(send, 404, "no such log resource", "not_found")

    async def _tile(self, scope: Scope, path: str, send: Send) -> int:
        try:
            ref = parse_tile_path(path)
            data = self.log.read(ref.path())
        except LogFormatError:
            return await _error(send, 404, "not a tile path", "not_found")
        except LogError:
            return await _error(send, 404, "no such tile", "not_found")
        headers = [_IMMUTABLE]
        if ref.is_entries and _accepts_gzip(scope):
            data = gzip.compress(data, compresslevel=1, mtime=0)
            headers.append((b"content-encoding", b"gzip"))
        return await _send(send, 200, data, _BINARY, headers)

    def _find(self, key: str) -> EntryRef | None:
        return self.log.locate(key) if key and len(key) <= 1024 else None

    async def _proof(self, key: str, wait: float, send: Send) -> int:
        ref = self._find(key)
        if ref is None:
            return await _error(send, 404, "no such entry in the log", "not_found")
        proof = self.log.prove(ref.index)
        if proof is None and wait > 0:
            if self._awaiter is None:
                self._awaiter = PublicationAwaiter(self.log.sequencer)
            with contextlib.suppress(LogUnavailableError):
                proof = self.log.prove(ref.index, await self._awaiter.wait(ref.index + 1, wait))
        if proof is None:
            message = f"entry {ref.index} is sequenced but not in a checkpoint yet"
            return await _error(send, 404, message, "pending", (b"retry-after", b"1"))
        return await _send(send, 200, proof.encode(), _TEXT, (_NO_STORE,))

    async def _lookup(self, receipt_id: str, send: Send) -> int:
        refs = self.log.lookup(receipt_id) if receipt_id and len(receipt_id) <= 1024 else []
        if not refs:
            return await _error(send, 404, "no such receipt in the log", "not_found")
        size = self.log.checkpoint().size
        entries = [{"index": r.index, "leaf_hash": r.leaf_hash.hex()} for r in refs]
        body = {
            "receipt_id": receipt_id,
            "index": refs[0].index,
            "leaf_hash": refs[0].leaf_hash.hex(),
            "published": refs[0].index < size,
            "tree_size": size,
            "entries": entries,
        }
        return await _json(send, 200, body)

    async def _add(self, receive: Receive, send: Send) -> int:
        try:
            body = await _read_body(receive, self._max_body)
        except _BodyTooLarge:
            return await _error(send, 413, f"body over {self._max_body} bytes", "too_large")
        if body is None:
            return 499
        try:
            entries, batched = self.log.admission.admit_body(body)
        except LogAdmissionError as exc:
            return await _error(send, exc.status, str(exc), exc.code)
        futures = [asyncio.wrap_future(f) for f in self.log.submit_entries(entries)]
        try:
            results = await asyncio.wait_for(asyncio.gather(*futures), self._add_timeout)
        except TimeoutError:
            raise LogUnavailableError("the log did not sequence in time") from None
        if batched:
            return await _json(send, 200, [_entry_json(r) for r in results])
        return await _json(send, 200, _entry_json(results[0]))
