"""Evidence bundles: one file that proves an answer offline (docs/spec/bundle.md).

Example::

    bundle = make_bundle([item_from_response(response, request=request, keyset=keys)], at=now)
    result = verify_bundle(Bundle.from_json(data), Anchors(keys=(pinned,)), at=now)
    bool(result)  # True iff every receipt, link and policy rule holds
"""
