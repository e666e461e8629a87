"""The vectors the JS tests read are what the Python verifier says they are."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmseal.errors import InputError
from tests.unit.js import python_vectors
from tests.unit.js._pyverify import python_verify

DATA: dict[str, Any] = json.loads(python_vectors.OUT.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["name"])
def test_python_gives_the_expected_status(case: dict[str, Any]) -> None:
    if case["expected"] == "error":
        with pytest.raises(InputError):
            python_verify(case["input"], DATA["keyset"], case["options"])
        return
    result = python_verify(case["input"], DATA["keyset"], case["options"])
    assert result.status.value == case["expected"], result.reasons
    assert list(result.content_checked) == case["content_checked"]


def test_the_file_matches_its_generator() -> None:
    # Receipt ids, nonces and P-256 signatures are random; the cases and keys are not.
    written: list[str] = []
    python_vectors.main(written.append)
    fresh = json.loads(written[0])
    assert fresh["keyset"] == DATA["keyset"]
    assert [(c["name"], c["expected"]) for c in fresh["cases"]] == [
        (c["name"], c["expected"]) for c in DATA["cases"]
    ]
