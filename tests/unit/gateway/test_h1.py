"""The upstream HTTP/1.1 client against hostile byte streams (issue 9, defect 1 and its class).

Every test checks two things: what the caller reads, and whether the connection
went back to the pool — a connection that carried anything unexpected must not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from llmseal.gateway.http._h1 import MAX_HEADER_BYTES, H1Pool, UpstreamClosed
from llmseal.gateway.http._interim import MAX_INTERIM, MAX_INTERIM_BYTES
from tests.unit.gateway.scripted import CLOSE, ScriptedUpstream, ok

BODY_A = b'{"answer": "A"}'
BODY_B = b'{"answer": "B"}'


def run(scripts: list[Any], test: Callable[[H1Pool, ScriptedUpstream], Awaitable[None]]) -> None:
    async def main() -> None:
        async with ScriptedUpstream(scripts) as server:
            pool = H1Pool(
                "127.0.0.1", server.port, tls=False, connect_timeout=5, host_header=b"upstream"
            )
            try:
                await asyncio.wait_for(test(pool, server), 20)  # hang guard
            finally:
                pool.close()

    asyncio.run(main())


async def fetch(pool: H1Pool, body: bytes = b"{}") -> tuple[int, bytes]:
    response = await pool.request(
        "POST", b"/v1/chat/completions", [], body, total_timeout=10, read_timeout=None
    )
    try:
        return response.status, await response.read(1 << 20)
    finally:
        response.release()


def idle(pool: H1Pool) -> int:
    return len(pool._idle)


INTERIM = [
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 102 Processing\r\n\r\n",
    b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n",
    b"HTTP/1.1 104 Upload Resumption Supported\r\nupload-draft-interop-version: 6\r\n\r\n",
    b"HTTP/1.1 199 Whatever\r\ncontent-length: 5\r\n\r\n",  # 1xx never has content
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </b>\r\n\r\n",
]
INTERIM_IDS = ["100", "102", "103", "104", "199-with-length", "100-then-103"]


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run until ``condition`` holds (the deadline is a hang guard)."""
    deadline = asyncio.get_running_loop().time() + 10
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0)


def connections_of(pool: H1Pool) -> list[Any]:
    """Record the connections ``pool`` opens (to see when one has received bytes)."""
    opened: list[Any] = []
    connect = pool._connect

    async def recording() -> Any:
        conn = await connect()
        opened.append(conn)
        return conn

    pool._connect = recording  # type: ignore[method-assign]
    return opened


@pytest.mark.parametrize("interim", INTERIM, ids=INTERIM_IDS)
def test_interim_responses_are_skipped_and_the_connection_is_reused(interim: bytes) -> None:
    """The final answer comes only after the client has taken in the interim response."""
    gate = asyncio.Event()

    async def test(pool: H1Pool, server: ScriptedUpstream) -> None:
        opened = connections_of(pool)
        first = asyncio.ensure_future(fetch(pool))
        await until(lambda: bool(opened) and opened[0].response is not None
                    and opened[0].response.got_bytes)  # fmt: skip
        gate.set()
        assert await first == (200, BODY_A)
        assert idle(pool) == 1
        assert await fetch(pool) == (200, BODY_B)
        assert server.connections == 1

    run([[interim, gate, ok(BODY_A)], ok(BODY_B)], test)


@pytest.mark.parametrize("interim", INTERIM, ids=INTERIM_IDS)
def test_interim_and_final_in_one_write(interim: bytes) -> None:
    async def test(pool: H1Pool, server: ScriptedUpstream) -> None:
        assert await fetch(pool) == (200, BODY_A)
        assert await fetch(pool) == (200, BODY_B)
        assert server.connections == 1

    run([interim + ok(BODY_A), ok(BODY_B)], test)


def test_interim_response_split_byte_by_byte() -> None:
    stream = b"HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n" + ok(BODY_A)

    async def test(pool: H1Pool, server: ScriptedUpstream) -> None:
        assert await fetch(pool) == (200, BODY_A)

    run([[stream[i : i + 1] for i in range(len(stream))]], test)


@pytest.mark.parametrize(
    "script",
    [
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n" + ok(BODY_A),
        b"HTTP/1.1 100 Continue\r\n\r\n" * (MAX_INTERIM + 1) + ok(BODY_A),
        b"HTTP/1.1 103 Early Hints\r\nlink: " + b"x" * MAX_INTERIM_BYTES + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nx-big: " + b"y" * MAX_HEADER_BYTES + b"\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n"
        b"2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}",  # then the server closes
        b"HTTP/1.1  100 Continue\r\n\r\n" + ok(BODY_A),  # not a status line
        b"HTTP/1.1 099 Odd\r\ncontent-length: 0\r\n\r\n",
    ],
    ids=[
        "101", "too-many-interim", "huge-interim", "huge-head", "two-lengths",
        "length-and-chunked", "bad-chunk-size", "short-body", "malformed-interim", "status-099",
    ],
)  # fmt: skip
def test_hostile_framing_fails_and_is_never_pooled(script: bytes) -> None:
    async def test(pool: H1Pool, server: ScriptedUpstream) -> None:
        with pytest.raises(UpstreamClosed):
            await fetch(pool)
        assert idle(pool) == 0

    run([[script, CLOSE]], test)


def test_a_body_longer_than_declared_never_reaches_the_next_request() -> None:
    """The extra bytes are a whole response: they must not become B's answer."""
    smuggled = ok(BODY_A) + ok(b'{"answer": "smuggled"}')

    async def test(pool: H1Pool, server: ScriptedUpstream) -> None:
        status, body = await fetch(pool)
        assert (status, body) == (200, BODY_A)
        assert idle(pool) == 0
        assert await fetch(pool) == (200, BODY_B)
        assert server.connections == 2

    run([smuggled, ok(BODY_B)], test)


def test_a_response_released_before_its_end_is_not_pooled() -> None:
    async def test(pool: H1Pool, server: ScriptedUpstream) -> None:
        response = await pool.request(
            "POST", b"/v1/chat/completions", [], b"{}", total_timeout=10, read_timeout=None
        )
        assert response.status == 200
        response.release()  # body never read: the rest is still in flight
        assert idle(pool) == 0
        assert await fetch(pool) == (200, BODY_B)
        assert server.connections == 2

    run([[ok(BODY_A)[:-4]], ok(BODY_B)], test)


@pytest.mark.parametrize("pieces", [1, 3], ids=["one-write", "three-writes"])
def test_a_body_that_ends_with_the_connection_is_read(pieces: int) -> None:
    """Issue 9, "also noticed": no Content-Length, not chunked — the body ends at close."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n"
    body = b'{"answer": "until close"}'
    cut = len(body) // pieces
    parts = [head] + [body[i : i + cut] for i in range(0, len(body), cut)] + [CLOSE]

    async def test(pool: H1Pool, server: ScriptedUpstream) -> None:
        assert await fetch(pool) == (200, body)
        assert idle(pool) == 0  # such a connection is never reused

    run([parts], test)
