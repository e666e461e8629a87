"""The gateway and the transparency log: embedded, standalone, inline proofs, the outbox."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from llmseal.core.framing import read_stream
from llmseal.gateway.app import Gateway
from llmseal.log.entry import receipt_entry
from llmseal.log.note.notekeys import load_verifier
from llmseal.log.service.service import read_log_info
from llmseal.log.tree.proof import verify_log_proof
from llmseal.log.tree.tilereader import TileLog
from tests.helpers import eventually

REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}
Factory = Callable[..., tuple[Gateway, str]]


def _verify(log_dir: Path, receipt: dict[str, Any], proof: str) -> int:
    info = read_log_info(log_dir)
    got = verify_log_proof(
        proof,
        receipt_entry(receipt),
        origin=info["origin"],
        verifiers=[load_verifier(info["vkey"])],
    )
    return got.index


def _served(url: str) -> bool:
    return httpx.get(url).status_code == 200


def test_inline_proof_beside_plain_and_streamed_receipts(
    gateway_factory: Factory, tmp_path: Path
) -> None:
    log_dir = tmp_path / "tlog"
    _app, url = gateway_factory(log_dir=str(log_dir), log_inline=True, log_batch_age=0.002)
    plain = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, timeout=30).json()
    assert _verify(log_dir, plain["receipt"], plain["receipt_evidence"]["log"]) == 0
    streamed = httpx.post(
        f"{url}/v1/chat/completions", json={**REQUEST, "stream": True}, timeout=30
    )
    saved = read_stream(streamed.content)
    assert saved.receipt is not None and saved.receipt.evidence is not None
    assert _verify(log_dir, dict(saved.receipt.receipt), saved.receipt.evidence["log"]) == 1
    # the log is served under /log/ by the gateway itself
    proof = httpx.get(f"{url}/log/proof/{plain['receipt']['receipt_id']}")
    assert proof.status_code == 200 and _verify(log_dir, plain["receipt"], proof.text) == 0
    assert httpx.get(f"{url}/log/checkpoint").text.startswith(read_log_info(log_dir)["origin"])


def test_default_mode_logs_through_the_outbox(gateway_factory: Factory, tmp_path: Path) -> None:
    log_dir = tmp_path / "tlog"
    app, url = gateway_factory(log_dir=str(log_dir), log_batch_age=0.002)
    receipts = [
        httpx.post(f"{url}/v1/chat/completions", json=REQUEST, timeout=30).json() for _ in range(20)
    ]
    assert all("receipt_evidence" not in r for r in receipts)  # nothing delayed, nothing beside
    assert eventually(lambda: app.store.outbox_count() == 0, timeout=30)  # type: ignore[attr-defined]
    for body in receipts:
        rid = body["receipt"]["receipt_id"]
        assert eventually(functools.partial(_served, f"{url}/log/proof/{rid}"))
        proof = httpx.get(f"{url}/log/proof/{rid}").text
        _verify(log_dir, body["receipt"], proof)
    info = read_log_info(log_dir)
    tl = TileLog(lambda p: httpx.get(f"{url}/log/{p}").raise_for_status().content, info["origin"],
                 [load_verifier(info["vkey"])])  # fmt: skip
    latest = tl.checkpoint()
    assert latest.size == 20
    delivered = {receipt_entry(b["receipt"]) for b in receipts}
    assert set(tl.entries(latest.size)) == delivered


def test_external_submissions_are_admitted_with_the_gateway_keys(
    gateway_factory: Factory, tmp_path: Path
) -> None:
    _app, url = gateway_factory(log_dir=str(tmp_path / "tlog"), log_batch_age=0.002)
    body = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, timeout=30).json()
    again = httpx.post(f"{url}/log/add", content=json.dumps(body["receipt"]))
    assert again.status_code == 200 and again.json()["index"] == 0
    forged = dict(body["receipt"], model_id="other")
    assert httpx.post(f"{url}/log/add", content=json.dumps(forged)).status_code == 403
