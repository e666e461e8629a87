"""Observed exchanges re-verify from their stored bytes; verdicts round-trip."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
import pytest

from llmseal.audit import (
    EnrollOptions,
    Envelope,
    ErrorRates,
    ObservedExchange,
    Outcome,
    Probe,
    Reference,
    Registry,
    Score,
    Source,
    Verdict,
    combine,
    registry,
    sequential_verdict,
)
from llmseal.core.keyset import KeySet
from llmseal.core.verify import Status
from llmseal.errors import AuditError
from tests.unit.audit.conftest import Exchange

REQUEST = {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": "2+2?"}]}
RESPONSE = {"id": "c1", "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 1, "total_tokens": 31}}  # fmt: skip


def test_a_stored_exchange_reverifies(signed_exchange: Exchange, issuer_keys: KeySet) -> None:
    ex = signed_exchange("kbf:1", "kbf", REQUEST, RESPONSE)
    again = ObservedExchange.from_dict(orjson.loads(orjson.dumps(ex.to_dict())))
    assert again == ex and again.signed
    result = again.reverify(issuer_keys)
    assert result is not None and result.status is Status.VALID
    assert again.content() == RESPONSE


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body: body["choices"][0]["message"].update(content="5"),  # the answer
        lambda body: body["usage"].update(prompt_tokens=21),  # the unsigned copy of usage
    ],
)
def test_a_tampered_exchange_does_not(
    signed_exchange: Exchange, issuer_keys: KeySet, tamper: Any
) -> None:
    ex = signed_exchange("kbf:1", "kbf", REQUEST, RESPONSE)
    body = orjson.loads(ex.response)
    tamper(body)
    forged = dataclasses.replace(ex, response=orjson.dumps(body))
    result = forged.reverify(issuer_keys)
    assert result is not None and result.status is Status.TAMPERED


def test_a_swapped_request_does_not_reverify(
    signed_exchange: Exchange, issuer_keys: KeySet
) -> None:
    ex = signed_exchange("kbf:1", "kbf", REQUEST, RESPONSE)
    other = {**REQUEST, "messages": [{"role": "user", "content": "3+3?"}]}
    result = dataclasses.replace(ex, request=orjson.dumps(other)).reverify(issuer_keys)
    assert result is not None and result.status is Status.TAMPERED


def test_an_unknown_key_does_not_reverify(signed_exchange: Exchange) -> None:
    result = signed_exchange("kbf:1", "kbf", REQUEST, RESPONSE).reverify(KeySet())
    assert result is not None and result.status is Status.UNKNOWN_KEY


def _answer_scorer(ex: ObservedExchange) -> Score | None:
    content = ex.content()
    if content is None:
        return None
    text = content["choices"][0]["message"]["content"]
    return Score(0.0 if text == "4" else 1.0, 0.5, text != "4")


def test_sequential_verdict_stops_at_the_first_decision(signed_exchange: Exchange) -> None:
    wrong = {
        **RESPONSE,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "7"}}],
    }
    exchanges = [signed_exchange(f"kbf:{i}", "kbf", REQUEST, wrong) for i in range(6)]
    failed = dataclasses.replace(exchanges[0], verification="tampered", probe_id="kbf:x")
    verdict = sequential_verdict(
        "kbf", [failed, *exchanges], _answer_scorer, Envelope(0, 200), ErrorRates().split(3)
    )
    assert verdict.outcome is Outcome.DIFF
    assert verdict.queries == 3 and verdict.samples == 2 and verdict.failed == 1
    assert verdict.receipt_ids == tuple(e.receipt_id for e in exchanges[:2])
    assert verdict.p_value <= 0.01 / 3
    assert Verdict.from_dict(orjson.loads(orjson.dumps(verdict.to_dict()))).same_decision(verdict)


def test_no_envelope_is_never_diff(signed_exchange: Exchange) -> None:
    wrong = {
        **RESPONSE,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "7"}}],
    }
    exchanges = [signed_exchange(f"kbf:{i}", "kbf", REQUEST, wrong) for i in range(20)]
    for envelope in (None, Envelope(0, 0)):
        verdict = sequential_verdict("kbf", exchanges, _answer_scorer, envelope, ErrorRates())
        assert verdict.outcome is Outcome.UNDETERMINED
        assert "envelope" in verdict.reason


def test_unsigned_answers_are_never_samples(signed_exchange: Exchange) -> None:
    wrong = {
        **RESPONSE,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "7"}}],
    }
    ex = signed_exchange("kbf:1", "kbf", REQUEST, wrong)
    unsigned = [dataclasses.replace(ex, verification="receipt_required", receipt_id=None)] * 30
    verdict = sequential_verdict("kbf", unsigned, _answer_scorer, Envelope(0, 200), ErrorRates())
    assert verdict.outcome is Outcome.UNDETERMINED
    assert verdict.samples == 0 and verdict.failed == 30 and verdict.queries == 30


def _v(family: str, outcome: Outcome) -> Verdict:
    return Verdict(family, outcome, 0.0, 1.0, 0.0, 1, (), "")


def test_combine() -> None:
    assert combine([_v("a", Outcome.SAME), _v("b", Outcome.DIFF)]) is Outcome.DIFF
    assert combine([_v("a", Outcome.SAME), _v("b", Outcome.SAME)]) is Outcome.SAME
    assert combine([_v("a", Outcome.SAME), _v("b", Outcome.UNDETERMINED)]) is Outcome.UNDETERMINED
    assert combine([]) is Outcome.UNDETERMINED
    assert [o.exit_code for o in Outcome] == [0, 1, 3]


class _Toy:
    name = "toy"

    def enroll(self, sources: Sequence[Source], options: EnrollOptions) -> Mapping[str, Any]:
        return {}

    def probes(
        self, reference: Reference, *, rng: random.Random, history: Sequence[ObservedExchange] = ()
    ) -> Iterator[Probe]:
        yield Probe("toy:1", "toy")

    def verify(
        self, reference: Reference, exchanges: Sequence[ObservedExchange], rates: ErrorRates
    ) -> Verdict:
        return _v("toy", Outcome.UNDETERMINED)


def test_registry(t0: datetime) -> None:
    reg = Registry()
    reg.register(_Toy())
    assert reg.names() == ("toy",)
    assert [f.name for f in reg.resolve(["toy", " "])] == ["toy"]
    with pytest.raises(AuditError, match="no verifier family 'kbf'"):
        reg.get("kbf")
    with pytest.raises(AuditError):
        reg.register(object())  # type: ignore[arg-type]
    assert set(registry().names()) >= set()  # the built-ins load without error
