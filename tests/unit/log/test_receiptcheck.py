"""Entries judged as receipts: inline and on a worker pool give the same findings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import sign_exchange
from llmseal.log.entry import receipt_entry
from llmseal.log.monitor import receiptcheck
from llmseal.log.monitor.receiptcheck import ReceiptChecker, judge_entries

AT = datetime(2026, 3, 1, tzinfo=UTC)


def _entries() -> tuple[KeySet, list[bytes], str]:
    issuer, stranger = Ed25519Signer.generate("i/1"), Ed25519Signer.generate("s/1")
    keys = KeySet([KeyEntry(issuer.key_id, issuer.public_key())])
    entries = []
    for i in range(40):
        signer = stranger if i % 13 == 5 else issuer
        r = sign_exchange(signer, model_id="m", request=REQUEST, response=RESPONSE,
                          at=AT + timedelta(seconds=i))  # fmt: skip
        entries.append(receipt_entry(r))
    entries[7] = b"{}"
    return keys, entries, issuer.key_id


def test_inline_findings() -> None:
    keys, entries, watched = _entries()
    valid, findings = judge_entries(100, entries, keys, {"s/1"})
    statuses = {f.index: f.status for f in findings}
    assert statuses == {
        105: "unknown_key",
        107: "malformed",
        118: "unknown_key",
        131: "unknown_key",
    }
    assert valid == 36
    # Without keys nothing is verified; watched keys are still listed.
    valid, findings = judge_entries(0, entries, None, {watched})
    assert valid == 0 and len(findings) == 36 and {f.status for f in findings} == {"unchecked"}


def test_a_worker_pool_gives_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    keys, entries, _ = _entries()
    monkeypatch.setattr(receiptcheck, "POOL_THRESHOLD", 1)
    pooled = ReceiptChecker(keys, {"s/1"}, workers=2, expected=len(entries))
    assert pooled._pool is not None
    inline = ReceiptChecker(keys, {"s/1"}, workers=1, expected=len(entries))
    for checker in (pooled, inline):
        for start in range(0, 40, 16):
            checker.submit(start, entries[start : start + 16])
        checker.finish()
    assert pooled.valid == inline.valid == 36
    assert pooled.findings == inline.findings and len(pooled.findings) == 4
    assert pooled._pool is None  # shut down
