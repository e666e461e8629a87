"""Issue 10, must-show: the real gateway and its embedded log under load, and kill -9.

* 1,000 receipts through ``llmseal serve --log DIR --log-inline``: each inline proof
  verifies, the tree rebuilt from the entry bundles is the checkpoint's, and the
  entries are the delivered receipts, byte for byte.
* kill -9 of the gateway (and so of its embedded log) under load: after the restart
  every delivered receipt is logged (the outbox resubmits), and every checkpoint
  published before the crash is consistent with the one after.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmseal.log.entry import receipt_entry
from llmseal.log.note.notekeys import load_verifier
from llmseal.log.service.service import read_log_info
from llmseal.log.tree.proof import verify_log_proof
from tests.helpers import ServeProcess, ThreadedUvicorn, eventually
from tests.integration.gateway.fake_upstream import FakeUpstream
from tests.integration.log.load import Load, open_log

pytestmark = pytest.mark.slow

REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}
RECEIPTS = 1_000


def _serve(upstream: str, data: Path, log_dir: Path, *extra: str) -> ServeProcess:
    args = ["--upstream", upstream, "--data-dir", str(data), "--log", str(log_dir),
            "--log-origin", "gateway.test/log", "--log-batch-age", "20"]  # fmt: skip
    return ServeProcess([*args, *extra])


def _chat(url: str) -> Any:
    def send(client: httpx.Client) -> Any:
        answer = client.post(f"{url}/v1/chat/completions", json=REQUEST)
        return answer.json() if answer.status_code == 200 else None

    return send


def test_a_thousand_receipts_through_the_gateway_are_all_in_the_tree(tmp_path: Path) -> None:
    log_dir = tmp_path / "tlog"
    with ThreadedUvicorn(FakeUpstream().app) as upstream:
        gateway = _serve(upstream.url, tmp_path / "data", log_dir, "--log-inline")
        try:
            load = Load(_chat(gateway.url), threads=8, enough=RECEIPTS)
            assert load.enough.wait(timeout=600), f"only {len(load.results)} answers"
            load.stop()
        finally:
            gateway.stop()
    answers = load.results
    info = read_log_info(log_dir)
    verifiers = [load_verifier(info["vkey"])]
    indices = set()
    for body in answers:
        proven = verify_log_proof(body["receipt_evidence"]["log"], receipt_entry(body["receipt"]),
                                  origin=info["origin"], verifiers=verifiers)  # fmt: skip
        indices.add(proven.index)
    assert len(indices) == len(answers) >= RECEIPTS  # one entry each, none shared
    log = open_log(log_dir)
    latest = log.checkpoint()
    assert log.verify_entries(latest) == latest.size == len(answers)  # root from the bundles
    delivered = Counter(receipt_entry(body["receipt"]) for body in answers)
    assert Counter(log.entries(latest.size)) == delivered  # byte for byte, nothing else


def test_kill_9_of_the_embedded_log_loses_no_delivered_receipt(tmp_path: Path) -> None:
    log_dir, data = tmp_path / "tlog", tmp_path / "data"
    with ThreadedUvicorn(FakeUpstream().app) as upstream:
        gateway = _serve(upstream.url, data, log_dir)
        load = Load(_chat(gateway.url), threads=8, enough=300,
                    checkpoint_url=f"{gateway.url}/log/checkpoint")  # fmt: skip
        try:
            assert load.enough.wait(timeout=300), f"only {len(load.results)} answers"
            assert eventually(lambda: len(load.checkpoints) >= 3, timeout=120)
            gateway.signal(signal.SIGKILL)  # gateway, embedded log, outbox task: no shutdown
            gateway.proc.wait()
        finally:
            load.stop()
        before = list(load.checkpoints)
        delivered = {receipt_entry(body["receipt"]) for body in load.results}
        gateway = _serve(upstream.url, data, log_dir)  # the same store and log
        try:

            def all_logged() -> bool:
                log = open_log(log_dir)
                size = log.checkpoint().size
                return size >= len(delivered) and delivered <= set(log.entries(size))

            assert eventually(all_logged, timeout=120), "delivered receipts missing from the log"
        finally:
            gateway.stop()
    log = open_log(log_dir)
    latest = log.checkpoint()
    assert log.verify_entries(latest) == latest.size
    assert len(before) >= 3
    for old in map(log.open, before):  # published before the crash: a prefix of the tree after
        log.check_consistency(old, latest)
