"""Private commitments: one message of three disclosed, proven in the signed request."""

from __future__ import annotations

import os
from typing import Any

import pytest

from llmseal.bundle.anchors import Anchors
from llmseal.bundle.commit import commit_request, disclose
from llmseal.bundle.create import item_from_response, make_bundle
from llmseal.bundle.format import Bundle
from llmseal.bundle.verify import BundleResult, verify_bundle
from llmseal.core.policy import Policy
from llmseal.errors import ContentError
from tests.bundle_helpers import Issuer, answer, chat, later, mutate

NOW = later(10)
ISSUER = Issuer("api.lab.example")
SECRET_SYSTEM = "You are the internal pricing bot of ACME; margin floor 37%."
SECRET_FOLLOWUP = "ok"  # short: a bare hash of it would be guessed at once
REQUEST = chat([
    {"role": "system", "content": SECRET_SYSTEM},
    {"role": "user", "content": "Quote 100 units of part 7731."},
    {"role": "user", "content": SECRET_FOLLOWUP},
])  # fmt: skip
RESPONSE = answer("100 units of part 7731: 4,200 EUR.")


def _disclosing(indices: list[int], seed: bytes | None = None) -> bytes:
    seed = seed or os.urandom(32)
    receipt = ISSUER.seal(REQUEST, RESPONSE, commitments=commit_request(REQUEST, seed))
    response = {**RESPONSE, "receipt": receipt.to_dict()}
    built = item_from_response(
        response, request=REQUEST, disclosure=disclose(REQUEST, seed, indices)
    )
    return make_bundle([built], at=NOW).to_json()


def _verify(data: bytes | dict[str, Any], policy: Policy | None = None) -> BundleResult:
    bundle = Bundle.from_json(data) if isinstance(data, bytes) else Bundle.from_dict(data)
    return verify_bundle(bundle, Anchors(keys=(ISSUER.keyset(),)), at=NOW, policy=policy)


def test_one_message_of_three_is_proven_and_the_others_are_not_in_the_file() -> None:
    data = _disclosing([1])
    assert SECRET_SYSTEM.encode() not in data
    assert b'"ok"' not in data and b"margin" not in data
    assert b"part 7731" in data
    result = _verify(data)
    assert result, result.reasons()
    item = result.items[0]
    assert item.disclosed is not None and item.disclosed.describe() == "message(s) 1 of 3"
    assert item.verification.content_checked == ("output",)  # the prompt hash is not checkable


def test_the_policy_can_still_require_the_whole_prompt() -> None:
    refused = _verify(_disclosing([1]), Policy(require_content=frozenset({"prompt"})))
    assert not refused and "require_content" in " ".join(refused.reasons())


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("items", 0, "disclosure", "messages", 0, "message", "content"), "Quote 1 unit."),
        (("items", 0, "disclosure", "messages", 0, "index"), 2),
        (("items", 0, "disclosure", "messages", 0, "salt"), "AAAA"),
        (("items", 0, "disclosure", "messages", 0, "path"), []),
    ],
)
def test_a_changed_or_moved_disclosed_message_fails(path: tuple[Any, ...], value: Any) -> None:
    data = mutate(Bundle.from_json(_disclosing([1])).to_dict(), path, value)
    result = _verify(data)
    assert not result
    assert "not the message the receipt committed to" in " ".join(result.reasons())


def test_a_disclosure_without_a_signed_commitment_fails() -> None:
    seed = os.urandom(32)
    receipt = ISSUER.seal(REQUEST, RESPONSE)  # no commitments claim
    response = {**RESPONSE, "receipt": receipt.to_dict()}
    built = item_from_response(response, disclosure=disclose(REQUEST, seed, [1]))
    result = _verify(make_bundle([built], at=NOW).to_json())
    assert not result and "no llmseal-salted-merkle/1 commitment" in " ".join(result.reasons())


def test_two_seeds_give_unrelated_commitments_and_bad_input_is_refused() -> None:
    a, b = commit_request(REQUEST, b"a" * 32), commit_request(REQUEST, b"b" * 32)
    assert a["messages"] != b["messages"] and a["rest"] != b["rest"] and a["count"] == 3
    with pytest.raises(ContentError):
        commit_request({"prompt": "no messages"}, b"a" * 32)
    with pytest.raises(ContentError):
        disclose(REQUEST, b"a" * 32, [3])


def _independent_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, written out again from the RFC (not llmseal.log.tree.merkle)."""
    import hashlib

    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    left, right = _independent_root(leaves[:k]), _independent_root(leaves[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def test_the_commitment_is_exactly_the_spec_formula() -> None:
    import base64
    import hashlib
    import hmac

    import rfc8785

    seed = bytes(range(32))

    def salt(label: str) -> str:
        digest = hmac.new(seed, label.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    leaves = [
        hashlib.sha256(
            b"\x00" + rfc8785.dumps({"index": i, "message": m, "salt": salt(f"message:{i}")})
        ).digest()
        for i, m in enumerate(REQUEST["messages"])
    ]
    rest = {k: v for k, v in REQUEST.items() if k != "messages"}
    expected = {
        "scheme": "llmseal-salted-merkle/1",
        "count": 3,
        "messages": _independent_root(leaves).hex(),
        "rest": hashlib.sha256(rfc8785.dumps({"request": rest, "salt": salt("rest")})).hexdigest(),
    }
    assert commit_request(REQUEST, seed) == expected
    opened = disclose(REQUEST, seed, [2])["messages"]
    assert [(o["index"], o["salt"], o["message"]) for o in opened] == [
        (2, salt("message:2"), REQUEST["messages"][2])
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda o: o.update(index=True), "index must be"),
        (lambda o: o.update(index=-1), "index must be"),
        (lambda o: o.update(index=3), "index must be"),
        (lambda o: o.update(salt=5), "needs message, salt and path"),
        (lambda o: o.update(path="AAAA"), "needs message, salt and path"),
        (lambda o: o.pop("message"), "needs message, salt and path"),
        (lambda o: o.update(path=["not base64!"]), "must be base64"),
        (lambda o: o.update(path=[7]), "must be base64"),
    ],
)
def test_a_malformed_opening_is_named(change: Any, message: str) -> None:
    data = Bundle.from_json(_disclosing([1])).to_dict()
    change(data["items"][0]["disclosure"]["messages"][0])
    result = _verify(data)
    assert not result and message in " ".join(result.reasons())


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        ({"scheme": "other/1"}, "no llmseal-salted-merkle/1 commitment"),
        ({"scheme": "llmseal-salted-merkle/1", "count": 0, "messages": "00"}, "no usable count"),
        ({"scheme": "llmseal-salted-merkle/1", "count": 3, "messages": 7}, "no usable count"),
        ({"scheme": "llmseal-salted-merkle/1", "count": 5000, "messages": "00"}, "no usable count"),
    ],
)
def test_a_receipt_commitment_that_cannot_be_used_is_named(
    claim: dict[str, Any], message: str
) -> None:
    seed = os.urandom(32)
    receipt = ISSUER.seal(REQUEST, RESPONSE, commitments=claim)
    response = {**RESPONSE, "receipt": receipt.to_dict()}
    built = item_from_response(response, disclosure=disclose(REQUEST, seed, [1]))
    result = _verify(make_bundle([built], at=NOW).to_json())
    assert not result and message in " ".join(result.reasons())


def test_an_empty_disclosure_is_refused() -> None:
    data = Bundle.from_json(_disclosing([1])).to_dict()
    data["items"][0]["disclosure"]["messages"] = []
    result = _verify(data)
    assert not result and "at least one message" in " ".join(result.reasons())


def test_two_messages_disclosed_both_verify() -> None:
    result = _verify(_disclosing([0, 2]))
    assert result and result.items[0].disclosed is not None
    assert result.items[0].disclosed.describe() == "message(s) 0, 2 of 3"
    assert set(result.items[0].disclosed.messages) == {0, 2}
