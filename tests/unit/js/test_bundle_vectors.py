"""The bundle vectors the JS tests read get the same verdicts from the Python verifier."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmseal.bundle.anchors import Anchors
from llmseal.core.keyset import KeySet
from llmseal.log.trust import LogTrust
from llmseal.log.witness.witnesspolicy import WitnessPolicy
from tests.unit.js import bundle_vectors

DATA: dict[str, Any] = json.loads(bundle_vectors.OUT.read_text(encoding="utf-8"))
VERDICT = ("error", "ok", "statuses", "failing")


def _anchors(witnessed: bool) -> Anchors:
    policy = WitnessPolicy.parse(DATA["witness_policy"]) if witnessed else None
    return Anchors(keys=(KeySet.from_obj(DATA["keys"]),),
                   logs=LogTrust.from_vkeys([DATA["log_vkey"]]), witnesses=policy)  # fmt: skip


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["name"])
def test_each_case_has_its_recorded_python_verdict(case: dict[str, Any]) -> None:
    again = bundle_vectors.judge(_anchors(case["witnessed"]), case["bundle"])
    assert {k: again.get(k) for k in VERDICT} == {k: case.get(k) for k in VERDICT}


def test_the_cases_cover_valid_failing_and_unreadable_bundles() -> None:
    cases = DATA["cases"]
    assert sum(1 for c in cases if c.get("ok")) >= 8
    assert sum(1 for c in cases if c.get("ok") is False) >= 12
    assert sum(1 for c in cases if c["error"]) >= 2
    statuses = {s for c in cases for s in c.get("statuses", {}).values()}
    assert statuses == {"valid", "tampered", "unknown_key", "revoked"}


def test_the_generator_still_produces_the_same_verdicts() -> None:
    fresh = bundle_vectors.build()  # new keys, same cases: the verdicts must not move
    assert [c["name"] for c in fresh["cases"]] == [c["name"] for c in DATA["cases"]]
    for new, old in zip(fresh["cases"], DATA["cases"], strict=True):
        assert new.get("ok") == old.get("ok"), new["name"]
        assert new["error"] == old["error"], new["name"]
        assert sorted(new.get("statuses", {}).values()) == sorted(old.get("statuses", {}).values())
        assert len(new.get("failing", [])) == len(old.get("failing", [])), new["name"]
