"""Key rotation across replicas (issue 14, "Keys across replicas"): publish everywhere
first, then sign with the new key, then revoke the old one — at no moment is a receipt
out that some replica's published key set does not verify. Switching a replica before
the others publish its key is shown to break exactly that."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from llmseal.core.keyset import KeySet
from llmseal.core.verify import Status, verify_receipt
from llmseal.trust.keydir import KeyDirectory
from tests.helpers import ServeProcess, eventually
from tests.integration.postgres.fleet import REQUEST, replicas


def _keysets(gateways: list[ServeProcess]) -> list[KeySet]:
    return [KeySet.from_json(httpx.get(f"{g.url}/v1/receipts/keys").content) for g in gateways]


def _issue(gateways: list[ServeProcess]) -> list[dict[str, object]]:
    return [httpx.post(f"{g.url}/v1/chat/completions", json=REQUEST).json()["receipt"]
            for g in gateways]  # fmt: skip


def _statuses(receipts: list[dict[str, object]], gateways: list[ServeProcess]) -> set[Status]:
    """How each receipt verifies against each replica's published key set."""
    return {verify_receipt(r, keys).status for r in receipts for keys in _keysets(gateways)}


def _revoked(keys: KeySet, key_id: str) -> bool:
    entry = keys.resolve(key_id)
    return entry is not None and entry.status == "revoked"


def _publish(source: Path, targets: list[Path]) -> None:
    for target in targets:  # what a deployment tool does: same public set, same secrets
        for item in (source / "keys").iterdir():
            if item.name != ".lock":
                shutil.copy2(item, target / "keys" / item.name)


def _restart(g: ServeProcess, data: Path, upstream: str, store: str, key_id: str) -> ServeProcess:
    g.stop()
    return ServeProcess(["--upstream", upstream, "--data-dir", str(data), "--store", store,
                         "--key-id", key_id])  # fmt: skip


def test_a_rotation_rolled_out_in_order_never_leaves_a_receipt_unverifiable(
    upstream: str, pg_url: str, tmp_path: Path
) -> None:
    gateways = replicas(upstream, pg_url, tmp_path, 2)
    dirs = [tmp_path / "r0", tmp_path / "r1"]
    try:
        old = _issue(gateways)
        assert _statuses(old, gateways) == {Status.VALID}
        # 1. the new key is made once and published by every replica (nobody signs with it)
        KeyDirectory(dirs[0] / "keys").create("k-2026q3", at=datetime.now(UTC))
        _publish(dirs[0], dirs[1:])
        assert eventually(lambda: all("k-2026q3" in k for k in _keysets(gateways)))
        # 2. replicas switch one by one; receipts of both keys verify everywhere meanwhile
        issued = list(old)
        for i in range(2):
            gateways[i] = _restart(gateways[i], dirs[i], upstream, pg_url, "k-2026q3")
            issued += _issue(gateways)
            assert _statuses(issued, gateways) == {Status.VALID}
        assert {r["key_id"] for r in _issue(gateways)} == {"k-2026q3"}
        # 3. the old key is revoked from now on: what it signed before stays valid
        old_key = str(old[0]["key_id"])
        KeyDirectory(dirs[0] / "keys").revoke(old_key, at=datetime.now(UTC) + timedelta(seconds=1))
        _publish(dirs[0], dirs[1:])
        assert eventually(lambda: all(_revoked(k, old_key) for k in _keysets(gateways)))
        assert _statuses(issued, gateways) == {Status.VALID}
        for g in gateways:  # and from any replica, by id, out of the shared store
            for r in issued:
                assert httpx.get(f"{g.url}/v1/receipts/{r['receipt_id']}/verify").json()[
                    "status"] == "valid"  # fmt: skip
    finally:
        for g in gateways:
            g.stop()


def test_switching_before_every_replica_publishes_the_key_breaks_verification(
    upstream: str, pg_url: str, tmp_path: Path
) -> None:
    gateways = replicas(upstream, pg_url, tmp_path, 2)
    dirs = [tmp_path / "r0", tmp_path / "r1"]
    try:
        KeyDirectory(dirs[0] / "keys").create("k-early", at=datetime.now(UTC))
        gateways[0] = _restart(gateways[0], dirs[0], upstream, pg_url, "k-early")  # too soon
        receipt = _issue(gateways[:1])
        assert _statuses(receipt, gateways) == {Status.VALID, Status.UNKNOWN_KEY}
    finally:
        for g in gateways:
            g.stop()
