"""The logged-receipt vectors the JS tests read verify with the Python log code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmseal.errors import LogError
from llmseal.log import load_verifier, verify_log_proof
from llmseal.log.entry import receipt_entry
from tests.unit.js import log_vectors

DATA: dict[str, Any] = json.loads(log_vectors.OUT.read_text(encoding="utf-8"))
PROVES = {"early": "early", "ok": "ok", "backdated": "backdated", "ok-one-witness": "ok"}


@pytest.mark.parametrize("proof", sorted(PROVES))
def test_each_proof_verifies_for_its_receipt_only(proof: str) -> None:
    verifier = load_verifier(DATA["log_vkey"])
    text = DATA["proofs"][proof]
    proven = verify_log_proof(
        text, receipt_entry(DATA["receipts"][PROVES[proof]]), origin=log_vectors.ORIGIN,
        verifiers=[verifier],
    )  # fmt: skip
    assert proven.tree_size in (14, 16)
    other = "early" if PROVES[proof] != "early" else "ok"
    with pytest.raises(LogError):
        verify_log_proof(
            text, receipt_entry(DATA["receipts"][other]), origin=log_vectors.ORIGIN,
            verifiers=[verifier],
        )  # fmt: skip
    with pytest.raises(LogError):
        verify_log_proof(
            text, receipt_entry(DATA["receipts"][PROVES[proof]]), origin=log_vectors.ORIGIN,
            verifiers=[load_verifier(DATA["other_log_vkey"])],
        )  # fmt: skip


def test_the_file_matches_its_generator() -> None:
    written: list[str] = []
    log_vectors.main(written.append)
    assert json.loads(written[0]) == DATA  # Ed25519 everywhere: fully deterministic
