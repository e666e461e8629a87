"""The log service: admission codes, durable indices, duplicates, proofs, lookups."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from llmseal.core.canonical import canonicalize
from llmseal.errors import KeyManagementError, LogAdmissionError
from llmseal.log.entry import receipt_entry
from llmseal.log.note.notekeys import Ed25519NoteSigner
from llmseal.log.service.service import TransparencyLog, init_log, read_log_info
from llmseal.log.tree.merkle import leaf_hash
from llmseal.log.tree.proof import verify_log_proof
from llmseal.log.tree.tilereader import TileLog
from tests.unit.log.conftest import ORIGIN

Maker = Callable[..., dict[str, Any]]
Opener = Callable[..., TransparencyLog]


def test_init_writes_a_private_key_and_an_empty_signed_tree(log_dir: Path) -> None:
    info = read_log_info(log_dir)
    assert info["origin"] == ORIGIN and info["vkey"].startswith(ORIGIN + "+")
    assert stat.S_IMODE((log_dir / "log.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((log_dir / "state").stat().st_mode) == 0o700
    assert "PRIVATE" not in "".join(
        p.read_text() for p in (log_dir / "public").rglob("*") if p.is_file()
    )
    signer_vkey = Ed25519NoteSigner.from_skey((log_dir / "log.key").read_text()).vkey()
    assert signer_vkey == info["vkey"]
    tl = TileLog.directory(log_dir / "public", ORIGIN, [_verifier(info["vkey"])])
    assert tl.checkpoint().size == 0
    with pytest.raises(KeyManagementError, match="already holds a log"):
        init_log(log_dir, ORIGIN)


def _verifier(vkey: str):  # type: ignore[no-untyped-def]
    from llmseal.log.note.notekeys import load_verifier

    return load_verifier(vkey)


def test_add_prove_lookup(open_log: Opener, make_receipt: Maker) -> None:
    log = open_log()
    receipts = [make_receipt(i) for i in range(300)]
    results = [log.submit(r) for r in receipts]
    indices = [f.result(10).index for f in results]
    assert sorted(indices) == list(range(300))
    for receipt, index in zip(receipts, indices, strict=True):
        proof = log.prove_published(index, timeout=10)
        got = verify_log_proof(
            proof.encode(), receipt_entry(receipt), origin=ORIGIN, verifiers=[log.verifier]
        )
        assert got.index == index
        assert log.locate(receipt["receipt_id"]).index == index  # type: ignore[union-attr]
        assert log.locate(leaf_hash(receipt_entry(receipt)).hex()).index == index  # type: ignore[union-attr]
    assert log.locate("no-such-receipt") is None
    # every entry in the public files is a submitted receipt, byte for byte
    tl = TileLog.directory(log.storage.root / "public", ORIGIN, [log.verifier])  # type: ignore[attr-defined]
    latest = tl.checkpoint()
    assert tl.verify_entries(latest) == 300
    logged = {e: i for i, e in enumerate(tl.entries(300))}
    assert all(logged[canonicalize(r)] == i for r, i in zip(receipts, indices, strict=True))


def test_duplicate_returns_the_existing_index(open_log: Opener, make_receipt: Maker) -> None:
    log = open_log()
    receipt = make_receipt(7)
    first = log.add(receipt)
    again = log.add(orjson.dumps(receipt, option=orjson.OPT_INDENT_2))  # other spelling, same leaf
    assert (again.index, again.duplicate, first.duplicate) == (first.index, True, False)
    twin = make_receipt(8)
    both = [log.submit(twin), log.submit(twin)]  # in one batch
    a, b = (f.result(10) for f in both)
    assert a.index == b.index and {a.duplicate, b.duplicate} == {False, True}
    assert log.storage.sequenced_size() == 2


def test_bad_entries_get_their_status(
    open_log: Opener, make_receipt: Maker, issuer_keys: Any
) -> None:
    log = open_log()
    good = make_receipt(1)
    forged = dict(good, model_id="lab/other")
    stranger = dict(good, key_id="someone-else")
    cases: list[tuple[bytes | dict[str, Any], int, str]] = [
        (b"{not json", 400, "malformed"),
        (b"[1, 2]", 400, "malformed"),
        (json.dumps({"receipt_id": "x"}).encode(), 400, "malformed"),
        (forged, 403, "unverified"),
        (stranger, 403, "unverified"),
        (make_receipt(2, padding="x" * 70_000), 413, "too_large"),
    ]
    for body, status, code in cases:
        with pytest.raises(LogAdmissionError) as info:
            if isinstance(body, bytes):
                log.admission.admit_body(body)
            else:
                log.submit(body)
        assert (info.value.status, info.value.code) == (status, code), body
    assert log.storage.sequenced_size() == 0  # nothing bad reached the log
    entries, batched = log.admission.admit_body(orjson.dumps([good, make_receipt(3)]))
    assert batched and len(entries) == 2
    with pytest.raises(LogAdmissionError, match="receipt 1 of the batch"):
        log.admission.admit_body(orjson.dumps([good, forged]))


def test_reopen_keeps_everything(open_log: Opener, make_receipt: Maker, log_dir: Path) -> None:
    log = open_log()
    receipts = [make_receipt(i) for i in range(40)]
    first = [log.add(r).index for r in receipts]
    log.close()  # publishes what is sequenced
    published = (log_dir / "public" / "checkpoint").read_bytes()
    again = open_log()
    assert again.checkpoint().encode() == published and again.checkpoint().size == 40
    assert [again.add(r).index for r in receipts] == first  # all duplicates
    new = again.add(make_receipt(40))
    assert new.index == 40 and not new.duplicate


def test_a_second_process_cannot_open_the_log(
    open_log: Opener, log_dir: Path, issuer_keys: Any
) -> None:
    open_log()
    from llmseal.errors import LogUnavailableError

    with pytest.raises(LogUnavailableError, match="another process"):
        TransparencyLog.open(log_dir, keys=issuer_keys)


def test_key_file_must_stay_private(log_dir: Path, issuer_keys: Any) -> None:
    (log_dir / "log.key").chmod(0o644)
    with pytest.raises(KeyManagementError, match="chmod 600"):
        TransparencyLog.open(log_dir, keys=issuer_keys)
