"""Mutated llm_sign envelopes: a clean verdict or an InputError, never a crash or a pass.

Replacements keep each member's JSON type and format (a digest stays 43 base64url
characters, a signature stays base64url DER-sized, a block type stays a known type), so
most examples get past parsing and reach the signature and pinning checks: the test
counts verdicts with ``hypothesis.event`` and asserts that most examples reach one.
"""

from __future__ import annotations

import base64
import copy
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.compat.llm_sign import LlmSignIssuer, LlmSignStatus, verify_llm_sign
from llmseal.errors import InputError
from tests.helpers import examples
from tests.x509_helpers import Lab

HOST = "api.lab.example"
NOW = datetime.now(UTC)
# Members llm_sign leaves unsigned, by full path: changing them cannot be caught by a
# signature (the envelope's own schema/protocol labels and its self-declared hash).
_UNSIGNED = {
    ("artifact", "schema"),
    ("artifact", "protocol", "version"),
    ("artifact", "protocol", "min_reader_version"),
    ("artifact", "common", "version"),
    ("artifact", "platform"),  # the aliases of one platform: which one is named is not signed
    ("artifact_hash",),
}
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_BLOCK_TYPES = ("provider_received_input", "provider_output", "tool_result")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _like(value: Any, path: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """Another value of the same type and format as ``value``."""
    name = path[-1]
    if isinstance(value, bool):
        return st.just(not value)
    if isinstance(value, int):
        return st.integers(-1, 8)
    if value is None:  # the first block's prev_block_digest
        return st.binary(min_size=32, max_size=32).map(_b64url)
    assert isinstance(value, str), (path, value)
    if name == "signature":
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        flipped = st.integers(0, len(raw) - 1).map(
            lambda i: _b64url(raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1 :])
        )
        return flipped | st.binary(min_size=len(raw), max_size=len(raw)).map(_b64url)
    if name == "type":
        return st.sampled_from(_BLOCK_TYPES)
    if name == "platform":
        return st.sampled_from(["openai", "vllm", "chat-completions", "anthropic"])
    if name == "suite_id":
        return st.sampled_from(["sha256-ed25519-v1", "sha256-ecdsa-p256-v1", "sha256-rsa-pss-v1"])
    if name == "profile_id":
        return st.sampled_from(
            ["openai.chat-completions.input.v1", "openai.chat-completions.output.v1"]
        )
    if name == "key_id":
        return st.binary(min_size=32, max_size=32).map(lambda b: "spki-sha256:" + _b64url(b))
    if name == "issuer":
        return st.sampled_from(
            ["api.lab.example.evil", "lab.example", "other.example", HOST.upper()]
        )
    if len(value) == 43 and set(value) <= set(_B64URL):  # a SHA-256 digest
        return st.binary(min_size=32, max_size=32).map(_b64url)
    return st.text(_B64URL + ".-", min_size=1, max_size=len(value) + 4)


@pytest.fixture(scope="module")
def signed() -> tuple[Lab, dict[str, Any]]:
    lab = Lab(NOW - timedelta(days=1))
    leaf, signer = lab.leaf(names=(HOST,))
    issuer = LlmSignIssuer(
        [leaf, lab.inter],
        signer._key,  # type: ignore[attr-defined]
    )
    response = copy.deepcopy(RESPONSE)
    response["llm_sign"] = issuer.envelope(REQUEST, response)
    return lab, response


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix and not isinstance(value, dict | list) else []
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_paths(item, (*prefix, index)))
    return out


def test_the_untouched_envelope_is_valid(signed: tuple[Lab, dict[str, Any]]) -> None:
    lab, response = signed
    result = verify_llm_sign(response, lab.validator(), at=NOW, issuer=HOST, request=REQUEST)
    assert result.status is LlmSignStatus.VALID


def test_mutations_never_crash_and_never_pass(signed: tuple[Lab, dict[str, Any]]) -> None:
    lab, response = signed
    paths = [p for p in _paths(response["llm_sign"]) if p[0] != "certificate_chain"]
    signed_paths = [p for p in paths if p not in _UNSIGNED]
    unsigned_paths = [p for p in paths if p in _UNSIGNED]
    outcomes: Counter[str] = Counter()

    @settings(
        max_examples=examples(250),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(data=st.data())
    def mutate(data: st.DataObject) -> None:
        # Mostly signed members (the checks under test); unsigned ones only must not crash.
        pick = signed_paths if data.draw(st.integers(0, 9)) else unsigned_paths
        path = data.draw(st.sampled_from(pick))
        mutated = copy.deepcopy(response)
        target = mutated["llm_sign"]
        for key in path[:-1]:
            target = target[key]
        replacement = data.draw(
            _like(target[path[-1]], path).filter(lambda v: v != target[path[-1]])
        )
        target[path[-1]] = replacement
        try:
            result = verify_llm_sign(mutated, lab.validator(), at=NOW, issuer=HOST, request=REQUEST)
        except InputError:
            outcome = "refused as malformed"
        else:
            if path in _UNSIGNED:
                outcome = "unsigned member"
            else:
                outcome = "verdict"
                assert result.status is not LlmSignStatus.VALID, (path, replacement)
        event(outcome)
        outcomes[outcome] += 1

    mutate()
    total = sum(outcomes.values())
    assert total >= examples(250) and outcomes["verdict"] >= 0.8 * total, outcomes
