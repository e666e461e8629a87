"""The transparency log in PostgreSQL: indices in a transaction, one integrator, takeover."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from llmseal.core.keyset import KeySet
from llmseal.devpostgres import PgCluster
from llmseal.errors import KeyManagementError, LogCorruptError, LogUnavailableError
from llmseal.log.note.notekeys import Ed25519NoteSigner
from llmseal.log.service.pgservice import init_pg_log, open_pg_log
from llmseal.log.service.replicated import ReplicatedSequencer
from llmseal.log.service.service import TransparencyLog
from llmseal.log.storage.base import PendingEntry
from llmseal.log.storage.pgstore import PostgresLogStorage
from llmseal.log.tree.merkle import leaf_hash, verify_consistency, verify_inclusion
from llmseal.log.tree.tilereader import TileLog
from llmseal.trust.keydir import write_private
from tests.helpers import eventually

ORIGIN = "log.test.example/pg"


def entry(n: int) -> PendingEntry:
    data = f'{{"receipt_id":"r{n}"}}'.encode()
    return PendingEntry(data, leaf_hash(data), f"r{n}")


@pytest.fixture
def fresh(pg_cluster: PgCluster) -> Iterator[str]:
    url = pg_cluster.create_database()
    yield url
    pg_cluster.drop_database(url)


def replica(url: str, key_dir: Path) -> TransparencyLog:
    return open_pg_log(url, key_dir, keys=KeySet([]), batch_age=0.01, lead_interval=0.1)


def seq(tlog: TransparencyLog) -> ReplicatedSequencer:
    assert isinstance(tlog.sequencer, ReplicatedSequencer)
    return tlog.sequencer


def test_replicas_sequence_into_one_tree_with_one_integrator(fresh: str, tmp_path: Path) -> None:
    init_pg_log(fresh, ORIGIN, tmp_path)
    a, b = replica(fresh, tmp_path), replica(fresh, tmp_path)
    try:
        assert eventually(lambda: seq(a).leading or seq(b).leading)
        assert not (seq(a).leading and seq(b).leading)
        fa = a.submit_entries([entry(i) for i in range(300)])
        fb = b.submit_entries([entry(i) for i in range(200, 500)])  # 100 overlap
        got = [f.result(30) for f in fa + fb]
        indices = sorted(s.index for s in got if not s.duplicate)
        assert indices == list(range(500))  # contiguous, every leaf once
        assert sum(s.duplicate for s in got) == 100
        by_leaf = {s.leaf_hash: s.index for s in got if not s.duplicate}
        assert all(by_leaf[s.leaf_hash] == s.index for s in got)
        for tlog in (a, b):  # both serve the same published tree
            cp = tlog.sequencer.wait_published(500, timeout=30)
            assert cp.size == 500
        proof = b.prove(got[0].index)
        assert proof is not None
        verify_inclusion(got[0].leaf_hash, got[0].index, 500, list(proof.path),
                         a.checkpoint().root)  # fmt: skip
        assert (
            a.locate("r7") is not None
            and b.lookup("r250")[0].index == by_leaf[entry(250).leaf_hash]
        )
        tiles = TileLog(a.read, ORIGIN, [a.verifier])
        assert tiles.verify_entries(tiles.checkpoint()) == 500  # bundles match the tiles
    finally:
        a.close()
        b.close()


def test_when_the_integrator_goes_another_continues_the_same_tree(
    fresh: str, tmp_path: Path
) -> None:
    init_pg_log(fresh, ORIGIN, tmp_path)
    a, b = replica(fresh, tmp_path), replica(fresh, tmp_path)
    try:
        assert eventually(lambda: seq(a).leading or seq(b).leading)
        leader, other = (a, b) if seq(a).leading else (b, a)
        [f.result(30) for f in other.submit_entries([entry(i) for i in range(100)])]
        first = other.sequencer.wait_published(100, timeout=30)
        leader.close()  # its session ends: the lock is free
        assert eventually(lambda: seq(other).leading, timeout=5)
        [f.result(30) for f in other.submit_entries([entry(i) for i in range(100, 150)])]
        second = other.sequencer.wait_published(150, timeout=30)
        path = TileLog(other.read, ORIGIN, [other.verifier]).check_consistency(first, second)
        verify_consistency(first.size, second.size, first.root, second.root, path)
    finally:
        a.close()
        b.close()


def test_a_replica_with_another_log_key_refuses_to_join(fresh: str, tmp_path: Path) -> None:
    init_pg_log(fresh, ORIGIN, tmp_path / "one")
    with pytest.raises(KeyManagementError, match=r"cannot read the log key .*two/log\.key"):
        init_pg_log(fresh, ORIGIN, tmp_path / "two")
    other = tmp_path / "two"
    other.mkdir()
    write_private(other / "log.key", Ed25519NoteSigner.generate(ORIGIN).skey().encode())
    with pytest.raises(KeyManagementError, match="is not the key of the log"):
        open_pg_log(fresh, other, keys=KeySet([]))


def test_a_stale_integrator_cannot_publish(fresh: str, tmp_path: Path) -> None:
    init_pg_log(fresh, ORIGIN, tmp_path)
    a = replica(fresh, tmp_path)
    try:
        assert eventually(lambda: seq(a).leading)
        [f.result(30) for f in a.submit_entries([entry(i) for i in range(10)])]
        a.sequencer.wait_published(10, timeout=30)
        with psycopg.connect(fresh, autocommit=True) as conn:  # cut its session
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name LIKE 'llmseal-log-%'"
            )
        # it notices, steps down and (nobody else being there) takes over again
        [f.result(30) for f in a.submit_entries([entry(i) for i in range(10, 20)])]
        assert a.sequencer.wait_published(20, timeout=30).size == 20
    finally:
        a.close()


def test_publishing_needs_the_lock_and_never_goes_back(fresh: str, tmp_path: Path) -> None:
    init_pg_log(fresh, ORIGIN, tmp_path)
    one, two = PostgresLogStorage(fresh), PostgresLogStorage(fresh)
    try:
        with pytest.raises(LogUnavailableError, match="not the log's integrator"):
            one.publish({}, b"checkpoint text", 1)  # nobody elected it
        assert one.try_lead("llmseal-log-1") and not two.try_lead("llmseal-log-2")
        one.publish({"tile/0/000.p/5": b"x" * 160}, b"size five", 5)
        with pytest.raises(LogCorruptError, match="larger checkpoint than 3"):
            one.publish({}, b"size three", 3)
        assert one.read("checkpoint") == b"size five"
        one.step_down()  # the lock is free: the other may lead now, and only it
        assert two.try_lead("llmseal-log-2")
        with pytest.raises(LogUnavailableError):
            one.publish({}, b"stale", 6)
        assert two.read("checkpoint") == b"size five"
    finally:
        one.close()
        two.close()


def test_a_leaf_twice_in_one_batch_or_again_later_keeps_its_index(
    fresh: str, tmp_path: Path
) -> None:
    init_pg_log(fresh, ORIGIN, tmp_path)
    storage = PostgresLogStorage(fresh)
    try:
        first = storage.sequence([entry(0), entry(1), entry(0), entry(2)])
        assert [(s.index, s.duplicate) for s in first] == [(0, False), (1, False),
                                                           (0, True), (2, False)]  # fmt: skip
        again = storage.sequence([entry(3), entry(1), entry(3)])
        assert [(s.index, s.duplicate) for s in again] == [(3, False), (1, True), (3, True)]
        assert storage.sequenced_size() == 4 and storage.sequence([]) == []
        assert storage.unintegrated(2) == [entry(2).data, entry(3).data]
    finally:
        storage.close()
