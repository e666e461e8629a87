"""Relying-party policy: parsing and every rule, at an injected time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeySet
from llmseal.core.policy import Policy
from llmseal.core.receipt import Receipt
from llmseal.core.verify import verify_receipt
from llmseal.errors import ConfigError

POLICY = """
keysets = ["https://review.example/v1/receipts/keys"]
issuers = ["api.example.org"]
models = ["example.org/*"]
max_age = "7d"
require_content = ["prompt", "output"]
"""


def test_parse() -> None:
    policy = Policy.from_toml(POLICY)
    assert policy.max_age == timedelta(days=7)
    assert policy.require_content == {"prompt", "output"}
    assert Policy.from_toml("[policy]\nmodels = 'x/*'").models == ("x/*",)


@pytest.mark.parametrize(
    "text",
    [
        "models = 3",
        "max_age = '7 weeks'",
        "require_content = ['everything']",
        "bogus = 1",
        "=",
        "require_receipt = 'yes'",
    ],
)
def test_bad_policies_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        Policy.from_toml(text)


def test_admits_a_conforming_receipt(
    receipt: Receipt, keyset: KeySet, request_body: object, response_body: object, t0: datetime
) -> None:
    result = verify_receipt(receipt, keyset, prompt=request_body, output=response_body)
    assert Policy.from_toml(POLICY).check(result, at=t0 + timedelta(hours=1))


def test_each_rule_can_fail(
    receipt: Receipt, keyset: KeySet, response_body: object, t0: datetime
) -> None:
    result = verify_receipt(receipt, keyset, output=response_body)  # no prompt shown
    failures = Policy.from_toml(POLICY).check(result, at=t0 + timedelta(days=8)).failures
    assert any(f.startswith("require_content: the prompt") for f in failures)
    assert any(f.startswith("max_age") for f in failures)
    strict = Policy.from_toml(
        'issuers = ["other.example"]\nmodels = ["lab/opus-*"]\nkey_ids = ["k9"]'
    )
    failures = strict.check(result, at=t0).failures
    assert [f.split(":")[0] for f in failures] == ["issuers", "models", "key_ids"]
    assert any("future" in f for f in Policy().check(result, at=t0 - timedelta(hours=1)).failures)


def test_invalid_status_is_refused(receipt: Receipt, t0: datetime) -> None:
    stranger = Ed25519Signer.generate(receipt.key_id)
    from llmseal.core.keyset import KeyEntry

    result = verify_receipt(receipt, KeySet([KeyEntry(stranger.key_id, stranger.public_key())]))
    assert Policy().check(result, at=t0).failures == ("status: the receipt is tampered, not valid",)


def test_keys_bound_to_an_issuer_cannot_claim_another(t0: datetime) -> None:
    from llmseal.core.keyset import KeyEntry
    from llmseal.core.sign import issue_receipt
    from llmseal.trust.keysource import BoundIssuer, KeySources

    a, b = Ed25519Signer.generate("a-key"), Ed25519Signer.generate("b-key")
    trusted = KeySources(
        BoundIssuer(KeySet([KeyEntry("a-key", a.public_key())]), "a.example"),
        BoundIssuer(KeySet([KeyEntry("b-key", b.public_key())]), "b.example"),
    )
    policy = Policy.from_toml(
        'issuers = ["a.example"]\n[keysets]\n"a.example" = "a.json"\n"b.example" = "b.json"'
    )
    assert policy.keyset_issuers == {"a.json": "a.example", "b.json": "b.example"}
    hex64 = "ab" * 32
    # B is trusted for B's receipts, and signs one claiming to be A: valid signature, refused.
    forged = issue_receipt(b, model_id="m/x", prompt_hash=hex64, output_hash=hex64, at=t0,
                           claims={"issuer": "a.example"})  # fmt: skip
    result = verify_receipt(forged, trusted)
    assert result.status.value == "valid"
    assert (
        policy.check(result, at=t0)
        .failures[0]
        .startswith("issuers: the receipt claims issuer 'a.example'")
    )
    honest = issue_receipt(a, model_id="m/x", prompt_hash=hex64, output_hash=hex64, at=t0,
                           claims={"issuer": "api.a.example"})  # fmt: skip
    assert policy.check(verify_receipt(honest, trusted), at=t0).failures == (
        "issuers: issuer 'api.a.example' is not one of ['a.example']",
    )
