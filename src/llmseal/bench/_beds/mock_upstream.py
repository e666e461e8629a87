"""An instant OpenAI-compatible upstream for benchmarks and fast tests.

Raw asyncio (uvloop when present) with a minimal HTTP/1.1 keep-alive parser, so
it costs far less CPU than the gateway it is measured against. It answers
``POST /v1/chat/completions`` with the fixed bench response, or with an SSE
stream of ``CHUNKS`` chunks when the request says ``"stream": true``, and
``GET /v1/models``.

    python -m llmseal.bench._beds.mock_upstream PORT
"""

from __future__ import annotations

import asyncio
import sys

import orjson

from llmseal.bench._support.payload import RESPONSE

__all__ = ["CHUNKS", "main", "serve"]

CHUNKS = 16


def _response(status: bytes, content_type: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: " + content_type
        + b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )  # fmt: skip


def _stream_body() -> bytes:
    words = RESPONSE["choices"][0]["message"]["content"].split(" ")
    per = max(1, len(words) // CHUNKS)
    events = []
    for i in range(CHUNKS):
        text = " ".join(words[i * per : (i + 1) * per]) + " "
        choice = {"index": 0, "delta": {"content": text}, "finish_reason": None}
        if i == CHUNKS - 1:
            choice["finish_reason"] = "stop"
        chunk = {
            "id": RESPONSE["id"],
            "object": "chat.completion.chunk",
            "created": RESPONSE["created"],
            "model": RESPONSE["model"],
            "choices": [choice],
        }
        events.append(b"data: " + orjson.dumps(chunk) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)


_JSON = _response(b"200 OK", b"application/json", orjson.dumps(RESPONSE))
_SSE = _response(b"200 OK", b"text/event-stream", _stream_body())
_MODELS = _response(b"200 OK", b"application/json", b'{"object":"list","data":[{"id":"mock"}]}')
_NOT_FOUND = _response(b"404 Not Found", b"application/json", b'{"error":{"message":"not found"}}')


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            marker = head.find(b"content-length:")
            if marker >= 0:
                line_end = head.find(b"\r\n", marker)
                length = int(head[marker + 15 : line_end if line_end > 0 else None])
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            assert self.transport is not None
            self.transport.write(self._answer(head, body))

    @staticmethod
    def _answer(head: bytes, body: bytes) -> bytes:
        if head.startswith(b"post /v1/chat/completions"):
            return _SSE if b'"stream":true' in body.replace(b" ", b"") else _JSON
        if head.startswith(b"get /v1/models"):
            return _MODELS
        return _NOT_FOUND


async def serve(port: int, host: str = "127.0.0.1") -> None:
    server = await asyncio.get_running_loop().create_server(_Protocol, host, port, backlog=2048)
    async with server:
        await server.serve_forever()


def main() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    asyncio.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
