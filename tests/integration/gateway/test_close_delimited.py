"""Issue 9, "also noticed": an upstream whose body ends at connection close is sealed.

The upstream is Python's own ``http.server`` speaking HTTP/1.0 without
Content-Length (what simple servers and some proxies do): the body, plain or a
stream, ends when the server closes the connection.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from llmseal.client import verifying_http_client
from llmseal.gateway.app import Gateway
from tests.integration.gateway.conftest import keyset_of
from tests.integration.gateway.fake_upstream import chunk, completion


class CloseDelimited(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_POST(self) -> None:  # http.server names handlers this way
        request = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.send_response(200)
        stream = request.get("stream") is True
        self.send_header("content-type", "text/event-stream" if stream else "application/json")
        self.end_headers()  # no Content-Length: the body ends at close
        if not stream:
            self.wfile.write(json.dumps(completion(request)).encode())
            return
        for word in ("Hello", " ", "world"):
            self.wfile.write(chunk(word))
            self.wfile.flush()
        self.wfile.write(chunk(None, "stop") + b"data: [DONE]\n\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CloseDelimited)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


REQUEST = {"model": "m", "messages": [{"role": "user", "content": "until close"}]}


def test_a_close_delimited_answer_is_sealed(
    gateway_factory: Callable[..., tuple[Gateway, str]], upstream: str
) -> None:
    _, url = gateway_factory(upstream=upstream)
    with verifying_http_client(keys=keyset_of(url), base_url=url) as client:
        answer = client.post("/v1/chat/completions", json=REQUEST)
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["message"]["content"] == "echo: until close"
        with client.stream("POST", "/v1/chat/completions", json={**REQUEST, "stream": True}) as r:
            text = b"".join(r.iter_bytes())
    assert b'"status":"valid"' in text
    assert httpx.post(f"{url}/v1/chat/completions", json=REQUEST).json()["receipt"]
