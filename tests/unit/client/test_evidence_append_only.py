"""Issue 9, defect 6: a refused receipt never overwrites the evidence of an accepted one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from llmseal.client.verifier import ResponseVerifier
from llmseal.core.keys import Ed25519Signer
from llmseal.errors import VerificationError
from llmseal.store.evidence import EvidenceStore
from tests.unit.client.conftest import ENDPOINT, Issuer


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_forged_receipt_reusing_an_honest_id_leaves_the_honest_sample(
    issuer: Issuer, make_verifier: Callable[..., ResponseVerifier], tmp_path: Path
) -> None:
    store = EvidenceStore(tmp_path)
    verifier = make_verifier(evidence=store, sample_rate=1.0)
    request, honest = issuer.seal(claims={"issuer": "api.example"})
    receipt_id = json.loads(honest)["receipt"]["receipt_id"]
    verifier.check_body(ENDPOINT, request, honest, 200)
    store.flush()
    honest_dir = next((tmp_path / "verification_samples").rglob("manifest.json")).parent
    before = _files(honest_dir)
    forger = Ed25519Signer.generate("relay-key")
    forged_response = {"id": "x", "choices": [{"message": {"content": "forged"}}]}
    _, forged = issuer.seal(
        claims={"issuer": "api.example"}, receipt_id=receipt_id, signer=forger,
        response=forged_response,
    )  # fmt: skip
    with pytest.raises(VerificationError):
        verifier.check_body(ENDPOINT, request, forged, 200)
    store.flush()
    assert _files(honest_dir) == before  # untouched, byte for byte
    folders = sorted(p.parent for p in (tmp_path / "verification_samples").rglob("manifest.json"))
    assert len(folders) == 2
    records = {r.status: r for r in store.list()}
    assert records["valid"].receipt_id == records["unknown_key"].receipt_id == receipt_id
    accepted, refused = (
        store.sample_path(records["valid"]),
        store.sample_path(records["unknown_key"]),
    )
    assert accepted == honest_dir and refused is not None and refused != accepted
    assert b"forged" in (refused / "response.json").read_bytes()
