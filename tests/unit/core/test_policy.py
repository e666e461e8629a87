"""Relying-party policy: parsing and every rule, at an injected time."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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
    receipt: Receipt,
    keyset: KeySet,
    request_body: dict[str, Any],
    response_body: dict[str, Any],
    t0: datetime,
) -> None:
    result = verify_receipt(receipt, keyset, prompt=request_body, output=response_body)
    assert Policy.from_toml(POLICY).check(result, at=t0 + timedelta(hours=1))


def test_each_rule_can_fail(
    receipt: Receipt, keyset: KeySet, response_body: dict[str, Any], t0: datetime
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


def test_revoked_and_unknown_key_verifications_are_refused(receipt: Receipt, t0: datetime) -> None:
    from llmseal.core.keyset import KeyEntry

    signer_key = Ed25519Signer.generate(receipt.key_id).public_key()
    for keys, status in (
        (KeySet(), "unknown_key"),
        (KeySet([KeyEntry(receipt.key_id, signer_key, "revoked")]), "revoked"),
    ):
        result = verify_receipt(receipt, keys)
        assert result.status.value == status
        failures = Policy().check(result, at=t0).failures
        assert failures[0] == f"status: the receipt is {status}, not valid"
        assert not Policy().check(result, at=t0)


def test_key_ids_match_exactly(t0: datetime) -> None:
    from llmseal.core.keyset import KeyEntry
    from llmseal.core.sign import issue_receipt

    policy = Policy.from_toml('key_ids = ["k1"]')
    for key_id, admitted in (("k1", True), ("k10", False), ("k1-evil", False), ("K1", False)):
        signer = Ed25519Signer.generate(key_id)
        receipt = issue_receipt(signer, model_id="m", prompt_hash="ab" * 32,
                                output_hash="ab" * 32, at=t0)  # fmt: skip
        result = verify_receipt(receipt, KeySet([KeyEntry(key_id, signer.public_key())]))
        failures = policy.check(result, at=t0).failures
        expected = () if admitted else (f"key_ids: key {key_id!r} is not allowed",)
        assert failures == expected, key_id


def test_issuer_and_model_patterns_do_not_match_lookalikes(
    receipt: Receipt, keyset: KeySet, t0: datetime
) -> None:
    result = verify_receipt(receipt, keyset)  # issuer api.example.org, model example.org/smollm2…
    assert Policy.from_toml('issuers = ["api.example.org"]').check(result, at=t0)
    for issuers in ('["example.org"]', '["api.example.or"]', '["API.example.org"]'):
        assert not Policy.from_toml(f"issuers = {issuers}").check(result, at=t0), issuers
    assert Policy.from_toml('models = ["example.org/smollm2-*"]').check(result, at=t0)
    for models in ('["example.org/smollm2"]', '["example.org/gemma-*"]', '["Example.org/*"]'):
        assert not Policy.from_toml(f"models = {models}").check(result, at=t0), models


def test_time_rules_at_their_boundaries(receipt: Receipt, keyset: KeySet, t0: datetime) -> None:
    result = verify_receipt(receipt, keyset)
    policy = Policy.from_toml('max_age = "1h"\nclock_skew = "30s"')
    assert policy.check(result, at=t0 + timedelta(hours=1))
    assert policy.check(result, at=t0 - timedelta(seconds=30))
    assert policy.check(result, at=t0 + timedelta(hours=1, seconds=1)).failures == (
        f"max_age: issued {receipt.issued_at}, older than 1:00:00",
    )
    assert policy.check(result, at=t0 - timedelta(seconds=31)).failures == (
        f"issued_at: {receipt.issued_at} is in the future",
    )
    assert Policy().check(result, at=t0 + timedelta(days=3650))  # no max_age: no age limit
    assert Policy().check(result, at=t0 - timedelta(minutes=5))  # default skew is 5 minutes
    assert not Policy().check(result, at=t0 - timedelta(minutes=5, seconds=1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max_age = 90", timedelta(seconds=90)),
        ("max_age = '15m'", timedelta(minutes=15)),
        ("max_age = '12 h'", timedelta(hours=12)),
        ("max_age = '0s'", timedelta()),
        ("max_age = '2d'", timedelta(days=2)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert Policy.from_toml(text).max_age == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_age = -1", "p.toml: max_age must look like 30s, 15m, 12h or 7d"),
        ("max_age = true", "p.toml: max_age must look like 30s, 15m, 12h or 7d"),
        ("max_age = '1w'", "p.toml: max_age must look like 30s, 15m, 12h or 7d"),
        ("max_age = '99999999999999d'", "p.toml: max_age is too long"),
        ("clock_skew = 'soon'", "p.toml: clock_skew must look like 30s, 15m, 12h or 7d"),
        ("issuers = ['']", "p.toml: issuers must be a list of non-empty strings"),
        ("models = [1]", "p.toml: models must be a list of non-empty strings"),
        ("key_ids = [1]", "p.toml: key_ids must be a list of non-empty strings"),
        ("keysets = [1]", "p.toml: keysets must be a list of non-empty strings"),
        ("keysets = {'a' = ''}", "p.toml: [keysets] maps issuer names to key set locations"),
        ("keysets = {'a' = 1}", "p.toml: [keysets] maps issuer names to key set locations"),
        ("policy = 3", "p.toml: [policy] must be a table"),
        ("require_content = ['prompt', 'weights']",
         "p.toml: require_content takes 'prompt' and/or 'output'"),
        ("require_content = [3]", "p.toml: require_content must be a list of non-empty strings"),
        ("require_receipt = 1", "p.toml: require_receipt must be true or false"),
        ("bogus = 1\nother = 2", "p.toml: unknown setting(s) ['bogus', 'other']"),
        ("=", "p.toml is not TOML: "),
    ],
)  # fmt: skip
def test_bad_settings_name_the_file_and_the_setting(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Policy.from_toml(text, source="p.toml")
    assert str(info.value).startswith(message), str(info.value)
    with pytest.raises(ConfigError) as default:
        Policy.from_toml(text)
    assert str(default.value).startswith(message.replace("p.toml", "policy", 1))


def test_settings_defaults_and_zero(receipt: Receipt, keyset: KeySet, t0: datetime) -> None:
    policy = Policy.from_toml("max_age = 0")
    assert policy.max_age == timedelta(0) and policy.clock_skew == timedelta(minutes=5)
    assert Policy.from_toml("clock_skew = 0").clock_skew == timedelta(0)
    assert Policy.from_toml("").require_receipt is True
    assert Policy.from_toml("").max_age is None
    result = verify_receipt(receipt, keyset)
    assert policy.check(result, at=t0)
    assert not policy.check(result, at=t0 + timedelta(seconds=1))


def test_load_and_describe(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY + 'key_ids = ["k1"]\nrequire_receipt = false\n')
    policy = Policy.load(path)
    assert policy.describe() == {
        "keysets": ["https://review.example/v1/receipts/keys"], "issuers": ["api.example.org"],
        "models": ["example.org/*"], "key_ids": ["k1"], "max_age_s": 604800.0,
        "require_receipt": False, "require_content": ["output", "prompt"],
        "require_logged": False, "logs": [], "witness_policy": None, "require_witnessed": False,
    }  # fmt: skip
    assert Policy().describe()["max_age_s"] is None and Policy().require_receipt is True
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as info:
        Policy.load(missing)
    assert str(info.value) == f"cannot read policy {missing}: No such file or directory"
    with pytest.raises(ConfigError, match=r"policy\.toml is not TOML"):
        path.write_text("=")
        Policy.load(path)


def test_the_log_table_names_a_witness_policy(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "policy.toml"
    path.parent.mkdir()
    path.write_text('[log]\nwitness_policy = "w.policy"\nrequire_witnessed = true\n')
    policy = Policy.load(path)
    assert policy.witness_policy == str(tmp_path / "sub" / "w.policy")  # next to the policy
    assert policy.require_witnessed
    assert Policy.from_toml('[log]\nwitness_policy = "/etc/w"\n').witness_policy == "/etc/w"
    for bad, message in (
        ("[log]\nrequire_witnessed = true\n", "needs a witness_policy"),
        ("[log]\nwitness_policy = 3\n", "must be a file name"),
        ("[log]\nwitnesses = 1\n", r"unknown \[log\] setting"),
        ('log = "x"\n', r"\[log\] must be a table"),
    ):
        with pytest.raises(ConfigError, match=message):
            Policy.from_toml(bad)


def test_require_witnessed_is_a_policy_failure(attest_vectors: dict[str, Any]) -> None:
    case = next(c for c in attest_vectors["cases"] if c["expected"] == "valid")
    result = verify_receipt(case["receipt"], KeySet.from_obj(attest_vectors["keyset"]))
    policy = Policy.from_toml('[log]\nwitness_policy = "w"\nrequire_witnessed = true\n')
    at = result.receipt.issued_at_datetime
    assert policy.check(result, at=at, witnessed=True).failures == ()
    (failure,) = policy.check(result, at=at, witness_reason="cosigned by w1 only").failures
    assert failure == "require_witnessed: cosigned by w1 only"


def test_the_chain_table_names_transforms_and_hops() -> None:
    policy = Policy.from_toml(
        '[chain]\ntransforms = ["identity", "redact"]\nhops = ["relay.example"]'
    )
    assert policy.chain_transforms == frozenset({"identity", "redact"})
    assert policy.chain_hops == ("relay.example",)
    assert Policy.from_toml("").chain_transforms is None
    with pytest.raises(ConfigError, match=r"unknown \[chain\] setting"):
        Policy.from_toml("[chain]\ntrust_everyone = true")
    with pytest.raises(ConfigError, match="must be a table"):
        Policy.from_toml('chain = "all"')
