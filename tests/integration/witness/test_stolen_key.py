"""The stolen-key backdating attack, end to end with real processes (issue 11, must-show).

An issuer's key is stolen; the issuer revokes it at R. The thief signs receipts dated
before R and gets them into a log after R. With the witness policy, ``llmseal verify``
judges revocation at the proven time: ``revoked``. A receipt proven before R stays
``valid``. The issuer's monitor, watching its own key, lists every entry signed by it:
the ones its store never issued are the thief's.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.log.entry import receipt_entry
from llmseal.log.witness.quorum import verify_witnessed_proof
from llmseal.log.witness.witnesspolicy import WitnessPolicy
from tests.helpers import eventually
from tests.witnessproc import WitnessProcess, start_log, start_witness

KEY = "issuer.example/2026q2"


def _sign(cli: Callable[..., Any], keys: Path, tmp: Path, issued_at: str | None) -> dict[str, Any]:
    request, response = tmp / "request.json", tmp / "response.json"
    request.write_text(json.dumps(REQUEST))
    response.write_text(json.dumps(RESPONSE))
    args = ["sign", "--dir", keys, "--key-id", KEY, "--model-id", "lab/m", "--prompt", request,
            "--output", response]  # fmt: skip
    result = cli(*args, *(["--issued-at", issued_at] if issued_at else []))
    assert result.status == 0, result.stderr
    receipt: dict[str, Any] = result.json()
    return receipt


def _witnessed_proof(log: WitnessProcess, receipt: dict[str, Any], policy: WitnessPolicy) -> str:
    """The receipt's proof, once a checkpoint the quorum cosigned covers it."""
    found: list[str] = []

    def ready() -> bool:
        answer = httpx.get(f"{log.url}/proof/{receipt['receipt_id']}")
        if answer.status_code != 200:
            return False
        judged = verify_witnessed_proof(answer.text, receipt_entry(receipt), policy=policy)
        found[:] = [answer.text]
        return judged.witnessed.satisfied

    assert eventually(ready, timeout=90), log.lines[-20:]
    return found[0]


@pytest.mark.slow
def test_a_backdated_receipt_from_a_stolen_key_is_revoked(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    keys = tmp_path / "issuer"
    assert cli("keys", "new", KEY, "--dir", keys).status == 0
    stolen = tmp_path / "thief"
    shutil.copytree(keys, stolen)  # the thief's copy, taken while the key was active
    log_dir = tmp_path / "log"
    log_vkey = cli("log", "init", "--dir", log_dir, "--origin", "log.test/receipts").stdout.strip()
    witness = start_witness(tmp_path / "w", [log_vkey])
    log = None
    try:
        policy_file = tmp_path / "witnesses.policy"
        lines = f"log {log_vkey}\nwitness w {witness.vkey} {witness.url}\nquorum w\n"
        policy_file.write_text(lines)
        policy = WitnessPolicy.load(policy_file)
        log = start_log(log_dir, [str(keys / "keys.json")], "--witness-policy", str(policy_file),
                        "--witness-interval", "0.1", "--batch-age", "5")  # fmt: skip
        # An honest receipt, logged and cosigned before the revocation.
        honest = _sign(cli, keys, tmp_path, None)
        assert httpx.post(f"{log.url}/add", json=honest).status_code == 200
        honest_proof = _witnessed_proof(log, honest, policy)
        proven = verify_witnessed_proof(honest_proof, receipt_entry(honest), policy=policy)
        assert proven.proven_at is not None
        # The issuer revokes the key one second after the honest receipt was proven.
        revoked_at = proven.proven_at + timedelta(seconds=1)
        stamp = revoked_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert cli("keys", "revoke", KEY, "--dir", keys, "--at", stamp).status == 0
        # The thief signs after R (the wall clock, which the witness stamps, has passed it),
        # dating the receipts a day before R.
        assert eventually(lambda: time.time() >= revoked_at.timestamp() + 1, timeout=30)
        backdated = (revoked_at - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        forged = [_sign(cli, stolen, tmp_path, backdated) for _ in range(3)]
        for receipt in forged:
            assert httpx.post(f"{log.url}/add", json=receipt).status_code == 200
        forged_proof = _witnessed_proof(log, forged[0], policy)
    finally:
        if log is not None:
            log.stop()
        witness.stop()
    saved = (("honest", honest, honest_proof), ("forged", forged[0], forged_proof))
    for name, receipt, proof in saved:
        (tmp_path / f"{name}.json").write_text(json.dumps(receipt))
        (tmp_path / f"{name}.tlog-proof").write_text(proof)
    keyset = keys / "keys.json"

    def verify(name: str, *extra: str | Path) -> Any:
        return cli("verify", tmp_path / f"{name}.json", "--keys", keyset, "--json",
                   "--proof", tmp_path / f"{name}.tlog-proof", *extra)  # fmt: skip

    # Without witnesses, issued_at (the thief's word) decides: the attack works.
    fooled = cli("verify", tmp_path / "forged.json", "--keys", keyset, "--json")
    assert fooled.status == 0 and fooled.json()["status"] == "valid"
    caught = verify("forged", "--witness-policy", policy_file)
    assert caught.status == 1, caught.stderr
    report = caught.json()
    assert report["status"] == "revoked"
    assert report["log"]["witnessed"]["satisfied"] is True
    assert report["proven_at"] >= stamp  # first proven after the revocation
    kept = verify("honest", "--witness-policy", policy_file)
    assert kept.status == 0, kept.stdout + kept.stderr
    assert kept.json()["status"] == "valid" and kept.json()["proven_at"] < stamp
    # A policy can ask for the same through its [log] table.
    relying = tmp_path / "policy.toml"
    relying.write_text('[log]\nwitness_policy = "witnesses.policy"\nrequire_witnessed = true\n')
    admitted = verify("honest", "--policy", relying)
    assert admitted.status == 0 and admitted.json()["policy"]["admitted"] is True
    refused = verify("forged", "--policy", relying)
    assert refused.status == 1 and refused.json()["status"] == "revoked"
    # The issuer's monitor lists every entry its key signed: three it never issued.
    log = start_log(log_dir, [str(keyset)])
    try:
        watched = cli("log", "monitor", "--url", log.url, "--vkey", log_vkey, "--state",
                      tmp_path / "monitor", "--keys", keyset, "--watch-key", KEY, "--once",
                      "--json")  # fmt: skip
    finally:
        log.stop()
    assert watched.status == 0, watched.stdout + watched.stderr
    listed = {item["receipt_id"] for item in watched.json()["watched"]}
    issued_by_us = {honest["receipt_id"]}
    assert listed - issued_by_us == {r["receipt_id"] for r in forged}
    assert datetime.fromisoformat(forged[0]["issued_at"]) < revoked_at.astimezone(UTC)
