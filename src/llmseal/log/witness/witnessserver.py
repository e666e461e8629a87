"""The witness over HTTP: a raw ASGI app (uvicorn runs it) and :func:`serve_witness`.

Endpoints (one prefix serves both submission and monitoring, as tlog-witness allows):

* ``POST /add-checkpoint`` — :meth:`~.witness.Witness.add_checkpoint`;
* ``GET /<hex sha256(origin)>/checkpoint`` — the latest checkpoint we cosigned,
  with the log signature we verified and our cosignature (tlog-witness,
  "Monitor Retrieval Mechanism"); 404 if we never cosigned that log;
* ``GET /<hex sha256(origin)>/evidence`` — JSON: the checkpoints we refused
  because they contradict one we cosigned, each with the one it contradicts;
* ``GET /`` — JSON: our name, vkey and the origins we witness.

No framework: per request this is one body read and one send, which keeps the
witness CPU on signatures and proofs (the bench asks ≥ 1,000 requests/s).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from typing import Any

import orjson

from llmseal.errors import ConfigError
from llmseal.log.http._asgi import BodyTooLarge, Receive, Scope, Send, read_body, send_bytes
from llmseal.log.witness.addcheckpoint import MAX_REQUEST_BYTES
from llmseal.log.witness.witness import TEXT, Witness, WitnessAnswer, error_answer
from llmseal.log.witness.witnessstore import origin_hash

__all__ = ["WitnessApp", "serve_witness", "wall_clock"]

_MONITOR = re.compile(r"\A/([0-9a-f]{64})/(checkpoint|evidence)\Z")
_JSON = "application/json"


async def _send(send: Send, answer: WitnessAnswer, *, cache: str = "no-store") -> None:
    ctype, headers = answer.content_type.encode("ascii"), [(b"cache-control", cache.encode())]
    await send_bytes(send, answer.status, answer.body, ctype, headers)


class WitnessApp:
    """ASGI application around one :class:`Witness`."""

    def __init__(self, witness: Witness) -> None:
        self.witness = witness
        self._origins = {origin_hash(origin): origin for origin in witness.logs}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/add-checkpoint":
            if method != "POST":
                await _send(send, error_answer(405, "method_not_allowed", "use POST"))
                return
            try:
                body = await read_body(receive, MAX_REQUEST_BYTES)
            except BodyTooLarge:
                await _send(send, error_answer(413, "too_large", "request body is too large"))
                return
            if body is None:
                return  # the client left
            await _send(send, await self.witness.add_checkpoint(body))
            return
        if method not in ("GET", "HEAD"):
            await _send(send, error_answer(405, "method_not_allowed", "use GET"))
            return
        await _send(send, self._read(path), cache="max-age=5")

    def _read(self, path: str) -> WitnessAnswer:
        if path == "/":
            return WitnessAnswer(200, orjson.dumps(self._info()), _JSON)
        match = _MONITOR.match(path)
        if match is None:
            return error_answer(404, "not_found", "no such resource")
        digest, what = match.groups()
        origin = self._origins.get(digest)
        if origin is None:
            return error_answer(404, "unknown_log", "not a log this witness follows")
        if what == "checkpoint":
            note = self.witness.checkpoint(digest)
            if note is None:
                return error_answer(404, "not_cosigned", "no checkpoint of this log cosigned yet")
            return WitnessAnswer(200, note, TEXT)
        items = [e.to_dict() for e in self.witness.store.evidence(origin)]
        return WitnessAnswer(200, orjson.dumps({"origin": origin, "evidence": items}), _JSON)

    def _info(self) -> dict[str, Any]:
        return {
            "name": self.witness.signer.name,
            "vkey": self.witness.signer.vkey(),
            "logs": sorted(self.witness.logs),
            "answers": {str(status): n for status, n in sorted(self.witness.counts.items())},
        }

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def wall_clock() -> int:
    """POSIX seconds now: the witness's cosignature time."""
    return int(time.time())


def serve_witness(
    witness: Witness,
    *,
    host: str,
    port: int,
    announce: Callable[[str], None] = lambda url: None,
    log_level: str = "warning",
) -> None:
    """Bind ``host:port`` (0: any free port), ``announce`` the URL, serve until SIGTERM.

    The socket is bound here, before uvicorn starts, so the URL announced is the one
    served (``--port 0`` in tests: nobody can take the port in between).
    """
    import uvicorn

    try:
        sock = socket.create_server((host, port), backlog=2048)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    bound = sock.getsockname()[1]
    announce(f"http://{host}:{bound}" if ":" not in host else f"http://[{host}]:{bound}")
    config = uvicorn.Config(
        WitnessApp(witness), loop="uvloop", http="httptools", lifespan="on",
        access_log=False, log_level=log_level, timeout_keep_alive=60,
    )  # fmt: skip
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
