"""The x509 bench group runs and reports its keys (speed is judged by `llmseal bench`)."""

from __future__ import annotations

import os

from llmseal.bench import x509


def test_x509_group_shape() -> None:
    before = os.environ.get("SSL_CERT_FILE")
    out = x509.run(quick=True)["x509"]
    assert os.environ.get("SSL_CERT_FILE") == before  # the bench restores the environment
    for row in ("verify_chain", "verify_llm_sign", "system_store"):
        assert out[row]["ops_per_s"] > 0
        assert out[row]["llm_sign_ops_per_s"] > 0
        assert out[row]["vs_llm_sign"] is not None
    assert out["system_store"]["anchors"] > 1
    assert out["verify_chain_uncached"]["ops_per_s"] > 0
