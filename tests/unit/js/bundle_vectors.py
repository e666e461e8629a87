"""Evidence bundles the Python code builds, with the Python verdicts, for the JS verifier.

``python -m tests.unit.js.bundle_vectors`` writes ``tests/vectors/llmseal/bundles.json``:
the verifier's anchors (a pinned key set, a log vkey, a witness policy) and cases,
each a bundle file (text) with the verdict :func:`~llmseal.bundle.verify.verify_bundle`
gives it: ``ok``, each receipt's status, and the receipts it names as failing.
``test_bundle_vectors.py`` re-checks every verdict with the Python code;
``js/test/bundle.test.js`` requires the same from ``verifyBundle``. Keys are fresh
per run: regenerating changes every signature and no verdict.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from llmseal.bundle.anchors import Anchors
from llmseal.bundle.chain import REDACTED
from llmseal.bundle.commit import commit_request, disclose
from llmseal.bundle.create import make_bundle
from llmseal.bundle.format import Bundle, BundleItem
from llmseal.bundle.result import BundleResult
from llmseal.bundle.verify import verify_bundle
from llmseal.core.hashing import hash_json, hash_response
from llmseal.core.keyset import KeySet
from llmseal.core.sign import issue_receipt
from llmseal.errors import BundleError
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.log.trust import LogTrust
from llmseal.log.witness.witnesspolicy import WitnessPolicy
from tests.bundle_helpers import T0, Issuer, Log, answer, chat, item, link
from tests.unit.js.python_vectors import OUT as SIGNED

__all__ = ["AT", "OUT", "build", "judge", "main"]

OUT = SIGNED.with_name("bundles.json")
AT = T0 + timedelta(days=1)
Case = dict[str, Any]


class _World:
    def __init__(self) -> None:
        self.api, self.relay, self.redactor = (
            Issuer("api.example"),
            Issuer("relay.example"),
            Issuer("redact.example"),
        )
        self.steps = [Issuer(f"step{n}.example") for n in range(3)]
        self.bot = Issuer("chat.example")
        self.thief = Issuer("api.example")  # same name, a key nobody pinned
        self.log = Log()
        self.witness = CosignatureSigner.generate("witness.example/w0")
        honest = [self.api, self.relay, self.redactor, *self.steps, self.bot]
        self.keys = KeySet([i.entry for i in honest])

    def policy_text(self) -> str:
        return f"log {self.log.vkey}\nwitness w0 {self.witness.vkey()}\nquorum w0\n"

    def anchors(self, *, witnessed: bool = False) -> Anchors:
        policy = WitnessPolicy.parse(self.policy_text()) if witnessed else None
        return Anchors(
            keys=(self.keys,), logs=LogTrust.from_vkeys([self.log.vkey]), witnesses=policy
        )


REQUEST = chat([{"role": "user", "content": "Why is the sky blue? Grüße, 世界."}])
RESPONSE = answer("Rayleigh scattering: short wavelengths scatter more.")


def _bundle(items: list[BundleItem]) -> dict[str, Any]:
    return make_bundle(items, at=T0).to_dict()


def _single(w: _World, issuer: Issuer | None = None) -> dict[str, Any]:
    issuer = issuer or w.api
    receipt = issuer.seal(REQUEST, RESPONSE)
    evidence = {"keyset": issuer.keyset().to_dict(), "log": w.log.prove(receipt)}
    return _bundle([item(receipt, REQUEST, RESPONSE, **evidence)])


Edit = Callable[[Any], Any] | None
Parents = list[Mapping[str, Any]] | None


def _hops(
    w: _World, *, relay_body: Edit = None, redact_body: Edit = None, identity: bool = False
) -> dict[str, Any]:
    upstream = w.api.seal(REQUEST, RESPONSE)
    rebuilt = {k: v for k, v in RESPONSE.items() if k != "usage"}
    rebuilt["system_fingerprint"] = None
    preserves = ["/choices/0/message", "/model"]
    keep = {"response": {"op": "identity"} if identity else {"op": "reserialize",
                                                            "preserves": preserves}}  # fmt: skip
    relayed = RESPONSE if identity else rebuilt
    relay = w.relay.seal(REQUEST, relayed, parents=[link(upstream, "upstream", transform=keep)])
    redacted = {**relayed, "model": REDACTED}
    hide = {"response": {"op": "redact", "paths": ["/model"]}}
    last = w.redactor.seal(REQUEST, redacted if redact_body is None else redact_body(redacted),
                           parents=[link(relay, "upstream", transform=hide)])  # fmt: skip
    bodies = [RESPONSE, relayed if relay_body is None else relay_body(relayed),
              redacted if redact_body is None else redact_body(redacted)]  # fmt: skip
    return _bundle([item(r, REQUEST, b, log=w.log.prove(r))
                    for r, b in zip((upstream, relay, last), bodies, strict=True)])  # fmt: skip


def _pipeline(w: _World, tag: str = "") -> list[BundleItem]:
    items: list[BundleItem] = []
    for n, text in enumerate(
        [f"Facts{tag}: sales rose 5%.", f"Analysis{tag}: modest.", f"Summary{tag}: ok."]
    ):
        prompt = (
            "Start."
            if n == 0
            else f"Work on this: {items[-1].response['choices'][0]['message']['content']}"
        )
        request, response = chat([{"role": "user", "content": prompt}]), answer(text)
        parents: Parents = [link(items[-1].receipt, "input")] if items else None
        items.append(item(w.steps[n].seal(request, response, parents=parents), request, response))
    return items


def _conversation(w: _World, turns: int = 3) -> list[BundleItem]:
    messages: list[dict[str, Any]] = []
    items: list[BundleItem] = []
    for n in range(turns):
        messages = [*messages, {"role": "user", "content": f"Question {n}?"}]
        request, response = chat(messages), answer(f"Answer {n}.")
        parents: Parents = [link(items[-1].receipt, "previous")] if items else None
        items.append(item(w.bot.seal(request, response, parents=parents), request, response))
        messages = [*messages, {"role": "assistant", "content": f"Answer {n}."}]
    return items


def _disclosing(w: _World, change: bool = False) -> dict[str, Any]:
    request = chat([{"role": "system", "content": "Internal pricing bot; margin floor 37%."},
                    {"role": "user", "content": "Quote 100 units of part 7731."},
                    {"role": "user", "content": "ok"}])  # fmt: skip
    response = answer("100 units of part 7731: 4,200 EUR.")
    seed = os.urandom(32)
    receipt = w.api.seal(request, response, commitments=commit_request(request, seed))
    opened = disclose(request, seed, [1])
    if change:
        opened["messages"][0]["message"]["content"] = "Quote 1000 units of part 7731."
    return _bundle([BundleItem(receipt, None, response, opened, {"log": w.log.prove(receipt)})])


def _embedded(w: _World) -> dict[str, Any]:
    upstream = w.api.seal(REQUEST, RESPONSE)
    hop = w.relay.seal(REQUEST, RESPONSE, parents=[upstream.to_dict()])
    return _bundle([item(hop, REQUEST, RESPONSE, log=w.log.prove(hop))])


def _augmenting(w: _World, *, more: bool = False) -> dict[str, Any]:
    upstream = w.api.seal(REQUEST, RESPONSE)
    added = {**RESPONSE, "hop_note": {"via": "relay.example"}}
    if more:
        added["id"] = "rewritten"
    spec = {"response": {"op": "augment", "added": ["/hop_note"]}}
    hop = w.relay.seal(REQUEST, added, parents=[link(upstream, "upstream", transform=spec)])
    return _bundle([item(upstream, REQUEST, RESPONSE), item(hop, REQUEST, added)])


def _null_parents(w: _World) -> dict[str, Any]:
    receipt = issue_receipt(
        w.api.signer, model_id="smollm2", prompt_hash=hash_json(REQUEST),
        output_hash=hash_response(RESPONSE), at=T0, claims={"issuer": "api", "parents": None},
    )  # fmt: skip
    return _bundle([item(receipt, REQUEST, RESPONSE)])


def _edit(data: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    edit(out)
    return out


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _cases(w: _World) -> list[tuple[str, dict[str, Any], bool]]:
    """(name, bundle object, witnessed anchors)."""
    single = _single(w)
    hops = _hops(w)
    convo = _conversation(w)
    pipeline = _pipeline(w)
    other_run = _pipeline(w, " (run 2)")
    signature = single["items"][0]["receipt"]["signature"]
    forged_sig = _edit(single, _set(("items", 0, "receipt", "signature"), signature[:-4] + "AAA="))
    other_proof = _edit(
        single, _set(("items", 0, "evidence", "log"), w.log.prove(w.api.seal(REQUEST, RESPONSE)))
    )
    mismatch = _edit(single, _set(("items", 0, "evidence", "keyset", "keys", 0, "public_key"),
                                  w.thief.signer.public_key().b64()))  # fmt: skip
    # Witnessed: the key is revoked an hour after issuance; the proof is first
    # cosigned two hours after it, so the receipt is judged (revoked) at that time.
    late = w.api.seal(REQUEST, RESPONSE)
    revoked = w.api.entry.revoked(T0 + timedelta(hours=1))
    snapshot = KeySet([revoked]).to_dict()

    def witnessed(receipt: Any, cosigned: timedelta) -> dict[str, Any]:
        proof = w.log.prove(receipt, (w.witness,), at=T0 + cosigned)
        return _bundle([item(receipt, REQUEST, RESPONSE, keyset=snapshot, log=proof)])

    witnessed_late = witnessed(late, timedelta(hours=2))
    witnessed_early = witnessed(w.api.seal(REQUEST, RESPONSE), timedelta(minutes=5))
    return [
        ("one answer with its key-set snapshot, content and log proof", single, False),
        (
            "one answer, the response changed",
            _edit(
                single,
                _set(
                    ("items", 0, "response", "choices", 0, "message", "content"), "Something else."
                ),
            ),
            False,
        ),
        (
            "one answer, the request changed",
            _edit(single, _set(("items", 0, "request", "seed"), 43)),
            False,
        ),
        ("one answer, the signature changed", forged_sig, False),
        ("one answer, a log proof of another receipt", other_proof, False),
        ("one answer, the snapshot gives another public key", mismatch, False),
        ("a bundle that brings its own key", _single(w, w.thief), False),
        ("three hops: upstream, re-serializing relay, redactor, each logged", hops, False),
        (
            "three hops, the relay's body is not what it signed",
            _hops(w, relay_body=lambda b: {**b, "id": "x"}),
            False,
        ),
        (
            "three hops, the redactor also changed another member",
            _hops(w, redact_body=lambda b: {**b, "id": "changed"}),
            False,
        ),
        ("three hops, an identity hop", _hops(w, identity=True), False),
        ("three hops, the upstream left out", _edit(hops, lambda d: d["items"].pop(0)), False),
        ("a three-step pipeline", _bundle(pipeline), False),
        (
            "a pipeline with a step from another run",
            _bundle([pipeline[0], other_run[1], pipeline[2]]),
            False,
        ),
        (
            "a pipeline whose first output was changed",
            _edit(
                _bundle(pipeline),
                _set(
                    ("items", 0, "response", "choices", 0, "message", "content"),
                    "Facts: sales fell.",
                ),
            ),
            False,
        ),
        ("a three-turn conversation", _bundle(convo), False),
        ("a conversation with two turns swapped", _bundle([convo[1], convo[0], convo[2]]), False),
        ("a conversation with its middle turn dropped", _bundle([convo[0], convo[2]]), False),
        ("one message of three disclosed", _disclosing(w), False),
        ("a disclosed message that was changed", _disclosing(w, change=True), False),
        ("an upstream receipt embedded by a chained gateway", _embedded(w), False),
        ("witnessed: proven before the key's revocation", witnessed_early, True),
        ("witnessed: dated before the revocation, first proven after it", witnessed_late, True),
        ("a parents claim that is null", _null_parents(w), False),
        ("a hop that adds its own member", _augmenting(w), False),
        ("a hop that adds a member and rewrites another", _augmenting(w, more=True), False),
        ("an unknown member", _edit(single, _set(("items", 0, "extra"), 1)), False),
        ("evidence that is null", _edit(single, _set(("items", 0, "evidence"), None)), False),
        ("audits that are null", _edit(single, _set(("audits",), None)), False),
        (
            "an x5c list that is null",
            _edit(single, _set(("items", 0, "evidence", "x5c"), None)),
            False,
        ),
        ("another format version", _edit(single, _set(("bundle",), "llmseal-bundle/2")), False),
    ]


def judge(w_anchors: Anchors, text: str) -> dict[str, Any]:
    """The Python verdict on bundle ``text``: ok, statuses, failing receipt ids (or error)."""
    try:
        bundle = Bundle.from_json(text)
    except BundleError as exc:
        return {"error": True, "reason": str(exc)}
    result: BundleResult = verify_bundle(bundle, w_anchors, at=AT)
    failing = {i.receipt_id for i in result.items if not i.ok}
    failing |= {link.child for link in result.links if not link}
    return {
        "error": False,
        "ok": bool(result),
        "statuses": {i.receipt_id: i.verification.status.value for i in result.items},
        "failing": sorted(failing),
    }


def build() -> dict[str, Any]:
    w = _World()
    cases: list[Case] = []
    for name, data, witnessed in _cases(w):
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        verdict = judge(w.anchors(witnessed=witnessed), text)
        cases.append({"name": name, "witnessed": witnessed, "bundle": text, **verdict})
    return {
        "at": AT.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "keys": w.keys.to_dict(),
        "log_vkey": w.log.vkey,
        "witness_policy": w.policy_text(),
        "cases": cases,
    }


def main(write: Callable[[str], Any] = OUT.write_text) -> None:
    write(json.dumps(build(), indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
