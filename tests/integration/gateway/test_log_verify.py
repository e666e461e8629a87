"""Verifiers and the log: llmseal verify --log-vkey, require_logged, the client, evidence prove."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from llmseal.client import verifying_http_client
from llmseal.errors import PolicyError, VerificationError
from llmseal.gateway.app import Gateway
from llmseal.log.note.notekeys import Ed25519NoteSigner
from llmseal.log.service.service import read_log_info
from llmseal.store.evidence import EvidenceStore
from tests.conftest import CliResult
from tests.helpers import eventually

REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}
Factory = Callable[..., tuple[Gateway, str]]
Cli = Callable[..., CliResult]


@pytest.fixture
def inline(gateway_factory: Factory, tmp_path: Path) -> tuple[str, str, Path]:
    log_dir = tmp_path / "tlog"
    _, url = gateway_factory(log_dir=str(log_dir), log_inline=True, log_batch_age=0.002)
    return url, read_log_info(log_dir)["vkey"], tmp_path


def _save(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def test_verify_with_the_inline_proof(inline: tuple[str, str, Path], cli: Cli) -> None:
    url, vkey, tmp = inline
    body = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, timeout=30).json()
    keys = _save(tmp / "keys.json", httpx.get(f"{url}/v1/receipts/keys").json())
    response = _save(tmp / "response.json", body)
    done = cli("verify", response, "--keys", keys, "--log-vkey", vkey, "--json")
    assert done.status == 0, done.stderr
    log = done.json()["log"]
    assert log == {"verified": True, "origin": vkey.split("+")[0], "index": 0, "tree_size": 1}
    human = cli("verify", response, "--keys", keys, "--log-vkey", vkey)
    assert human.status == 0 and "entry 0 of" in human.stdout


def test_verify_with_proof_file_and_log_url(inline: tuple[str, str, Path], cli: Cli) -> None:
    url, vkey, tmp = inline
    body = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, timeout=30).json()
    keys = _save(tmp / "keys.json", httpx.get(f"{url}/v1/receipts/keys").json())
    receipt = _save(tmp / "receipt.json", body["receipt"])  # the bare receipt: no evidence
    proof = tmp / "r.tlog-proof"
    proof.write_text(body["receipt_evidence"]["log"])
    assert cli("verify", receipt, "--keys", keys, "--log-vkey", vkey, "--proof", proof).status == 0
    by_url = cli(
        "verify", receipt, "--keys", keys, "--log-vkey", vkey, "--log-url", f"{url}/log", "--json"
    )
    assert by_url.status == 0 and by_url.json()["log"]["index"] == 0
    missing = cli("verify", receipt, "--keys", keys, "--log-vkey", vkey, "--json")
    assert missing.status == 1 and "no log proof" in missing.json()["log"]["error"]


def test_hostile_log_evidence_fails_verification(inline: tuple[str, str, Path], cli: Cli) -> None:
    url, vkey, tmp = inline
    first = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, timeout=30).json()
    second = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, timeout=30).json()
    keys = _save(tmp / "keys.json", httpx.get(f"{url}/v1/receipts/keys").json())
    origin = vkey.split("+")[0]
    other_key = Ed25519NoteSigner.generate(origin).vkey()
    stranger = Ed25519NoteSigner.generate("evil.example/log").vkey()
    swapped = dict(second, receipt_evidence=first["receipt_evidence"])  # someone else's proof
    cases = {
        "another receipt's proof": (swapped, vkey),
        "a log key we do not trust": (second, other_key),
        "another log": (second, stranger),
        "garbage proof": (
            dict(second, receipt_evidence={"log": "c2sp.org/tlog-proof@v1\nx"}),
            vkey,
        ),
    }
    for name, (document, key) in cases.items():
        done = cli(
            "verify", _save(tmp / "doc.json", document), "--keys", keys, "--log-vkey", key, "--json"
        )
        assert done.status == 1, name
        assert done.json()["status"] == "valid" and done.json()["log"]["verified"] is False, name


def test_policy_require_logged(inline: tuple[str, str, Path], cli: Cli) -> None:
    url, vkey, tmp = inline
    body = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, timeout=30).json()
    keys = _save(tmp / "keys.json", httpx.get(f"{url}/v1/receipts/keys").json())
    policy = tmp / "policy.toml"
    policy.write_text(f'keysets = ["{keys}"]\nrequire_logged = true\nlogs = ["{vkey}"]\n')
    assert cli("verify", _save(tmp / "r.json", body), "--policy", policy).status == 0
    bare = cli("verify", _save(tmp / "bare.json", body["receipt"]), "--policy", policy, "--json")
    assert bare.status == 1
    assert any(f.startswith("require_logged") for f in bare.json()["policy"]["failures"])


def test_the_client_checks_and_requires_inline_proofs(inline: tuple[str, str, Path]) -> None:
    url, vkey, tmp = inline
    keys = f"{url}/v1/receipts/keys"
    data = tmp / "client"
    with verifying_http_client(
        keys=keys, data_dir=data, log_vkeys=[vkey], require_logged=True
    ) as http:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk", http_client=http, max_retries=0)
        reply = client.chat.completions.create(**REQUEST)  # type: ignore[call-overload]
        streamed = list(client.chat.completions.create(**REQUEST, stream=True))  # type: ignore[call-overload]
    assert reply.choices[0].message.content and streamed
    store = EvidenceStore(data)
    assert eventually(lambda: len(store.unproven()) == 0 and len(list(store.list())) == 2)
    store.close()
    wrong = Ed25519NoteSigner.generate(vkey.split("+")[0]).vkey()
    with verifying_http_client(keys=keys, log_vkeys=[wrong]) as http:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk", http_client=http, max_retries=0)
        with pytest.raises(VerificationError, match="does not verify"):
            client.chat.completions.create(**REQUEST)  # type: ignore[call-overload]


def test_client_refuses_an_unlogged_answer_when_required(gateway: tuple[Gateway, str]) -> None:
    _, url = gateway  # no log at all
    vkey = Ed25519NoteSigner.generate("log.example/x").vkey()
    with verifying_http_client(
        keys=f"{url}/v1/receipts/keys", log_vkeys=[vkey], require_logged=True
    ) as http:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk", http_client=http, max_retries=0)
        with pytest.raises(PolicyError, match="transparency-log proof"):
            client.chat.completions.create(**REQUEST)  # type: ignore[call-overload]


def test_evidence_prove_fetches_missing_proofs(
    gateway_factory: Factory, tmp_path: Path, cli: Cli
) -> None:
    log_dir = tmp_path / "tlog"
    app, url = gateway_factory(log_dir=str(log_dir), log_batch_age=0.002)  # not inline
    vkey = read_log_info(log_dir)["vkey"]
    data = tmp_path / "client"
    with verifying_http_client(
        keys=f"{url}/v1/receipts/keys", data_dir=data, log_vkeys=[vkey]
    ) as http:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk", http_client=http, max_retries=0)
        for _ in range(3):
            client.chat.completions.create(**REQUEST)  # type: ignore[call-overload]
    store = EvidenceStore(data)
    assert eventually(lambda: len(store.unproven()) == 3)
    store.close()
    assert app.log_app is not None
    assert eventually(lambda: app.log_app.log.checkpoint().size == 3)  # type: ignore[union-attr]
    done = cli(
        "evidence", "prove", "--data-dir", data, "--log-url", f"{url}/log", "--log-vkey", vkey
    )
    assert done.status == 0 and "3 proven" in done.stdout, done.stdout + done.stderr
    store = EvidenceStore(data)
    assert store.unproven() == [] and store.log_proof(next(store.list()).receipt_id)
    store.close()
    again = cli(
        "evidence", "prove", "--data-dir", data, "--log-url", f"{url}/log", "--log-vkey", vkey
    )
    assert again.status == 0 and "0 proven" in again.stdout
