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
