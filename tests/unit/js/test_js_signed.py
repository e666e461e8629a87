"""Receipts signed in JavaScript (WebCrypto, js/tools/sign-cases.js) verify in Python."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from llmseal.core.keyset import KeySet
from llmseal.core.verify import verify_receipt

JS = Path(__file__).parents[3] / "js"


@pytest.fixture(scope="module")
def js_signed() -> dict[str, Any]:
    done = subprocess.run(
        ["node", "tools/sign-cases.js"], cwd=JS, capture_output=True, check=True, timeout=60
    )
    data: dict[str, Any] = json.loads(done.stdout)
    assert len(data["cases"]) == 8
    return data


def test_every_js_signed_case_gets_its_status_in_python(js_signed: dict[str, Any]) -> None:
    keys = KeySet.from_obj(js_signed["keyset"])
    algorithms = {k.public_key.algorithm for k in keys}
    assert algorithms == {"ed25519", "ecdsa-p256"}
    seen = set()
    for case in js_signed["cases"]:
        result = verify_receipt(
            case["receipt"], keys, prompt=case["prompt"].encode(), output=case["output"].encode()
        )
        assert result.status.value == case["expected"], (case["name"], result.reasons)
        seen.add(case["expected"])
    assert seen == {"valid", "tampered", "revoked", "unknown_key"}
