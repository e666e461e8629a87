"""Issue 9, defect 11: a policy file has one layout, every setting accounted for."""

from __future__ import annotations

import pytest

from llmseal.core.policy import Policy
from llmseal.errors import ConfigError

MIXED = """
issuers = ["good.example"]
models = ["lab/opus-*"]
key_ids = ["good.example/opus/2026q1"]

[policy]
max_age = "7d"
"""


def test_top_level_rules_beside_a_policy_table_are_refused() -> None:
    """Loaded before as max_age only: any issuer, model and key id was admitted."""
    with pytest.raises(ConfigError, match="outside the \\[policy\\] table"):
        Policy.from_toml(MIXED)


def test_a_keysets_table_beside_a_policy_table_is_refused() -> None:
    text = '[policy]\nissuers = ["a.example"]\n\n[keysets]\n"a.example" = "keys.json"\n'
    with pytest.raises(ConfigError, match="keysets"):
        Policy.from_toml(text)


def test_either_layout_alone_keeps_every_rule() -> None:
    top = Policy.from_toml('issuers = ["a.example"]\nmax_age = "7d"\n')
    table = Policy.from_toml('[policy]\nissuers = ["a.example"]\nmax_age = "7d"\n')
    assert top == table and top.issuers == ("a.example",) and top.max_age is not None


@pytest.mark.parametrize(
    "text",
    [
        '[keysets]\n"a.example" = "https://x/keys"\n"b.example" = "https://x/keys"\n',
        'keysets = ["keys.json", "keys.json"]\n',
    ],
    ids=["one-location-two-issuers", "listed-twice"],
)
def test_a_key_set_location_bound_twice_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="more than once"):
        Policy.from_toml(text)
