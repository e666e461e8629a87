"""Per-model key settings, where an answer names its model, and masking secrets."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from llmseal.core.keys import Ed25519Signer
from llmseal.errors import ConfigError, UnmappedModelError
from llmseal.gateway.config.redact import mask_secrets
from llmseal.gateway.keys.keymap import KeyMap, SigningKey
from llmseal.gateway.keys.modelkeys import ModelKey, parse_model_key, served_model
from llmseal.gateway.sealing.sealing import Sealer, UpstreamProtocolError


def test_the_command_line_form() -> None:
    key = parse_model_key("llama3:8b=lab.example/llama3/2026q2,cert_chain=a=b.pem")
    assert key == ModelKey("llama3:8b", key_id="lab.example/llama3/2026q2", cert_chain="a=b.pem")
    full = parse_model_key("m=k,key_label=L,model_id=mm,dns=false")
    assert (full.key_label, full.model_id, full.dns) == ("L", "mm", False)
    for bad, message in (
        ("m", "expected MODEL=KEY_ID"), ("=k", "expected MODEL=KEY_ID"),
        ("m=k,colour=red", "is not one of"), ("m=k,model_id=a,model_id=b", "given twice"),
        ("m=k,dns=yes", "dns takes true or false"), ("m=k,key_id=j", "is not one of"),
        ("m=k,cert_chain=a,b.pem", "'b.pem' is not one of"),  # commas: use the TOML file
    ):  # fmt: skip
        with pytest.raises(ConfigError, match=message):
            parse_model_key(bad)


@pytest.mark.parametrize(
    ("endpoint", "value", "model"),
    [
        ("/v1/chat/completions", {"model": "a", "choices": []}, "a"),
        ("/v1/chat/completions", {"choices": []}, None),
        ("/v1/messages", {"type": "message_start", "message": {"model": "claude"}}, "claude"),
        ("/v1/messages", {"type": "content_block_delta", "delta": {}}, None),
        ("/v1/responses", {"type": "response.created", "response": {"model": "r"}}, "r"),
        ("/v1/chat/completions", {"message": {"model": "not-here"}}, None),
        ("/api/chat", {"model": "llama3:8b", "done": False}, "llama3:8b"),
        ("/v1/chat/completions", {"model": ""}, ""),  # named, even if unusable: no fallback
        ("/v1/chat/completions", [1, 2], None),
    ],
)
def test_served_model(endpoint: str, value: Any, model: str | None) -> None:
    assert served_model(endpoint, value) == model


def test_choosing_by_served_then_requested_model() -> None:
    a, b = (SigningKey(Ed25519Signer.generate(k)) for k in ("ka", "kb"))
    refusing = KeyMap(models={"a": a, "b": b})
    assert refusing.choose("b", "a") == ("b", b)  # the served model wins
    assert refusing.choose(None, "a") == ("a", a)  # the answer names none
    for served, requested in (("c", "a"), ("", "a"), (None, None), (None, "c")):
        with pytest.raises(UnmappedModelError):
            refusing.choose(served, requested)
    assert refusing.admits("a") and refusing.admits(None) and not refusing.admits("c")
    passing = KeyMap(models={"a": a}, unmapped="unsigned")
    assert passing.choose("c", "a") == (None, None) and passing.admits("c")
    single = KeyMap(single=a)
    assert single.choose("anything", None) == (None, a) and single.admits("c")
    with pytest.raises(ConfigError):
        KeyMap(models={})


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("postgresql://gw:pw@db/r?sslpassword=x&application_name=gw",
         "postgresql://gw:***@db/r?sslpassword=***&application_name=gw"),
        ("https://tok@api.example/v1", "https://***@api.example/v1"),
        ("postgresql://gw@db/r", "postgresql://gw@db/r"),
        ("https://log.example/?token=t&api_key=k&shard=1",
         "https://log.example/?token=***&api_key=***&shard=1"),
        ("-----BEGIN PRIVATE KEY-----\nMC4C", "***"),
        ("lab-ca/models/m/chain.pem", "lab-ca/models/m/chain.pem"),
        ("http://[::1", "***"),  # not parseable: nothing of it
    ],
)  # fmt: skip
def test_mask_secrets(value: str, shown: str) -> None:
    assert mask_secrets(value) == shown


def _typed(kind: str, **members: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **members})}\n\n".encode()


class _Writer:
    def __init__(self) -> None:
        self.stored: list[Any] = []

    async def put(self, record: Any) -> None:
        self.stored.append(record)


def test_a_responses_stream_is_signed_by_the_model_its_created_event_names(t0: Any) -> None:
    a, b = (SigningKey(Ed25519Signer.generate(k)) for k in ("ka", "kb"))
    writer = _Writer()
    sealer = Sealer(None, writer, clock=lambda: t0, keys=KeyMap(models={"a": a, "b": b}))  # type: ignore[arg-type]
    request = json.dumps({"model": "a", "input": "hi", "stream": True}).encode()
    info = sealer.inspect_request("/v1/responses", request, time.perf_counter())
    seal = sealer.open_stream(info)
    events = [
        _typed("response.created", response={"id": "r1", "model": "b"}),
        _typed("response.output_text.delta", delta="yo"),
        _typed("response.completed", response={"id": "r1", "model": "b"}),
    ]
    assert seal.feed(b"".join(events)) == b"".join(events) and seal.done
    _, receipt = asyncio.run(seal.finish(200, 0.1))
    assert receipt is not None and receipt.key_id == "kb" and receipt.model_id == "b"
    assert len(writer.stored) == 1
    switched = sealer.open_stream(info)  # a later event naming another model
    with pytest.raises(UpstreamProtocolError, match="changed model"):
        switched.feed(events[0] + _typed("response.completed", response={"model": "a"}))
    unmapped = sealer.open_stream(info)
    with pytest.raises(UnmappedModelError, match="'c' \\(served\\)"):
        unmapped.feed(_typed("response.created", response={"model": "c"}))
