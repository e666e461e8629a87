"""Small ASGI helpers: reading bodies with a limit, sending JSON (header lists: ``headers``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import orjson

from llmseal.gateway.http._types import Receive, Scope, Send

__all__ = [
    "BodyTooLarge",
    "ClientDisconnected",
    "DisconnectWatch",
    "error_body",
    "header",
    "read_body",
    "send_bytes",
    "send_error",
    "send_json",
]


class BodyTooLarge(Exception):
    """The request body exceeds the configured limit."""


class ClientDisconnected(Exception):
    """The client went away before the request body was complete."""


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header (``name`` lowercase)."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """Read the whole request body, refusing more than ``limit`` bytes."""
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        body = message.get("body", b"")
        if body:
            size += len(body)
            if size > limit:
                raise BodyTooLarge
            chunks.append(body)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def error_body(message: str, code: str, kind: str = "llmseal_gateway_error") -> dict[str, Any]:
    """OpenAI-style error object, so SDKs show the message."""
    return {"error": {"message": message, "type": kind, "code": code}}


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = b"application/json",
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    out = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, status: int, message: str, code: str) -> int:
    """Send an OpenAI-style JSON error; returns ``status`` (for access logs and metrics)."""
    await send_json(send, status, error_body(message, code))
    return status


async def send_json(
    send: Send, status: int, value: Any, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    await send_bytes(send, status, orjson.dumps(value), headers=headers)


class DisconnectWatch:
    """Notices the client going away while the upstream is still answering.

    After the request body, an ASGI server's ``receive()`` only returns once the
    client disconnects, so one background wait is enough.
    """

    def __init__(self, receive: Receive) -> None:
        self._task = asyncio.ensure_future(receive())

    @property
    def gone(self) -> bool:
        task = self._task
        if not task.done() or task.cancelled() or task.exception() is not None:
            return False
        return bool(task.result().get("type") == "http.disconnect")

    def stop(self) -> None:
        self._task.cancel()
