"""The bundle bench group runs and reports its rows (speed is judged by `llmseal bench`)."""

from __future__ import annotations

from llmseal.bench import bundle


def test_bundle_group_shape() -> None:
    out = bundle.run(quick=True)["bundle"]
    for row in ("verify_3hop", "verify_3hop_witnessed", "verify_3hop_shared"):
        assert out[row]["ms"] > 0 and out[row]["raw_ms"] > 0
        assert out[row]["bytes"] > 0
    assert out["size_1"]["answer_bytes"] >= 2048
    assert out["size_1"]["bytes"] > out["size_1"]["answer_bytes"]
