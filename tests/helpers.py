"""Test helpers: background servers on ports they bind themselves, waiting for readiness.

No helper picks a "free" port and hands it to a server later (another process on this
shared machine could take it in between): in-process servers get a socket bound to port
0, ``llmseal serve`` is started with ``--port 0`` and reports the port it bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

import httpx


def examples(count: int) -> int:
    """Hypothesis examples for a property test: ``count``, or a tenth under ``make mutation``.

    Every mutant re-runs the tests that reach it, so the mutation run samples less; the
    full count runs in ``make test``, and ``make fuzz`` multiplies it by ``LLMSEAL_FUZZ``.
    """
    if os.environ.get("LLMSEAL_MUTATION"):
        return max(25, count // 10)
    return count * max(1, int(os.environ.get("LLMSEAL_FUZZ", "1") or 1))


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port held bound but never listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


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

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))  # bound here, so the port is ours from the start
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(
            app, loop="uvloop", http="httptools", lifespan="on", log_level="warning",
            access_log=False,
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

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
        self.socket.close()


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


_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


class ServeProcess:
    """``llmseal serve --port 0 ...`` in its own process group; the port is read from its log.

    stderr is drained by a thread (``stderr()`` returns what arrived so far), so a chatty
    server never blocks on a full pipe.
    """

    def __init__(self, args: Sequence[str], *, timeout: float = 60.0) -> None:
        command = [sys.executable, "-m", "llmseal", "serve", "--port", "0",
                   "--log-level", "info", *args]  # fmt: skip
        self.proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        self._lines: list[str] = []
        self._bound = threading.Event()
        self.port = 0
        assert self.proc.stderr is not None
        threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._bound.wait(0.1):  # a hang guard, not a wait for time to pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"llmseal serve did not start: {self.stderr()[-2000:]}")
        wait_http(f"{self.url}/healthz", timeout=timeout, process=self.proc)

    def _drain(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode(errors="replace")
            self._lines.append(line)
            found = _LISTENING.search(line)
            if found and not self._bound.is_set():
                self.port = int(found.group(1))
                self._bound.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return "".join(self._lines)

    def signal(self, number: int) -> None:
        """Send ``number`` to the supervisor and its workers."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, number)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait (SIGKILL after ``timeout``); returns the exit status."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


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
