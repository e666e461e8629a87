"""Mutated llm_sign envelopes: a clean verdict or an InputError, never a crash or a pass."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmseal.bench._payload import REQUEST, RESPONSE
from llmseal.compat.llm_sign import LlmSignIssuer, LlmSignStatus, verify_llm_sign
from llmseal.errors import InputError
from tests.x509_helpers import Lab

HOST = "api.lab.example"
NOW = datetime.now(UTC)
_values = st.none() | st.booleans() | st.integers(-2, 2**65) | st.text(max_size=12) | st.just([])
# Members whose change does not touch what is signed (llm_sign leaves them unsigned).
_UNSIGNED = {"schema", "artifact_hash", "version"}


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
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_paths(item, (*prefix, index)))
    return out


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutations_never_crash_and_never_pass(
    signed: tuple[Lab, dict[str, Any]], data: st.DataObject
) -> None:
    lab, response = signed
    envelope = response["llm_sign"]
    paths = [p for p in _paths(envelope) if "certificate_chain" not in p]
    path = data.draw(st.sampled_from(paths))
    replacement = data.draw(_values)
    mutated = copy.deepcopy(response)
    target = mutated["llm_sign"]
    for key in path[:-1]:
        target = target[key]
    if target[path[-1]] == replacement:
        return
    target[path[-1]] = replacement
    try:
        result = verify_llm_sign(mutated, lab.validator(), at=NOW, issuer=HOST, request=REQUEST)
    except InputError:
        return
    if path[-1] in _UNSIGNED or path[0] == "artifact_hash" or path[:2] == ("artifact", "protocol"):
        return  # unsigned metadata: llm_sign does not protect it, neither can we
    assert result.status is not LlmSignStatus.VALID, (path, replacement)
