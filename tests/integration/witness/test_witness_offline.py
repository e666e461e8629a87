"""A witness offline for a while, with real processes: the log keeps publishing and its
proofs are cosigned once the witness is back (issue 11, must-show)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import issue_receipt
from llmseal.log.entry import receipt_entry
from llmseal.log.witness.quorum import check_quorum, open_witnessed, verify_witnessed_proof
from llmseal.log.witness.witnesspolicy import WitnessPolicy
from tests.helpers import eventually
from tests.witnessproc import start_log, start_witness


@pytest.mark.slow
def test_the_log_publishes_while_a_witness_is_stopped_and_cosigns_after(
    tmp_path: Path, cli: Callable[..., Any], t0: Any
) -> None:
    issuer = Ed25519Signer.generate("issuer/k1")
    keyset = tmp_path / "keys.json"
    keyset.write_text(json.dumps(KeySet([KeyEntry(issuer.key_id, issuer.public_key())]).to_dict()))
    log_dir = tmp_path / "log"
    log_vkey = cli("log", "init", "--dir", log_dir, "--origin", "log.test/offline").stdout.strip()
    steady, flaky = (start_witness(tmp_path / n, [log_vkey], name=f"{n}.test") for n in "ab")
    policy_file = tmp_path / "w.policy"
    policy_file.write_text(
        f"log {log_vkey}\nwitness a {steady.vkey} {steady.url}\n"
        f"witness b {flaky.vkey} {flaky.url}\ngroup both all a b\nquorum both\n"
    )
    policy = WitnessPolicy.load(policy_file)
    log = start_log(log_dir, [str(keyset)], "--witness-policy", str(policy_file),
                    "--witness-interval", "0.2", "--batch-age", "5")  # fmt: skip
    receipts = [
        issue_receipt(issuer, model_id="m", prompt_hash=f"{n:064x}", output_hash="2" * 64,
                      at=t0).to_dict()
        for n in range(12)
    ]  # fmt: skip

    def checkpoint_cosigned_by() -> set[str]:
        cp = open_witnessed(httpx.get(f"{log.url}/checkpoint").content,
                            origin="log.test/offline", policy=policy)  # fmt: skip
        return set(check_quorum(cp.checkpoint, policy).cosigned) if cp.checkpoint.size else set()

    try:
        assert httpx.post(f"{log.url}/add", json=receipts[0]).status_code == 200
        assert eventually(lambda: checkpoint_cosigned_by() == {"a", "b"}, timeout=60)
        os.kill(flaky.process.pid, signal.SIGSTOP)  # b is offline: connections hang
        try:
            for receipt in receipts[1:]:
                assert httpx.post(f"{log.url}/add", json=receipt, timeout=30).status_code == 200
            assert eventually(lambda: httpx.get(f"{log.url}/").json()["size"] == 12, timeout=60)
            assert eventually(lambda: checkpoint_cosigned_by() == {"a"}, timeout=60)
            late = httpx.get(f"{log.url}/proof/{receipts[-1]['receipt_id']}").text
            judged = verify_witnessed_proof(late, receipt_entry(receipts[-1]), policy=policy)
            assert not judged.witnessed.satisfied  # only a cosigned it so far
        finally:
            os.kill(flaky.process.pid, signal.SIGCONT)  # b is back
        assert eventually(lambda: checkpoint_cosigned_by() == {"a", "b"}, timeout=90)
        proof = httpx.get(f"{log.url}/proof/{receipts[-1]['receipt_id']}").text
        judged = verify_witnessed_proof(proof, receipt_entry(receipts[-1]), policy=policy)
        assert judged.witnessed.satisfied and judged.entry.tree_size == 12
    finally:
        log.stop()
        steady.stop()
        flaky.stop()
