"""The bundle reader and verifier, fuzzed with byte mutations of a real three-hop bundle.

Outcomes allowed: a :class:`~llmseal.errors.BundleError` (or another llmseal input
error) while reading, or a verdict. Never a crash, and never ``ok`` unless every
receipt's signed content is exactly what the bundle carries.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from llmseal.bench.bundle import T0, _three_hops
from llmseal.bundle.format import Bundle
from llmseal.bundle.verify import verify_bundle
from llmseal.core.hashing import hash_json, hash_response
from llmseal.errors import Error
from tests.fuzz.test_fuzz_verify import mutation
from tests.helpers import examples

BUNDLE, ANCHORS, _LOG = _three_hops()
DATA = BUNDLE.to_json()
AT = T0 + timedelta(hours=1)


@settings(max_examples=examples(300), deadline=None)
@given(st.data())
def test_a_mutated_bundle_is_refused_or_exactly_the_signed_content(data: st.DataObject) -> None:
    text = data.draw(mutation(DATA))
    try:
        bundle = Bundle.from_json(text)
    except Error:
        return
    result = verify_bundle(bundle, ANCHORS, at=AT)
    if result:
        for item in bundle.items:
            assert item.request is not None and item.response is not None
            assert hash_json(item.request) == item.receipt.prompt_hash
            assert hash_response(item.response) == item.receipt.output_hash
        assert [i.receipt.to_dict() for i in bundle.items] == [
            i.receipt.to_dict() for i in BUNDLE.items
        ]
