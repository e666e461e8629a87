"""The receipt and response parsers, and ``llmseal verify`` on every file type, fuzzed.

Each input is a sealed artifact with a random mutation. Outcomes allowed: an
llmseal error (CLI exit 2, or 1 for a verdict), or ``valid`` over content that
hashes exactly as signed. Never a crash (CLI exit 3), never a false ``valid``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.client.verifier import ResponseVerifier
from llmseal.core.hashing import hash_response
from llmseal.core.receipt import Receipt
from llmseal.core.sign import sign_exchange
from llmseal.errors import Error
from tests.conftest import CliResult
from tests.fuzz.test_fuzz_streams import KEYS, SEALED, SIGNER
from tests.helpers import examples

ENDPOINT = "/v1/chat/completions"
RECEIPT = sign_exchange(
    SIGNER, model_id="m", request=REQUEST, response=RESPONSE, at=datetime.now(UTC),
    claims={"endpoint": ENDPOINT, "status_code": 200},
)  # fmt: skip
BODY = orjson.dumps({**RESPONSE, "receipt": RECEIPT.to_dict()})
SIGNED_OUTPUT = hash_response(RESPONSE)


@st.composite
def mutation(draw: st.DrawFn, data: bytes) -> bytes:
    how = draw(st.sampled_from(["none", "flip", "cut", "insert", "splice"]))
    event(how)
    if how == "none":
        return data
    at = draw(st.integers(0, len(data) - 1))
    if how == "flip":
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
    if how == "cut":
        return data[:at]
    if how == "insert":
        return data[:at] + draw(st.binary(min_size=1, max_size=30)) + data[at:]
    piece = draw(st.sampled_from([b"18446744073709551617", b'"\\ud800"', b"NaN", b"{}", b","]))
    return data[:at] + piece + data[at:]


@settings(max_examples=examples(500))
@given(st.data())
def test_a_mutated_sealed_answer_is_refused_or_the_signed_content(data: st.DataObject) -> None:
    body = data.draw(mutation(BODY))
    verifier = ResponseVerifier(KEYS)
    try:
        result = verifier.check_body(ENDPOINT, orjson.dumps(REQUEST), body, 200)
    except Error:
        event("refused")
        return
    event("accepted")
    assert result is not None and result.status.value == "valid"
    assert hash_response(orjson.loads(body)) == SIGNED_OUTPUT


@settings(max_examples=examples(500))
@given(st.data())
def test_the_receipt_parser_accepts_only_receipts(data: st.DataObject) -> None:
    text = data.draw(mutation(orjson.dumps(RECEIPT.to_dict())) | st.binary(max_size=200))
    try:
        receipt = Receipt.from_json(text)
    except Error:
        event("refused")
        return
    event("parsed")
    assert receipt.to_dict() == orjson.loads(text)


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_llmseal_verify_on_every_file_type(
    data: st.DataObject, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    kind = data.draw(st.sampled_from(["receipt", "response", "stream"]))
    original = {
        "receipt": orjson.dumps(RECEIPT.to_dict()), "response": BODY, "stream": SEALED,
    }[kind]  # fmt: skip
    content = data.draw(mutation(original))
    path = tmp_path / f"input.{kind}"
    path.write_bytes(content)
    keys = tmp_path / "keys.json"
    keys.write_bytes(orjson.dumps(KEYS.to_dict()))
    result = cli("verify", path, "--keys", keys, "--json")
    event(f"{kind}: exit {result.status}")
    assert result.status in (0, 1, 2), result.stderr  # 3 would be an internal error
    assert "Traceback" not in result.stderr
    if result.status == 2:
        assert result.stderr.count("\n") == 1  # one readable line
    if result.status == 0:
        assert result.json()["status"] == "valid"
        if content != original:  # accepted after a change: only a change JSON ignores
            event(f"{kind}: accepted a semantically equal change")
