"""A reference without a family's section: that family says UNDETERMINED, exactly, and why."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.family import registry
from llmseal.audit.stats.sequential import ErrorRates
from llmseal.audit.stats.verdict import Outcome, Verdict

AT = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize("name", ["kbf", "logprob", "stack"])
def test_a_family_without_its_section_is_undetermined(name: str) -> None:
    empty = Reference.build(model_id="m", families={}, covers=["endpoint"], at=AT, source="test")
    family = registry().get(name)
    verdict = family.verify(empty, [], ErrorRates())
    assert verdict == Verdict(name, Outcome.UNDETERMINED, 0.0, 1.0, 0.0, 0, (),
                              f"the reference has no {name} section")  # fmt: skip
    # nor does it plan probes it could not score (stack still lists /v1/models)
    planned = [p.id for p in family.probes(empty, rng=random.Random(1))]
    assert planned == (["stack:models"] if name == "stack" else [])
