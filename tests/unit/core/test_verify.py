"""Verification: v0.3 statuses and precedence, revocation as of issuance, tampering."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from llmseal.core.keys import EcdsaP256Signer, Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.receipt import CORE_MEMBERS, RESERVED_MEMBERS, Receipt
from llmseal.core.sign import issue_receipt, sign_exchange
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import Error, MalformedReceiptError, VerificationError
from tests.helpers import examples

HEX = "ab" * 32


def test_official_vectors_with_both_keyset_shapes(attest_vectors: dict[str, Any]) -> None:
    for shape in (attest_vectors["keyset"], {"keys": attest_vectors["keyset"]}):
        keyset = KeySet.from_obj(shape)
        for case in attest_vectors["cases"]:
            assert verify_receipt(case["receipt"], keyset).status == case["expected"]


def test_valid_with_content(
    receipt: Receipt, keyset: KeySet, request_body: Any, response_body: Any
) -> None:
    result = verify_receipt(receipt, keyset, prompt=request_body, output=response_body)
    assert result.status is Status.VALID
    assert result.content_checked == ("prompt", "output")
    result.raise_for_status()


def test_content_as_text_pretty_or_reordered(
    receipt: Receipt, keyset: KeySet, request_body: Any, response_body: Any
) -> None:
    prompt = json.dumps(dict(reversed(list(request_body.items()))), indent=3)
    output = json.dumps(response_body, indent=1, ensure_ascii=True).encode()
    assert verify_receipt(receipt.to_dict(), keyset, prompt=prompt, output=output)


def test_gateway_members_are_not_part_of_the_output(
    receipt: Receipt, keyset: KeySet, response_body: Any
) -> None:
    delivered = dict(response_body, receipt=receipt.to_dict(), llm_sign={"artifact": {}})
    assert verify_receipt(receipt, keyset, output=delivered)


@pytest.mark.parametrize("which", ["prompt", "output"])
def test_changed_content_is_tampered(
    receipt: Receipt, keyset: KeySet, request_body: Any, response_body: Any, which: str
) -> None:
    prompt, output = copy.deepcopy(request_body), copy.deepcopy(response_body)
    if which == "prompt":
        prompt["messages"][1]["content"] += "?"
    else:
        output["usage"]["total_tokens"] += 1  # unsigned in llm_sign; bound here
    result = verify_receipt(receipt, keyset, prompt=prompt, output=output)
    assert result.status is Status.TAMPERED
    assert any(which in reason for reason in result.reasons)
    with pytest.raises(VerificationError, match="tampered"):
        result.raise_for_status()


def _revocable(signer: Ed25519Signer, created: datetime, rotated: datetime) -> KeySet:
    entry = KeyEntry(signer.key_id, signer.public_key(), "active", created)
    return KeySet([entry.revoked(rotated)])


def _issue(signer: Ed25519Signer, at: datetime, **claims: Any) -> Receipt:
    return issue_receipt(
        signer, model_id="m/x", prompt_hash=HEX, output_hash=HEX, at=at, claims=claims
    )


def test_revocation_is_as_of_issuance(signer: Ed25519Signer, t0: datetime) -> None:
    revoked_at = t0 + timedelta(days=10)
    keyset = _revocable(signer, t0 - timedelta(days=30), revoked_at)
    before = _issue(signer, revoked_at - timedelta(seconds=1))
    at_the_moment = _issue(signer, revoked_at)
    after = _issue(signer, revoked_at + timedelta(days=1))
    assert verify_receipt(before, keyset).status is Status.VALID
    assert verify_receipt(at_the_moment, keyset).status is Status.REVOKED
    assert verify_receipt(after, keyset).status is Status.REVOKED


def test_revoked_without_a_timeline_is_always_revoked(signer: Ed25519Signer, t0: datetime) -> None:
    keyset = KeySet([KeyEntry(signer.key_id, signer.public_key(), "revoked", None, None)])
    assert verify_receipt(_issue(signer, t0), keyset).status is Status.REVOKED


def test_tampered_under_revoked_key_is_revoked(signer: Ed25519Signer, t0: datetime) -> None:
    keyset = _revocable(signer, t0 - timedelta(days=30), t0 - timedelta(days=1))
    wire = _issue(signer, t0).to_dict()
    wire["model_id"] = "m/forged"
    result = verify_receipt(wire, keyset)
    assert result.status is Status.REVOKED
    assert any("signature" in r for r in result.reasons), "every problem is reported"


def test_unknown_key_wins_over_everything(signer: Ed25519Signer, t0: datetime) -> None:
    wire = _issue(signer, t0).to_dict()
    wire["key_id"] = "someone-else"
    assert verify_receipt(wire, KeySet()).status is Status.UNKNOWN_KEY


def test_non_ascii_and_html_characters_in_claims(
    signer: Ed25519Signer, keyset: KeySet, t0: datetime
) -> None:
    receipt = issue_receipt(
        signer,
        model_id="lab.例え/モデル-<1>&",
        prompt_hash=HEX,
        output_hash=HEX,
        at=t0,
        claims={"issuer": "<script>&amp;</script>", "名前": "Zürich 😀", "\ue000": "\U0001f600"},
    )
    assert verify_receipt(json.loads(json.dumps(receipt.to_dict())), keyset)
    assert verify_receipt(json.loads(json.dumps(receipt.to_dict(), ensure_ascii=False)), keyset)


def test_weight_hash_is_signed(signer: Ed25519Signer, keyset: KeySet, t0: datetime) -> None:
    receipt = issue_receipt(
        signer, model_id="m/x", prompt_hash=HEX, output_hash=HEX, at=t0, weight_hash="cd" * 32
    )
    wire = receipt.to_dict()
    assert wire["weight_hash"] == "cd" * 32
    assert verify_receipt(wire, keyset)
    wire["weight_hash"] = "ef" * 32
    assert verify_receipt(wire, keyset).status is Status.TAMPERED
    del wire["weight_hash"]
    assert verify_receipt(wire, keyset).status is Status.TAMPERED


def test_extension_claims_are_signed(receipt: Receipt, keyset: KeySet) -> None:
    for change in ({"usage": {"total_tokens": 1}}, {"issuer": "relay.example"}, {"extra": 1}):
        wire = dict(receipt.to_dict(), **change)
        assert verify_receipt(wire, keyset).status is Status.TAMPERED, change
    stripped = {k: v for k, v in receipt.to_dict().items() if k != "usage"}
    assert verify_receipt(stripped, keyset).status is Status.TAMPERED


def test_p256_keys(t0: datetime) -> None:
    signer = EcdsaP256Signer.generate("p256-key")
    keyset = KeySet.from_obj({"keys": [KeyEntry(signer.key_id, signer.public_key()).to_dict()]})
    receipt = issue_receipt(signer, model_id="m/x", prompt_hash=HEX, output_hash=HEX, at=t0)
    assert verify_receipt(receipt, keyset)
    wire = dict(receipt.to_dict(), model_id="m/y")
    assert verify_receipt(wire, keyset).status is Status.TAMPERED


def test_signature_from_another_key_is_tampered(receipt: Receipt, t0: datetime) -> None:
    other = Ed25519Signer.generate(receipt.key_id)
    keyset = KeySet([KeyEntry(other.key_id, other.public_key())])
    assert verify_receipt(receipt, keyset).status is Status.TAMPERED


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "A" * 88,
        "not base64 at all",
        " " + "A" * 87,
        "A" * 86,  # unpadded standard form of a 64-byte value
    ],
)
def test_bad_signature_encodings_are_tampered(
    receipt: Receipt, keyset: KeySet, signature: str
) -> None:
    wire = dict(receipt.to_dict(), signature=signature)
    assert verify_receipt(wire, keyset).status is Status.TAMPERED


def test_base64url_signature_form_is_accepted(receipt: Receipt, keyset: KeySet) -> None:
    import base64

    raw = base64.b64decode(receipt.signature)
    url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert verify_receipt(dict(receipt.to_dict(), signature=url), keyset)


def _mutations(value: Any) -> st.SearchStrategy[Any]:
    """Any other JSON value of the same type (content and extension claims)."""
    if isinstance(value, str):
        return st.text(min_size=0, max_size=70).filter(lambda s: s != value)
    if isinstance(value, bool):
        return st.just(not value)
    if isinstance(value, int):
        return st.integers(-(2**53) + 1, 2**53 - 1).filter(lambda n: n != value)
    return st.recursive(
        st.none() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
        lambda s: st.lists(s, max_size=3) | st.dictionaries(st.text(max_size=5), s, max_size=3),
    ).filter(lambda v: v != value)


_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_IDENTIFIER = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40)
# Well-formed replacements for each member, so every change reaches the signature check
# (a malformed one is refused before it, which tests the parser, not the signature).
_WELL_FORMED: dict[str, st.SearchStrategy[Any]] = {
    "receipt_id": st.uuids(version=4).map(str) | _IDENTIFIER,
    "model_id": _IDENTIFIER,
    "key_id": _IDENTIFIER,
    "issuer": _IDENTIFIER,  # a claim with the identifiers' rule (issue 9)
    "prompt_hash": st.binary(min_size=32, max_size=32).map(bytes.hex),
    "output_hash": st.binary(min_size=32, max_size=32).map(bytes.hex),
    "weight_hash": st.binary(min_size=32, max_size=32).map(bytes.hex),
    "nonce": st.tuples(st.text(_B64URL, min_size=21, max_size=21), st.sampled_from("AQgw")).map(
        "".join
    ),
    "issued_at": st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
    ),
}


def _replacement(member: str, value: Any) -> st.SearchStrategy[Any]:
    return _WELL_FORMED.get(member, _mutations(value)).filter(lambda v: v != value)


def _expected(wire: dict[str, Any], keyset: KeySet) -> Status:
    return Status.TAMPERED if wire["key_id"] in keyset else Status.UNKNOWN_KEY


@settings(max_examples=examples(400), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_change_to_a_signed_member_is_tampered(
    data: st.DataObject, receipt: Receipt, keyset: KeySet
) -> None:
    wire = receipt.to_dict()
    member = data.draw(st.sampled_from(sorted(k for k in wire if k != "signature")))
    wire[member] = data.draw(_replacement(member, wire[member]))
    event(f"changed {member}")
    # Every replacement is well formed: the receipt parses, and only the signature can object.
    result = verify_receipt(wire, keyset)
    assert result.status is _expected(wire, keyset)
    if result.status is Status.TAMPERED:
        assert result.reasons[0] == f"signature does not verify with key {receipt.key_id!r}"


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_added_removed_or_renamed_member_is_tampered(
    data: st.DataObject, receipt: Receipt, keyset: KeySet
) -> None:
    wire = receipt.to_dict()
    claims = sorted(k for k in wire if k not in RESERVED_MEMBERS)
    how = data.draw(st.sampled_from(["add", "remove", "rename"]))
    event(how)
    new_name = st.text(min_size=1, max_size=10).filter(lambda n: n not in wire)
    if how == "add":
        wire[data.draw(new_name)] = data.draw(st.none() | st.integers(-5, 5) | st.text(max_size=5))
    else:
        name = data.draw(st.sampled_from(claims))
        value = wire.pop(name)
        if how == "rename":
            wire[data.draw(new_name)] = value
    result = verify_receipt(wire, keyset)
    assert result.status is Status.TAMPERED


def test_renaming_or_removing_a_core_member_is_refused(receipt: Receipt, keyset: KeySet) -> None:
    for member in CORE_MEMBERS:
        for wire in (
            {k: v for k, v in receipt.to_dict().items() if k != member},
            {(k + "_" if k == member else k): v for k, v in receipt.to_dict().items()},
        ):
            with pytest.raises(MalformedReceiptError, match=f"'{member}' is missing"):
                verify_receipt(wire, keyset)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            out += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            out += _paths(inner, (*prefix, index))
    return out


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_change_to_supplied_content_is_never_valid(
    data: st.DataObject, receipt: Receipt, keyset: KeySet, request_body: Any, response_body: Any
) -> None:
    which = data.draw(st.sampled_from(["prompt", "output"]))
    content = copy.deepcopy(request_body if which == "prompt" else response_body)
    path = data.draw(st.sampled_from(_paths(content)))
    parent = content
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = data.draw(_mutations(parent[path[-1]]))
    prompt = content if which == "prompt" else request_body
    output = content if which == "output" else response_body
    event(f"changed the {which}")
    # Every replacement is JSON that canonicalizes (safe integers, no lone surrogates).
    result = verify_receipt(receipt, keyset, prompt=prompt, output=output)
    assert result.status is Status.TAMPERED
    assert result.reasons == (f"the supplied {which} does not match {which}_hash",)


def test_sign_exchange_refuses_claims_that_redefine_core_members(
    signer: Ed25519Signer, t0: datetime
) -> None:
    with pytest.raises(Error, match="redefine"):
        sign_exchange(signer, model_id="m/x", request={}, response={}, at=t0, claims={"nonce": "x"})


def test_raw_content_mode(signer: Ed25519Signer, keyset: KeySet, t0: datetime) -> None:
    import hashlib

    prompt, output = b"plain text prompt", b'{"a": 1}'
    receipt = issue_receipt(
        signer,
        model_id="m/x",
        prompt_hash=hashlib.sha256(prompt).hexdigest(),
        output_hash=hashlib.sha256(output).hexdigest(),
        at=t0,
    )
    assert verify_receipt(receipt, keyset, prompt=prompt, output=output, raw=True)
    assert not verify_receipt(receipt, keyset, prompt=prompt, output=b'{"a":1}', raw=True)


def test_receipt_ids_are_version_4_uuids(signer: Ed25519Signer, t0: datetime) -> None:
    import uuid

    receipt = _issue(signer, t0)
    parsed = uuid.UUID(receipt.receipt_id)
    assert parsed.version == 4 and str(parsed) == receipt.receipt_id


def test_p256_high_s_twin_is_refused(t0: datetime) -> None:
    import base64

    from llmseal.core.keys import P256_ORDER

    signer = EcdsaP256Signer.generate("p256")
    keyset = KeySet([KeyEntry(signer.key_id, signer.public_key())])
    receipt = issue_receipt(signer, model_id="m/x", prompt_hash=HEX, output_hash=HEX, at=t0)
    raw = base64.b64decode(receipt.signature)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    assert s <= P256_ORDER // 2  # we only ever emit the low-s form
    twin = r.to_bytes(32, "big") + (P256_ORDER - s).to_bytes(32, "big")
    forged = dict(receipt.to_dict(), signature=base64.b64encode(twin).decode())
    assert verify_receipt(receipt, keyset).status is Status.VALID
    assert verify_receipt(forged, keyset).status is Status.TAMPERED


def _flip_trailing_bits(text: str) -> str:
    """The same 64 bytes spelled differently: the last data character's unused low bits set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    alphabet += "-_" if "=" not in text else "+/"
    core = text.rstrip("=")
    last = alphabet.index(core[-1])
    assert last & 0b1111 == 0  # 64 bytes: the 86th character carries 2 bits, 4 are padding
    return core[:-1] + alphabet[last | 0b0101] + text[len(core) :]


@pytest.mark.parametrize("form", ["standard", "urlsafe"])
def test_a_valid_signature_spelled_non_canonically_is_tampered(
    receipt: Receipt, keyset: KeySet, form: str
) -> None:
    import base64

    raw = base64.b64decode(receipt.signature)
    canonical = receipt.signature
    if form == "urlsafe":
        canonical = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    twin = _flip_trailing_bits(canonical)
    assert twin != canonical
    # A lenient decoder reads the same (valid) signature bytes from the twin spelling.
    assert base64.b64decode(twin + "=" * (-len(twin) % 4), altchars=b"-_") == raw
    assert verify_receipt(dict(receipt.to_dict(), signature=canonical), keyset)
    result = verify_receipt(dict(receipt.to_dict(), signature=twin), keyset)
    assert result.status is Status.TAMPERED
    assert result.reasons == ("signature is not a canonical base64 encoding of 64 bytes",)


def test_verification_to_dict_and_raise_for_status(
    receipt: Receipt, keyset: KeySet, request_body: Any, response_body: Any
) -> None:
    valid = verify_receipt(receipt, keyset, prompt=request_body)
    assert valid.to_dict() == {
        "status": "valid", "key_id": receipt.key_id, "issued_at": receipt.issued_at,
        "receipt_id": receipt.receipt_id, "model_id": receipt.model_id,
        "content_checked": ["prompt"], "reasons": [],
    }  # fmt: skip
    valid.raise_for_status()  # a valid verdict does not raise
    assert bool(valid) is True
    edited = dict(response_body, id="other")
    tampered = verify_receipt(receipt, keyset, output=edited)
    assert tampered.to_dict()["reasons"] == ["the supplied output does not match output_hash"]
    with pytest.raises(VerificationError) as info:
        tampered.raise_for_status()
    assert str(info.value) == (
        f"receipt {receipt.receipt_id} is tampered: the supplied output does not match output_hash"
    )
    assert info.value.status == "tampered" and info.value.reasons == tampered.reasons
    bare = verify_receipt(receipt, keyset).__class__(Status.REVOKED, receipt)  # no reasons
    with pytest.raises(VerificationError) as info:
        bare.raise_for_status()
    assert str(info.value) == f"receipt {receipt.receipt_id} is revoked: revoked"
    assert bool(bare) is False


def test_unknown_key_and_revocation_reasons(signer: Ed25519Signer, t0: datetime) -> None:
    receipt = _issue(signer, t0)
    unknown = verify_receipt(receipt, KeySet())
    assert unknown.reasons == (f"key_id {signer.key_id!r} is not in the key set",)
    assert unknown.key is None and unknown.content_checked == ()
    keyset = _revocable(signer, t0 - timedelta(days=30), t0 - timedelta(days=1))
    revoked = verify_receipt(receipt, keyset)
    since = (t0 - timedelta(days=1)).isoformat()
    assert revoked.reasons == (f"key {signer.key_id!r} is revoked since {since}",)
    no_time = KeySet([KeyEntry(signer.key_id, signer.public_key(), "revoked")])
    assert verify_receipt(receipt, no_time).reasons == (
        f"key {signer.key_id!r} is revoked since an unknown time",
    )
    early = KeySet([KeyEntry(signer.key_id, signer.public_key(), "active", t0 + timedelta(1))])
    result = verify_receipt(receipt, early)
    assert result.status is Status.VALID  # a warning, not a verdict
    assert result.reasons == ("issued_at is before the key was created",)
    assert verify_receipt(receipt, KeySet([KeyEntry(signer.key_id, signer.public_key(), "active",
                                                    t0)])).reasons == ()  # fmt: skip


def test_a_key_source_that_says_why_is_an_unknown_key(signer: Ed25519Signer, t0: datetime) -> None:
    from llmseal.errors import KeyLookupError

    class Refusing:
        def resolve(self, key_id: str) -> KeyEntry | None:
            raise KeyLookupError("the record is bogus", code="dnssec_bogus")

    result = verify_receipt(_issue(signer, t0), Refusing())
    assert result.status is Status.UNKNOWN_KEY
    assert len(result.reasons) == 1 and "the record is bogus" in result.reasons[0]
    assert "dnssec_bogus" in result.reasons[0]


def test_content_hash_modes() -> None:
    import hashlib

    from llmseal.core.verify import content_hash
    from llmseal.errors import ContentError

    body = {"b": 1, "a": [1, 2], "receipt": {"x": 1}}
    assert content_hash(body, response=True) == content_hash('{"a":[1,2],"b":1}', response=True)
    assert content_hash(body, response=False) != content_hash(body, response=True)
    assert content_hash("é", response=False, raw=True) == hashlib.sha256("é".encode()).hexdigest()
    assert content_hash(b"\xff", response=True, raw=True) == hashlib.sha256(b"\xff").hexdigest()
    with pytest.raises(ContentError, match="raw hashing needs the content as bytes or text"):
        content_hash(body, response=False, raw=True)
