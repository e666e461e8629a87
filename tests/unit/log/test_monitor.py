"""The monitor: follows a growing log, and catches every way a log can lie about its tree."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import sign_exchange
from llmseal.log.entry import receipt_entry
from llmseal.log.monitor.monitor import Monitor, Round
from llmseal.log.monitor.monitorstate import MonitorState, write_evidence
from llmseal.log.note.checkpoint import open_checkpoint
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.log.note.notekeys import Ed25519NoteSigner
from llmseal.log.tree.tiles import encode_bundle
from llmseal.log.witness.witnessstore import origin_hash
from tests.logtree import TreeLog
from tests.servedlog import ServedLog

AT = datetime(2026, 5, 1, tzinfo=UTC)


def _monitor(served: ServedLog, state_dir: Path, **kwargs: object) -> Monitor:
    state = MonitorState.load(state_dir, served.log.origin)
    return Monitor(served.fetch, [served.log.signer.verifier()], state, **kwargs)  # type: ignore[arg-type]


def _round(served: ServedLog, state_dir: Path, **kwargs: object) -> Round:
    """One run of the monitor as the CLI does it: load state, round, save if clean."""
    monitor = _monitor(served, state_dir, **kwargs)
    result = monitor.round()
    if not result.alarms:
        monitor.state.save(state_dir)
    return result


def test_follows_a_growing_log_across_runs(tmp_path: Path) -> None:
    served = ServedLog(TreeLog.new(size=0))
    served.publish()
    progress: list[tuple[int, int]] = []
    for grow in (5, 250, 1, 0, 300, 65_000 - 556):
        served.log.append(grow)
        served.publish()
        monitor = _monitor(served, tmp_path)
        result = monitor.round(progress=lambda d, t: progress.append((d, t)))
        assert not result.alarms, [a.to_dict() for a in result.alarms]
        assert result.entries == grow and result.size == len(served.log.entries)
        monitor.state.save(tmp_path)
    state = MonitorState.load(tmp_path, served.log.origin)
    assert state.size == 65_000 and state.root == served.log.root()
    assert state.entries_checked == 65_000
    assert state.edge.root() == served.log.root()
    assert progress[-1] == (65_000 - 556, 65_000 - 556)


def test_a_rollback_is_an_alarm_with_both_checkpoints(tmp_path: Path) -> None:
    served = ServedLog(TreeLog.new(size=300))
    newer = served.publish()
    assert not _round(served, tmp_path).alarms
    older = served.log.checkpoint(200)
    served.files["checkpoint"] = older.encode()
    (alarm,) = _round(served, tmp_path).alarms
    assert alarm.kind == "rollback" and alarm.checkpoints == (newer.encode(), older.encode())
    # The state stays where it was: the next run alarms again.
    assert MonitorState.load(tmp_path, served.log.origin).size == 300
    assert _round(served, tmp_path).alarms[0].kind == "rollback"
    folder = write_evidence(tmp_path, alarm, origin=served.log.origin, at=AT)
    assert folder.name == "20260501T000000Z-rollback"
    verifier = served.log.signer.verifier()
    a = open_checkpoint((folder / "a.checkpoint").read_bytes(), origin=served.log.origin,
                        verifiers=[verifier])  # fmt: skip
    b = open_checkpoint((folder / "b.checkpoint").read_bytes(), origin=served.log.origin,
                        verifiers=[verifier])  # fmt: skip
    assert (a.size, b.size) == (300, 200)
    report = json.loads((folder / "alarm.json").read_text())
    assert report["kind"] == "rollback" and report["origin"] == served.log.origin
    again = write_evidence(tmp_path, alarm, origin=served.log.origin, at=AT)
    assert again.name == "20260501T000000Z-rollback-2"


def test_a_fork_at_the_same_size_and_a_forked_history(tmp_path: Path) -> None:
    log = TreeLog.new(size=300)
    served = ServedLog(log)
    served.publish()
    assert not _round(served, tmp_path).alarms
    # Same size, another tree, signed by the log's own key.
    forked = ServedLog(log.fork(280, 20))
    forked.publish()
    assert _round(forked, tmp_path).alarms[0].kind == "fork"
    # A bigger tree whose history differs: its own tiles cannot prove it extends ours.
    grown = ServedLog(log.fork(100, 400))
    grown.publish()
    (alarm,) = _round(grown, tmp_path).alarms
    assert alarm.kind == "inconsistent" and alarm.details["new_size"] == 500


def test_entries_that_do_not_hash_to_the_tiles_are_caught(tmp_path: Path) -> None:
    served = ServedLog(TreeLog.new(size=700))
    served.publish()
    # The log serves an entry bundle that is not what its tiles (and root) say.
    entries = list(served.log.entries[256:512])
    entries[17] = b"not what was logged"
    served.files["tile/entries/001"] = encode_bundle(entries)
    (alarm,) = _round(served, tmp_path).alarms
    assert alarm.kind == "entries" and alarm.details["tile"] == "tile/0/001"
    assert set(alarm.files) == {"served.tile", "computed.tile"}
    assert MonitorState.load(tmp_path, served.log.origin).size == 0


def test_a_tampered_upper_tile_or_partial_tile_is_caught(tmp_path: Path) -> None:
    served = ServedLog(TreeLog.new(size=70_000))
    served.publish()
    for path in ("tile/1/001.p/17", "tile/1/000", "tile/0/273.p/112", "tile/2/000.p/1"):
        good = served.files[path]
        served.files[path] = good[:32] + bytes(32) + good[64:]
        (alarm,) = _round(served, tmp_path).alarms
        assert alarm.kind == "entries" and alarm.details["tile"] == path
        served.files[path] = good
    assert not _round(served, tmp_path).alarms


def test_entries_seen_before_cannot_be_rewritten(tmp_path: Path) -> None:
    served = ServedLog(TreeLog.new(size=100))
    served.publish()
    assert not _round(served, tmp_path).alarms
    served.log.append(200)
    served.publish()
    entries = list(served.log.entries[:256])
    entries[5] = b"rewritten"
    served.files["tile/entries/000"] = encode_bundle(entries)
    (alarm,) = _round(served, tmp_path).alarms
    assert alarm.kind == "entries" and "rewrites entries seen before" in alarm.message


def test_a_checkpoint_not_signed_by_the_log_is_an_alarm(tmp_path: Path) -> None:
    served = ServedLog(TreeLog.new(size=3))
    served.publish()
    impostor = TreeLog(Ed25519NoteSigner.generate(served.log.origin), served.log.entries)
    served.files["checkpoint"] = impostor.checkpoint().encode()
    (alarm,) = _round(served, tmp_path).alarms
    assert alarm.kind == "bad-checkpoint" and "not signed by a trusted key" in alarm.message


def test_receipts_are_verified_and_watched_keys_listed(tmp_path: Path) -> None:
    issuer = Ed25519Signer.generate("issuer/2026q2")
    other = Ed25519Signer.generate("partner/k1")
    keys = KeySet([KeyEntry(issuer.key_id, issuer.public_key()),
                   KeyEntry(other.key_id, other.public_key())])  # fmt: skip
    log = TreeLog.new()
    receipts = [
        sign_exchange(
            s, model_id="m", request=REQUEST, response=RESPONSE, at=AT + timedelta(seconds=i)
        )
        for i, s in enumerate([issuer, other, issuer, other, other])
    ]
    log.entries += [receipt_entry(r) for r in receipts]
    served = ServedLog(log)
    served.publish()
    result = _round(served, tmp_path, keys=keys, watch={issuer.key_id})
    assert not result.alarms and result.receipts_verified == 5
    assert [w.index for w in result.watched] == [0, 2]
    assert [w.receipt_id for w in result.watched] == [
        receipts[0].receipt_id,
        receipts[2].receipt_id,
    ]
    # A receipt no configured key verifies is an alarm (the log took in garbage).
    bad = dict(receipts[1].to_dict(), model_id="edited")
    log.entries.append(receipt_entry(bad))
    log.entries.append(b"not json")
    served.publish()
    result = _round(served, tmp_path, keys=keys)
    assert [(i.index, i.status) for i in result.invalid] == [(5, "tampered"), (6, "malformed")]
    assert result.alarms[0].kind == "bad-entry"


def test_witness_views_are_compared(tmp_path: Path) -> None:
    log = TreeLog.new(size=400)
    served = ServedLog(log)
    served.publish()
    witness = CosignatureSigner.generate("w.example")
    digest = origin_hash(log.origin)

    def witness_serving(note: bytes | None) -> ServedLog:
        w = ServedLog(log)
        if note is not None:
            w.files[f"{digest}/checkpoint"] = note
        return w

    def cosigned(cp_log: TreeLog, size: int) -> bytes:
        cp = cp_log.checkpoint(size)
        return cp.note.with_signatures(witness.cosign(cp.note.text, 1_800_000_000)).encode()

    honest = witness_serving(cosigned(log, 300))
    silent = witness_serving(None)
    result = _round(
        served, tmp_path, witnesses=[("http://w1", honest.fetch), ("http://w2", silent.fetch)]
    )
    assert not result.alarms
    assert result.witnesses["http://w1"] == "consistent (witness at size 300)"
    assert result.witnesses["http://w2"].startswith("no checkpoint")
    # The log showed the witness another tree of the same size: a split view.
    for size in (400, 350):
        split = witness_serving(cosigned(log.fork(10, size - 10), size))
        (alarm,) = _round(served, tmp_path, witnesses=[("http://w3", split.fetch)]).alarms
        assert alarm.kind == "split-view" and alarm.details["witness_size"] == size
        assert alarm.checkpoints[0] == served.files["checkpoint"]


def test_evidence_a_witness_kept_is_checked_by_the_monitor(tmp_path: Path) -> None:
    log = TreeLog.new(size=50)
    served = ServedLog(log)
    served.publish()
    digest = origin_hash(log.origin)
    witness = ServedLog(log)
    witness.files[f"{digest}/checkpoint"] = log.checkpoint().encode()
    fork = log.fork(20, 30)
    forged = TreeLog(Ed25519NoteSigner.generate(log.origin), fork.entries)  # not the log's key
    items = [
        {"kind": "fork", "cosigned": forged.checkpoint().encode().decode(),
         "refused": log.checkpoint().encode().decode()},  # ignored: not two log-signed notes
        {"kind": "fork", "cosigned": log.checkpoint().encode().decode(),
         "refused": fork.checkpoint().encode().decode()},
    ]  # fmt: skip
    witness.files[f"{digest}/evidence"] = json.dumps({"evidence": items[:1]}).encode()
    assert not _round(served, tmp_path, witnesses=[("http://w", witness.fetch)]).alarms
    witness.files[f"{digest}/evidence"] = json.dumps({"evidence": items}).encode()
    (alarm,) = _round(served, tmp_path, witnesses=[("http://w", witness.fetch)]).alarms
    assert alarm.kind == "witness-evidence" and "two roots for tree size 50" in alarm.message
    assert alarm.checkpoints == (log.checkpoint().encode(), fork.checkpoint().encode())
    witness.files[f"{digest}/evidence"] = b"not json"
    assert not _round(served, tmp_path, witnesses=[("http://w", witness.fetch)]).alarms
