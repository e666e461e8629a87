"""Issue 9, defect 9: strings from the wire never reach a terminal as control sequences."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from llmseal.cli._common import terminal_safe
from llmseal.client.verifier import ResponseVerifier
from llmseal.core.keys import Ed25519Signer
from llmseal.core.receipt import Receipt
from llmseal.errors import MalformedReceiptError, VerificationError
from llmseal.store.evidence import EvidenceStore
from llmseal.store.evidencerecord import EvidenceRecord
from tests.conftest import CliResult
from tests.unit.client.conftest import ENDPOINT, Issuer

HOSTILE = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202eevil"


def _raw_controls(text: str) -> list[str]:
    return [ch for ch in text if not ch.isprintable() and ch not in "\n"]


def test_a_refused_receipt_with_escapes_in_its_issuer_leaves_the_listing_clean(
    issuer: Issuer,
    make_verifier: Callable[..., ResponseVerifier],
    tmp_path: Path,
    cli: Callable[..., CliResult],
) -> None:
    store = EvidenceStore(tmp_path)
    _, forged = issuer.seal(claims={"issuer": HOSTILE}, signer=Ed25519Signer.generate("relay"))
    request, _ = issuer.seal()
    with pytest.raises(VerificationError):
        make_verifier(evidence=store).check_body(ENDPOINT, request, forged, 200)
    store.close()
    for args in (("evidence", "list"), ("evidence", "list", "--json")):
        listing = cli(*args, "--data-dir", tmp_path)
        assert listing.status == 0
        assert _raw_controls(listing.stdout + listing.stderr) == []


def test_a_stored_hostile_issuer_is_printed_escaped(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """A store written before claims were checked may hold raw escapes: printing escapes them."""
    store = EvidenceStore(tmp_path)
    store.record(EvidenceRecord(
        receipt_id="r1", status="unknown_key", issuer=HOSTILE, key_id="k", model_id="m\x1b[1m",
        issued_at="2026-01-01T00:00:00Z", verified_at="2026-01-01T00:00:01Z", nonce="n",
        prompt_hash="a" * 64, output_hash="b" * 64, endpoint=ENDPOINT, reasons=(HOSTILE,),
        receipt=b"{}",
    ))  # fmt: skip
    store.close()
    table = cli("evidence", "list", "--data-dir", tmp_path)
    assert _raw_controls(table.stdout) == []
    assert "\\x1b]0;owned" in table.stdout  # shown, as text
    as_json = cli("evidence", "list", "--data-dir", tmp_path, "--json")
    assert _raw_controls(as_json.stdout) == []
    assert as_json.json()[0]["issuer"] == HOSTILE  # the JSON still means the same
    shown = cli("evidence", "show", "r1", "--data-dir", tmp_path)
    assert _raw_controls(shown.stdout) == [] and shown.json()["reasons"] == [HOSTILE]


def test_an_error_naming_a_wire_string_is_escaped(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    missing = cli("evidence", "show", HOSTILE, "--data-dir", tmp_path)
    assert missing.status == 2 and _raw_controls(missing.stderr) == []


@pytest.mark.parametrize("claim", [HOSTILE, "a\nb", "", 7, {"x": 1}])
def test_the_issuer_claim_must_be_a_plain_identifier(claim: object, issuer: Issuer) -> None:
    _, body = issuer.seal()
    data = orjson.loads(body)["receipt"]
    with pytest.raises(MalformedReceiptError, match="issuer"):
        Receipt.from_dict({**data, "issuer": claim})


def test_terminal_safe_leaves_ordinary_text_alone() -> None:
    assert terminal_safe("api.example — 日本 ok") == "api.example — 日本 ok"
    assert terminal_safe("\x1b\x07\x9b\u202e") == "\\x1b\\x07\\x9b\\u202e"
