"""The NDJSON stream vectors the JS tests read get the same statuses from the Python verifier."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.js import ndjson_vectors

DATA: dict[str, Any] = json.loads(ndjson_vectors.OUT.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["name"])
def test_each_case_has_its_recorded_python_status(case: dict[str, Any]) -> None:
    again = ndjson_vectors.judge(case["input"], case["options"].get("prompt"))
    assert again == {"expected": case["expected"], "content_checked": case["content_checked"]}


def test_the_cases_cover_every_outcome_and_a_fresh_build_agrees() -> None:
    assert {c["expected"] for c in DATA["cases"]} == {"valid", "tampered", "error"}
    fresh = ndjson_vectors.build()  # ECDSA-free: only timings differ from the file
    assert [(c["name"], c["expected"]) for c in fresh["cases"]] == [
        (c["name"], c["expected"]) for c in DATA["cases"]
    ]
