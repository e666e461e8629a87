"""The gateway's embedded log with witnesses: its proofs carry a quorum's cosignatures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import openai
import pytest

from llmseal.client import build_verifier, verifying_http_client
from llmseal.errors import ConfigError, PolicyError
from llmseal.gateway.app import Gateway
from llmseal.log.entry import receipt_entry
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.log.note.notekeys import load_verifier
from llmseal.log.service.service import init_log
from llmseal.log.witness.quorum import verify_witnessed_proof
from llmseal.log.witness.witness import Witness
from llmseal.log.witness.witnesspolicy import WitnessPolicy
from llmseal.log.witness.witnessserver import WitnessApp, wall_clock
from llmseal.log.witness.witnessstore import WitnessStore
from tests.helpers import ThreadedUvicorn, eventually

REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


def test_embedded_log_proofs_are_cosigned_by_the_quorum(
    gateway_factory: Callable[..., tuple[Gateway, str]], tmp_path: Path
) -> None:
    log_dir = tmp_path / "tlog"
    log_vkey = init_log(log_dir, "api.test.example/log")
    signer = CosignatureSigner.generate("w.test.example")
    store = WitnessStore(tmp_path / "w")
    app = WitnessApp(Witness.for_keys(signer, [load_verifier(log_vkey)], store, wall_clock))
    with ThreadedUvicorn(app) as witness:
        policy = tmp_path / "witnesses.policy"
        policy.write_text(f"witness w {signer.vkey()} {witness.url}\nquorum w\n")
        options = {"log_witness_policy": str(policy), "log_witness_interval": 0.05}
        _gw, url = gateway_factory(log_dir=str(log_dir), log_batch_age=0.002, **options)
        body = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, timeout=30).json()
        rid = body["receipt"]["receipt_id"]
        verifier = WitnessPolicy.parse(policy.read_text())

        def cosigned() -> bool:
            answer = httpx.get(f"{url}/log/proof/{rid}")
            if answer.status_code != 200:
                return False
            entry = receipt_entry(body["receipt"])
            log_key = load_verifier(log_vkey)
            got = verify_witnessed_proof(
                answer.text, entry, policy=verifier, log_verifiers=[log_key]
            )
            return got.witnessed.satisfied

        assert eventually(cosigned, timeout=60)
        witnessed = httpx.get(f"{url}/log/checkpoint.witnessed")
        assert witnessed.status_code == 200 and witnessed.text.startswith("api.test.example/log\n")
        # The verifying client judges the proof's checkpoint by the same quorum.
        check = build_verifier(keys=f"{url}/v1/receipts/keys", log_vkeys=[log_vkey],
                               witness_policy=policy, require_witnessed=True).log_check  # fmt: skip
        assert check is not None
        proof = httpx.get(f"{url}/log/proof/{rid}").text
        logged, failure = check.check(body["receipt"], {"log": proof})
        assert failure is None and logged is not None and logged.index == 0
    store.close()


def test_the_client_requires_a_quorum_only_when_asked(
    gateway_factory: Callable[..., tuple[Gateway, str]], tmp_path: Path
) -> None:
    log_dir = tmp_path / "tlog"
    log_vkey = init_log(log_dir, "api.test.example/log")
    witness = CosignatureSigner.generate("w.test.example")
    policy = tmp_path / "witnesses.policy"
    policy.write_text(f"log {log_vkey}\nwitness w {witness.vkey()}\nquorum w\n")
    _gw, url = gateway_factory(log_dir=str(log_dir), log_inline=True, log_batch_age=0.002)
    keys = f"{url}/v1/receipts/keys"
    # A live answer's inline proof predates any cosigning: fine unless a quorum is required.
    with verifying_http_client(keys=keys, witness_policy=policy) as http:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk", http_client=http, max_retries=0)
        assert client.chat.completions.create(**REQUEST).choices  # type: ignore[call-overload]
    with verifying_http_client(keys=keys, witness_policy=policy, require_witnessed=True) as http:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk", http_client=http, max_retries=0)
        with pytest.raises(PolicyError, match="not cosigned by the witness quorum"):
            client.chat.completions.create(**REQUEST)  # type: ignore[call-overload]
    with pytest.raises(ConfigError, match="require_witnessed needs witness_policy"):
        verifying_http_client(keys=keys, require_witnessed=True)
