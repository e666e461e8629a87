"""Issue 10, must-show: kill -9 of a standalone ``llmseal log serve`` under load.

Writers post signed receipts; each 200 is an acknowledged index. After kill -9 and a
restart on the same directory, every acknowledged entry is in the tree at its index,
resubmitting one answers its index as a duplicate, and every checkpoint the log
published before the crash is consistent with the ones after.
"""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import sign_exchange
from llmseal.log.entry import receipt_entry
from llmseal.log.service.service import init_log
from tests.helpers import eventually
from tests.integration.log.load import Load, open_log
from tests.witnessproc import start_log

pytestmark = pytest.mark.slow


def _issuer(tmp: Path) -> tuple[Ed25519Signer, Path]:
    issuer = Ed25519Signer.generate("issuer.test/k")
    keys = tmp / "keys.json"
    keys.write_text(json.dumps(KeySet([KeyEntry(issuer.key_id, issuer.public_key())]).to_dict()))
    return issuer, keys


def test_kill_9_of_the_standalone_log_loses_no_acknowledged_entry(tmp_path: Path) -> None:
    issuer, keys = _issuer(tmp_path)
    log_dir = tmp_path / "log"
    init_log(log_dir, "standalone.test/log")
    log = start_log(log_dir, [str(keys)], "--batch-age", "5")
    counter, lock = itertools.count(), threading.Lock()
    at = datetime(2026, 6, 1, tzinfo=UTC)

    def send(client: httpx.Client) -> tuple[int, bytes, dict[str, Any]] | None:
        with lock:
            n = next(counter)
        receipt = sign_exchange(issuer, model_id="m", request={"n": n}, response={}, at=at)
        wire = receipt.to_dict()
        answer = client.post(f"{log.url}/add", json=wire)
        if answer.status_code != 200:
            return None
        return answer.json()["index"], receipt_entry(wire), wire

    load = Load(send, threads=6, enough=400, checkpoint_url=f"{log.url}/checkpoint")
    try:
        assert load.enough.wait(timeout=300), f"only {len(load.results)} acknowledged"
        assert eventually(lambda: len(load.checkpoints) >= 3, timeout=120)
        log.process.kill()  # SIGKILL: no shutdown, no final publish
        log.process.wait()
    finally:
        load.stop()
    acknowledged = list(load.results)
    before = list(load.checkpoints)
    log = start_log(log_dir, [str(keys)], "--batch-age", "5")  # recovery on the same directory
    try:
        index, _entry, wire = acknowledged[len(acknowledged) // 2]
        again = httpx.post(f"{log.url}/add", json=wire, timeout=30).json()
        assert again == {"index": index, "leaf_hash": again["leaf_hash"], "duplicate": True}
    finally:
        log.stop()
    tree = open_log(log_dir)
    latest = tree.checkpoint()
    assert tree.verify_entries(latest) == latest.size
    entries = list(tree.entries(latest.size))
    assert latest.size >= len(acknowledged) >= 400
    for index, entry, _ in acknowledged:  # at the index the log gave it, byte for byte
        assert entries[index] == entry
    assert len(before) >= 3
    for old in map(tree.open, before):
        tree.check_consistency(old, latest)
