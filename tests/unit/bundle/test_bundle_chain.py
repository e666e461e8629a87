"""Receipt chains: hop receipts with declared transforms, pipelines, conversations."""

from __future__ import annotations

from typing import Any

import pytest

from llmseal.bundle.anchors import Anchors
from llmseal.bundle.chain import REDACTED
from llmseal.bundle.create import make_bundle
from llmseal.bundle.format import Bundle, BundleItem
from llmseal.bundle.verify import BundleResult, verify_bundle
from llmseal.core.policy import Policy
from tests.bundle_helpers import Issuer, answer, chat, item, keysets, later, link

NOW = later(120)
UPSTREAM, RELAY, REDACTOR = (
    Issuer("api.lab.example"),
    Issuer("relay.example"),
    Issuer("dlp.example"),
)
ANCHORS = Anchors(keys=(keysets(UPSTREAM, RELAY, REDACTOR),))
REQ = chat([{"role": "user", "content": "What is the capital of France? Mail me at a@b.example"}])
UP = answer("Paris. I will write to a@b.example.")


def _verify(*items: BundleItem, policy: Policy | None = None) -> BundleResult:
    bundle = make_bundle(items, at=NOW)
    return verify_bundle(Bundle.from_json(bundle.to_json()), ANCHORS, at=NOW, policy=policy)


def _upstream() -> BundleItem:
    return item(UPSTREAM.seal(REQ, UP), REQ, UP)


def _hop(
    parent: BundleItem, response: Any, transform: dict[str, Any], hop: Issuer = RELAY
) -> BundleItem:
    receipt = hop.seal(
        REQ, response, parents=[link(parent.receipt, "upstream", transform=transform)]
    )
    return item(receipt, REQ, response)


def _rebuilt(body: dict[str, Any]) -> dict[str, Any]:
    """What a proxy that rebuilds the object from its own model class sends on."""
    out = {k: v for k, v in body.items() if k != "usage"}
    return {**out, "id": "proxy-" + body["id"], "system_fingerprint": None}


def test_a_relay_that_reserializes_with_a_hop_receipt_verifies() -> None:
    up = _upstream()
    transform = {"response": {"op": "reserialize", "preserves": ["/choices/0/message", "/model"]}}
    result = _verify(up, _hop(up, _rebuilt(UP), transform))
    assert result, result.reasons()
    assert [(lk.relation, lk.ops) for lk in result.links] == [
        ("upstream", ("identity", "reserialize"))
    ]


def test_the_same_change_without_a_hop_receipt_fails() -> None:
    up = _upstream()
    passed_on = BundleItem(up.receipt, REQ, _rebuilt(UP))  # the upstream receipt, changed body
    result = _verify(passed_on)
    assert not result
    assert "the supplied output does not match output_hash" in " ".join(result.reasons())


def test_a_reserialization_that_changes_a_preserved_part_is_named() -> None:
    up = _upstream()
    changed = _rebuilt(UP)
    changed["choices"] = [
        {**UP["choices"][0], "message": {"role": "assistant", "content": "Lyon."}}
    ]
    transform = {"response": {"op": "reserialize", "preserves": ["/choices/0/message"]}}
    result = _verify(up, _hop(up, changed, transform))
    assert not result
    assert "['/choices/0/message'] differ" in " ".join(result.reasons())


def test_a_redacting_hop_verifies_without_the_unredacted_answer() -> None:
    up = _upstream()
    redacted = {**UP, "choices": [{**UP["choices"][0], "message": {
        "role": "assistant", "content": REDACTED}}]}  # fmt: skip
    transform = {"response": {"op": "redact", "paths": ["/choices/0/message/content"]}}
    hop = _hop(up, redacted, transform, REDACTOR)
    # With the upstream answer in the bundle the redaction is recomputed...
    full = _verify(up, hop)
    assert full, full.reasons()
    # ... and without it (the redactor does not hand out what it removed) it rests on
    # the hop's signature; the upstream receipt still verifies and is linked.
    hidden = BundleItem(up.receipt, REQ, None)
    partial = _verify(hidden, hop)
    assert partial, partial.reasons()
    assert "not recomputed" in partial.links[0].notes[0]
    # A "redaction" that also rewrites another member is not one.
    sneaky = {**redacted, "model": "gpt-5"}
    bad = _verify(up, _hop(up, sneaky, transform, REDACTOR))
    assert not bad and "not the declared redact" in " ".join(bad.reasons())


def test_the_policy_decides_which_hops_and_transforms_are_trusted() -> None:
    up = _upstream()
    redacted = {**UP, "usage": REDACTED}
    hop = _hop(up, redacted, {"response": {"op": "redact", "paths": ["/usage"]}}, REDACTOR)
    assert _verify(up, hop)
    only_identity = Policy(chain_transforms=frozenset({"identity", "reserialize"}))
    refused = _verify(up, hop, policy=only_identity)
    assert not refused and "chain.transforms: 'redact' is not trusted" in " ".join(
        refused.reasons()
    )
    other_hops = Policy(chain_hops=("relay.example",))
    refused = _verify(up, hop, policy=other_hops)
    assert not refused and "'dlp.example' may not transform" in " ".join(refused.reasons())
    assert _verify(up, hop, policy=Policy(chain_hops=("dlp.example",)))


def test_an_identity_hop_must_not_change_anything() -> None:
    up = _upstream()
    result = _verify(up, _hop(up, _rebuilt(UP), {}))
    assert not result and "transform is identity" in " ".join(result.reasons())


def test_a_missing_upstream_or_unknown_relation_or_transform_fails() -> None:
    up = _upstream()
    hop = _hop(up, UP, {})
    lone = _verify(hop)
    assert not lone and "is not in the bundle" in " ".join(lone.reasons())
    odd = RELAY.seal(REQ, UP, parents=[link(up.receipt, "cousin")])
    assert "unknown relation" in " ".join(_verify(up, item(odd, REQ, UP)).reasons())
    weird = _hop(up, UP, {"response": {"op": "rewrite-freely"}})
    assert "not one of" in " ".join(_verify(up, weird).reasons())


# --- pipelines -----------------------------------------------------------------

STEPS = (Issuer("extract.example"), Issuer("analyse.example"), Issuer("summary.example"))
PIPE = Anchors(keys=(keysets(*STEPS),))


def _pipeline(tag: str = "") -> list[BundleItem]:
    items: list[BundleItem] = []
    texts = [
        f"Facts{tag}: sales rose 5%.",
        f"Analysis{tag}: growth is modest.",
        f"Summary{tag}: ok.",
    ]
    for n, (issuer, text) in enumerate(zip(STEPS, texts, strict=True)):
        prompt = (
            "Start."
            if n == 0
            else f"Work on this: {items[-1].response['choices'][0]['message']['content']}"
        )
        request, response = chat([{"role": "user", "content": prompt}]), answer(text)
        parents = [link(items[-1].receipt, "input")] if items else None
        items.append(item(issuer.seal(request, response, parents=parents), request, response))
    return items


def _pipe(items: list[BundleItem]) -> BundleResult:
    bundle = Bundle.from_json(make_bundle(items, at=NOW).to_json())
    return verify_bundle(bundle, PIPE, at=NOW)


def test_a_three_step_pipeline_verifies_as_a_chain() -> None:
    result = _pipe(_pipeline())
    assert result, result.reasons()
    assert [lk.relation for lk in result.links] == ["input", "input"]


def test_changing_a_steps_output_is_found_and_named() -> None:
    items = _pipeline()
    first = items[0]
    items[0] = BundleItem(first.receipt, first.request, answer("Facts: sales fell 50%."))
    result = _pipe(items)
    assert not result
    assert any(r.startswith(first.receipt.receipt_id) and "output" in r for r in result.reasons())


def test_a_step_spliced_in_from_another_run_is_found() -> None:
    items, other = _pipeline(), _pipeline(" (run 2)")
    items[1] = other[1]
    result = _pipe(items)
    assert not result
    summary = items[2].receipt.receipt_id
    assert f"{summary}: its input parent" in " ".join(result.reasons())


def test_an_input_whose_output_is_not_in_the_prompt_fails() -> None:
    items = _pipeline()
    request = chat([{"role": "user", "content": "Work on something else."}])
    response = answer("Analysis: nothing.")
    receipt = STEPS[1].seal(request, response, parents=[link(items[0].receipt, "input")])
    result = _pipe([items[0], item(receipt, request, response)])
    assert not result and "does not appear in the signed prompt" in " ".join(result.reasons())


# --- conversations ---------------------------------------------------------------

BOT = Issuer("chat.example")


def _conversation(turns: int = 5) -> list[BundleItem]:
    messages: list[dict[str, Any]] = []
    items: list[BundleItem] = []
    for n in range(turns):
        messages = [*messages, {"role": "user", "content": f"Question {n}?"}]
        request, response = chat(messages), answer(f"Answer {n}.")
        parents = [link(items[-1].receipt, "previous")] if items else None
        items.append(item(BOT.seal(request, response, parents=parents), request, response))
        messages = [*messages, {"role": "assistant", "content": f"Answer {n}."}]
    return items


def _talk(items: list[BundleItem]) -> BundleResult:
    bundle = Bundle.from_json(make_bundle(items, at=NOW).to_json())
    return verify_bundle(bundle, Anchors(keys=(BOT.keyset(),)), at=NOW)


def test_a_five_turn_transcript_verifies_as_a_whole() -> None:
    result = _talk(_conversation())
    assert result, result.reasons()
    assert [lk.relation for lk in result.links] == ["previous"] * 4


@pytest.mark.parametrize("turn", [0, 2, 3])
def test_dropping_a_turn_is_found(turn: int) -> None:
    items = _conversation()
    dropped = items.pop(turn)
    result = _talk(items)
    assert not result
    assert "previous parent" in " ".join(result.reasons()), dropped


def test_reordering_turns_is_found() -> None:
    items = _conversation()
    items[1], items[2] = items[2], items[1]
    result = _talk(items)
    assert not result and "listed before its previous turn" in " ".join(result.reasons())


def test_replacing_a_turn_is_found() -> None:
    items, other = _conversation(), _conversation()
    items[2] = other[2]  # same question and answer, another signed turn
    result = _talk(items)
    assert not result and "is not in the bundle" in " ".join(result.reasons())


def test_a_turn_that_misquotes_the_previous_answer_fails() -> None:
    items = _conversation(2)
    messages = [{"role": "user", "content": "Question 0?"},
                {"role": "assistant", "content": "Answer 0, and I agree with you."},
                {"role": "user", "content": "Question 1?"}]  # fmt: skip
    request, response = chat(messages), answer("Answer 1.")
    receipt = BOT.seal(request, response, parents=[link(items[0].receipt, "previous")])
    result = _talk([items[0], item(receipt, request, response)])
    assert not result and "previous turn's answer" in " ".join(result.reasons())


def test_a_reserialization_may_not_turn_true_into_1() -> None:
    up = _upstream()
    flagged = {**UP, "choices": [{**UP["choices"][0], "logprobs": True}]}
    parent = item(UPSTREAM.seal(REQ, flagged), REQ, flagged)
    changed = {**flagged, "choices": [{**flagged["choices"][0], "logprobs": 1}]}
    transform = {"response": {"op": "reserialize", "preserves": ["/choices/0/logprobs"]}}
    result = _verify(parent, _hop(parent, changed, transform))
    assert not result and "differ" in " ".join(result.reasons()), up


def test_an_embedded_parent_reusing_a_listed_receipt_id_is_not_a_crash() -> None:
    up = _upstream()
    twin = UPSTREAM.seal(REQ, UP, receipt_id=up.receipt.receipt_id)  # same id, other receipt
    hop = RELAY.seal(REQ, UP, parents=[twin.to_dict()])
    result = _verify(up, item(hop, REQ, UP))
    assert not result and "is not in the bundle" in " ".join(result.reasons())


def test_a_hop_link_may_carry_its_parent_receipt_whole() -> None:
    """The LiteLLM hop's form: the upstream receipt rides in the link, named by digest."""
    up = _upstream()
    kept = {"request": ["/messages"], "response": ["/choices/0/message"]}
    transform = {side: {"op": "reserialize", "preserves": p} for side, p in kept.items()}
    carried = link(up.receipt, "upstream", transform=transform, receipt=up.receipt.to_dict())
    rebuilt = _rebuilt(UP)
    hop = item(RELAY.seal(REQ, rebuilt, parents=[carried]), REQ, rebuilt)
    result = _verify(hop)  # the upstream is not listed: its receipt comes from the link
    assert result, result.reasons()
    (checked,) = result.links
    assert (checked.parent, checked.ops) == (up.receipt.receipt_id, ("reserialize", "reserialize"))
    # Same request: recomputed; the upstream's own answer is not in the bundle: declared only.
    assert checked.notes == (
        "response transform reserialize declared by the hop, not recomputed (content absent)",
    )
    other = UPSTREAM.seal(REQ, answer("Lyon."))  # a genuine receipt, but not the one named
    swapped = {**carried, "receipt": other.to_dict()}
    result = _verify(item(RELAY.seal(REQ, rebuilt, parents=[swapped]), REQ, rebuilt))
    assert not result and "is not in the bundle" in " ".join(result.reasons())
