"""A loopback HTTP/1.1 'server' that answers each request with scripted bytes.

For the upstream client's tests: it reads one request (head and
Content-Length body), then writes the next script entry exactly as given, so a
test can send what no well-behaved server would (interim responses nobody asked
for, a body longer than declared, two framings at once).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

__all__ = ["CLOSE", "ScriptedUpstream", "ok"]

CLOSE = b""
"""As a part of a script: close the connection there (an ``asyncio.Event``: wait for it)."""
Part = bytes | asyncio.Event


def ok(body: bytes, *extra: bytes) -> bytes:
    """A plain 200 with Content-Length."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" + b"".join(extra)
    return head + b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body


class ScriptedUpstream:
    def __init__(self, scripts: Iterable[bytes | list[Part]]) -> None:
        self._scripts: deque[bytes | list[Part]] = deque(scripts)
        self.connections = 0
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> ScriptedUpstream:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self._scripts:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                self.requests.append(head + await reader.readexactly(length))
                script = self._scripts.popleft()
                for part in script if isinstance(script, list) else [script]:
                    if isinstance(part, asyncio.Event):
                        await asyncio.wait_for(part.wait(), 20)  # hang guard
                        continue
                    if part == CLOSE:
                        return
                    writer.write(part)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
