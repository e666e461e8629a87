"""References are content-addressed: any change to the content changes the id."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from llmseal.audit.enrollment.reference import Reference, content_id
from llmseal.errors import AuditIntegrityError, InputError


def _reference(t0: datetime, **extra: Any) -> Reference:
    return Reference.build(
        model_id="smollm2-135m-instruct", aliases=["smollm2"], at=t0, source="endpoint",
        covers=["endpoint:repeat", "n_batch=1"],
        families={"kbf": {"probes": [{"id": "kbf:1", "answer": 8.0}],
                          "envelope": {"exceed": 1, "total": 80}}},
        **extra,
    )  # fmt: skip


def test_round_trip_keeps_the_id(t0: datetime) -> None:
    ref = _reference(t0)
    again = Reference.from_json(ref.to_json())
    assert again.reference_id == ref.reference_id
    assert ref.reference_id == content_id(ref.body, exclude=())
    assert ref.reference_id.startswith("sha256:") and len(ref.reference_id) == 71
    assert again.names("smollm2") and not again.names("gemma")
    assert again.section("kbf") is not None and again.section("logprob") is None
    assert again.covers == ("endpoint:repeat", "n_batch=1")


def test_formatting_and_member_order_do_not_matter(t0: datetime) -> None:
    ref = _reference(t0)
    shuffled = json.dumps(dict(reversed(list(ref.to_dict().items()))), indent=7)
    assert Reference.from_json(shuffled).reference_id == ref.reference_id


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["families"]["kbf"]["probes"][0].update(answer=9.0),
        lambda d: d["families"]["kbf"]["envelope"].update(exceed=0),
        lambda d: d["covers"].append("threads=1"),
        lambda d: d.update(model_id="gemma-3-270m"),
        lambda d: d.update(extension={"unknown": True}),
    ],
)
def test_any_edit_is_refused(t0: datetime, edit: Any) -> None:
    data = _reference(t0).to_dict()
    edit(data)
    with pytest.raises(AuditIntegrityError) as info:
        Reference.from_dict(data)
    assert info.value.code == "hash_mismatch"


def test_unknown_members_are_kept_and_hashed(t0: datetime) -> None:
    data = _reference(t0).to_dict()
    data["extension"] = {"note": "kept"}
    data["reference_id"] = content_id(data, exclude=("reference_id",))
    ref = Reference.from_dict(data)
    assert ref.to_dict()["extension"] == {"note": "kept"}


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"reference_id": "x"},
        {
            "reference_id": "x",
            "version": 2,
            "model_id": "m",
            "created_at": "",
            "source": "",
            "covers": [],
            "families": {},
        },
    ],
)
def test_non_references_are_input_errors(data: Any) -> None:
    with pytest.raises(InputError):
        Reference.from_dict(data)
