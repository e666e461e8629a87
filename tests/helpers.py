"""Test helpers: free ports, background servers, waiting for readiness."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0, process: Any = None) -> None:
    """Wait until ``url`` answers (any status); fail with the reason, never skip."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before {url} answered")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError as exc:
            last = exc
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s: {last}")


class ThreadedUvicorn:
    """Run an ASGI app with uvicorn in a background thread (in-process, real sockets)."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, loop="uvloop", http="httptools",
            lifespan="on", log_level="warning", access_log=False,
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedUvicorn:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@contextlib.contextmanager
def background_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def recording_client(library: str = "httpx") -> tuple[Any, list[tuple[bytes, bytearray]]]:
    """An ``httpx``/``httpx2`` client for an SDK that keeps ``(request body, raw
    answer)`` of every exchange, the answer's bytes as far as the SDK read them
    (the sync SDKs stop at ``[DONE]``). It verifies nothing."""
    import importlib

    lib = importlib.import_module(library)
    recorded: list[tuple[bytes, bytearray]] = []

    class Tee(lib.SyncByteStream):  # type: ignore[misc, name-defined]
        def __init__(self, inner: Any, buffer: bytearray) -> None:
            self._inner = inner
            self._buffer = buffer

        def __iter__(self) -> Iterator[bytes]:
            for data in self._inner:
                self._buffer += data
                yield data

        def close(self) -> None:
            self._inner.close()

    class Recording(lib.BaseTransport):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self._inner = lib.HTTPTransport()

        def handle_request(self, request: Any) -> Any:
            exchange = (request.read(), bytearray())
            recorded.append(exchange)
            response = self._inner.handle_request(request)
            response.stream = Tee(response.stream, exchange[1])
            return response

    return lib.Client(transport=Recording(), timeout=300), recorded
