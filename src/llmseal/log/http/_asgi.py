"""The few ASGI pieces the log's and the witness's HTTP apps share (no framework).

* :func:`read_body` — the whole request body, bounded; None if the client left.
* :func:`send_bytes` — one complete response with a content length.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

__all__ = ["BodyTooLarge", "Receive", "Scope", "Send", "read_body", "send_bytes"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class BodyTooLarge(Exception):
    """The request body is over the caller's limit (answer 413)."""


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None if the client left; BodyTooLarge over ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body = message.get("body", b"")
        size += len(body)
        if size > limit:
            raise BodyTooLarge
        chunks.append(body)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_bytes(
    send: Send, status: int, body: bytes, ctype: bytes, headers: Iterable[tuple[bytes, bytes]] = ()
) -> int:
    """Send one response; returns ``status`` (for the caller's metrics)."""
    out = [(b"content-type", ctype), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})
    return status
