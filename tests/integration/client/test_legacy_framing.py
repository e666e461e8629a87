"""A round-1 gateway (framing 1: the receipt as a ``choices: []`` chunk or a ``ping``)
still verifies through the official SDKs and the verifying client, and the SDK
loop no longer meets the receipt chunk (docs/spec/stream.md, "Framing 1")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from llmseal.client import verifying_http_client
from tests.helpers import ThreadedUvicorn

LEGACY = Path(__file__).parents[2] / "vectors" / "streams" / "framing-1"
ROUTES = {"/v1/chat/completions": "chat", "/v1/completions": "completions",
          "/v1/messages": "messages"}  # fmt: skip


async def _replay(request: Request) -> Response:
    """Answers with the captured round-1 stream for the path's vector, byte for byte."""
    name = ROUTES[request.url.path]
    return Response((LEGACY / f"{name}.sse").read_bytes(), media_type="text/event-stream")


@pytest.fixture(scope="module")
def old_gateway() -> Iterator[str]:
    app = Starlette(routes=[Route(path, _replay, methods=["POST"]) for path in ROUTES])
    with ThreadedUvicorn(app) as server:
        yield server.url


def _request(name: str) -> dict[str, object]:
    body: dict[str, object] = json.loads((LEGACY / f"{name}.request.json").read_bytes())
    return body


def test_openai_loops_over_a_round_one_stream(old_gateway: str, tmp_path: Path) -> None:
    for name in ("chat", "completions"):
        # Recorded streams replayed long after they were signed: not live, so no freshness.
        http = verifying_http_client(
            keys=LEGACY / f"{name}.keys.json", data_dir=tmp_path / name, freshness=None
        )
        client = openai.OpenAI(base_url=f"{old_gateway}/v1", api_key="sk", http_client=http)
        if name == "chat":
            stream = client.chat.completions.create(**_request(name))  # type: ignore[call-overload]
            chunks = [c for c in stream if c.choices[0].delta is not None]
        else:
            stream = client.completions.create(**_request(name))  # type: ignore[call-overload]
            chunks = [c for c in stream if c.choices[0].text is not None]
        assert chunks[-1].model_extra["llmseal"]["status"] == "valid"
        assert chunks[-1].model_extra["receipt"]["stream"]["chunks"] == len(chunks)
        http.close()


def test_anthropic_loops_over_a_round_one_stream(old_gateway: str, tmp_path: Path) -> None:
    http = verifying_http_client(
        keys=LEGACY / "messages.keys.json", data_dir=tmp_path, library="httpx2", freshness=None
    )
    client = anthropic.Anthropic(base_url=old_gateway, api_key="sk", http_client=http)
    events = list(client.messages.create(**_request("messages")))  # type: ignore[call-overload]
    assert events[-1].type == "message_stop"
    assert events[-1].model_extra["llmseal"]["status"] == "valid"
    http.close()
