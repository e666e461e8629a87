"""Bundles of what real gateways sign: a gateway in front of another, a five-turn conversation."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from llmseal.bundle.declare import format_parents
from llmseal.gateway.app import Gateway
from tests.integration.gateway.conftest import keyset_of


def _save(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def test_a_gateway_in_front_of_another_is_an_identity_hop(
    cli: Callable[..., Any], gateway_factory: Callable[..., tuple[Gateway, str]], tmp_path: Path
) -> None:
    _, inner = gateway_factory(issuer="inner.example")
    _, outer = gateway_factory(upstream=inner, issuer="outer.example")
    request = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    answer = httpx.post(f"{outer}/v1/chat/completions", json=request).json()
    (embedded,) = answer["receipt"]["parents"]
    assert embedded["issuer"] == "inner.example"
    both = _save(tmp_path / "both.json", {"keys": [
        *keyset_of(inner).to_dict()["keys"], *keyset_of(outer).to_dict()["keys"]]})  # fmt: skip
    only_outer = _save(tmp_path / "outer.json", keyset_of(outer).to_dict())
    out = tmp_path / "hop.bundle.json"
    made = cli("bundle", "create", _save(tmp_path / "a.json", answer), "--request",
               _save(tmp_path / "q.json", request), "--out", out)  # fmt: skip
    assert made.status == 0, made.stderr
    ok = cli("bundle", "verify", out, "--keys", both, "--json")
    assert ok.status == 0, ok.stdout
    assert [(lk["relation"], lk["ops"]) for lk in ok.json()["links"]] == [
        ("upstream", ["identity", "identity"])
    ]
    # The embedded upstream receipt covers the same content: it is checked against it.
    assert [item["content_checked"] for item in ok.json()["items"]] == [["prompt", "output"]] * 2
    # The upstream's key is not among the verifier's anchors: the chain does not hold.
    partial = cli("bundle", "verify", out, "--keys", only_outer, "--json")
    assert partial.status == 1
    assert any("unknown_key" in f for f in partial.json()["failures"])


def _conversation(url: str, tmp: Path, turns: int) -> list[Path]:
    messages: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    files: list[Path] = []
    for n in range(turns):
        messages = [*messages, {"role": "user", "content": f"turn {n}"}]
        request = {"model": "m", "messages": messages}
        headers: dict[str, str] = {}
        if previous:
            headers["x-receipt-parents"] = format_parents(("previous", previous))
        answer = httpx.post(f"{url}/v1/chat/completions", json=request, headers=headers).json()
        files += [_save(tmp / f"a{n}.json", answer), _save(tmp / f"q{n}.json", request)]
        messages = [*messages, answer["choices"][0]["message"]]
        previous = answer["receipt"]
    return files


def _bundle(cli: Callable[..., Any], files: list[Path], out: Path) -> None:
    answers, requests = files[0::2], files[1::2]
    argv: list[Any] = [*answers]
    for request in requests:
        argv += ["--request", request]
    made = cli("bundle", "create", *argv, "--out", out)
    assert made.status == 0, made.stderr


def test_a_five_turn_conversation_verifies_and_a_dropped_or_reordered_turn_fails(
    cli: Callable[..., Any], gateway: tuple[Gateway, str], tmp_path: Path
) -> None:
    _, url = gateway
    files = _conversation(url, tmp_path, 5)
    keys = _save(tmp_path / "keys.json", keyset_of(url).to_dict())
    whole = tmp_path / "talk.bundle.json"
    _bundle(cli, files, whole)
    ok = cli("bundle", "verify", whole, "--keys", keys, "--json")
    assert ok.status == 0, ok.stdout
    assert [lk["relation"] for lk in ok.json()["links"]] == ["previous"] * 4
    dropped = tmp_path / "dropped.bundle.json"
    _bundle(cli, files[:4] + files[6:], dropped)  # turn 2 left out
    assert cli("bundle", "verify", dropped, "--keys", keys).status == 1
    swapped = tmp_path / "swapped.bundle.json"
    _bundle(cli, files[:2] + files[4:6] + files[2:4] + files[6:], swapped)
    result = cli("bundle", "verify", swapped, "--keys", keys)
    assert result.status == 1 and "listed before its previous turn" in result.stdout


def test_a_hop_with_upstream_keys_verifies_the_upstream_receipt_first(
    gateway_factory: Callable[..., tuple[Gateway, str]], tmp_path: Path
) -> None:
    _, inner = gateway_factory(issuer="inner.example")
    trusted = _save(tmp_path / "inner-keys.json", keyset_of(inner).to_dict())
    _, stranger = gateway_factory(issuer="stranger.example")
    untrusted = _save(tmp_path / "stranger-keys.json", keyset_of(stranger).to_dict())
    _, hop = gateway_factory(upstream=inner, issuer="hop.example", upstream_keys=str(trusted))
    _, wary = gateway_factory(upstream=inner, issuer="wary.example", upstream_keys=str(untrusted))
    _, bare = gateway_factory(issuer="bare.example", upstream_keys=str(trusted))  # fake upstream
    request = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    ok = httpx.post(f"{hop}/v1/chat/completions", json=request)
    assert ok.status_code == 200 and ok.json()["receipt"]["parents"][0]["issuer"] == "inner.example"
    streamed = {**request, "stream": True}
    with httpx.stream("POST", f"{hop}/v1/chat/completions", json=streamed) as r:
        raw = b"".join(r.iter_bytes())
    assert r.status_code == 200 and raw.count(b": llmseal-receipt ") == 1
    refused = httpx.post(f"{wary}/v1/chat/completions", json=request)
    assert refused.status_code == 502 and "unknown_key" in refused.json()["error"]["message"]
    missing = httpx.post(f"{bare}/v1/chat/completions", json=request)
    assert missing.status_code == 502 and "carries no receipt" in missing.json()["error"]["message"]


def test_the_gateway_commits_to_messages_and_one_can_be_disclosed(
    cli: Callable[..., Any], gateway: tuple[Gateway, str], tmp_path: Path
) -> None:
    _, url = gateway
    request = {"model": "m", "messages": [
        {"role": "system", "content": "SECRET-SYSTEM"}, {"role": "user", "content": "SECRET-ASIDE"},
        {"role": "user", "content": "public"}]}  # fake upstream: echoes the last  # fmt: skip
    answer = httpx.post(f"{url}/v1/chat/completions", json=request,
                        headers={"x-receipt-commit": "messages"}).json()  # fmt: skip
    assert answer["receipt"]["commitments"]["count"] == 3
    assert len(base64.urlsafe_b64decode(answer["receipt_evidence"]["commitment_seed"])) == 32
    out = tmp_path / "d.bundle.json"
    made = cli("bundle", "create", _save(tmp_path / "a.json", answer), "--request",
               _save(tmp_path / "q.json", request), "--disclose", "2", "--out", out)  # fmt: skip
    assert made.status == 0, made.stderr
    assert b"SECRET" not in out.read_bytes() and b"commitment_seed" not in out.read_bytes()
    keys = _save(tmp_path / "keys.json", keyset_of(url).to_dict())
    result = cli("bundle", "verify", out, "--keys", keys, "--json")
    assert result.status == 0, result.stdout
    assert result.json()["items"][0]["disclosed"] == "message(s) 2 of 3"
    # No messages to commit to, or another value: refused before anything goes upstream.
    for body, value in (({"model": "m", "prompt": "x"}, "messages"), (request, "all")):
        bad = httpx.post(f"{url}/v1/chat/completions", json=body,
                         headers={"x-receipt-commit": value})  # fmt: skip
        assert bad.status_code == 400, bad.text
