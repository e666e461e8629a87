"""A static file server for benchmarks: what a log operator puts in front of tiles.

A raw ASGI app under uvicorn (httptools, keep-alive), so serving costs little
next to the client being measured — the way nginx or a CDN would serve a
tlog-tiles directory. GET only; paths are confined to the directory.

    python -m llmseal.bench._beds.static_files DIR PORT
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

__all__ = ["StaticFiles", "main"]

_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class StaticFiles:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: _Send) -> None:
        if scope["type"] != "http":
            return
        path = (self.root / scope["path"].lstrip("/")).resolve()
        status, body = 404, b"not found\n"
        if scope["method"] == "GET" and path.is_relative_to(self.root) and path.is_file():
            status, body = 200, path.read_bytes()
        headers = [(b"content-type", b"application/octet-stream"),
                   (b"content-length", str(len(body)).encode())]  # fmt: skip
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main() -> None:
    import uvicorn

    uvicorn.run(StaticFiles(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]),
                loop="uvloop", http="httptools", access_log=False, log_level="warning")  # fmt: skip


if __name__ == "__main__":
    main()
