"""``llmseal bench`` reports DNS and HSM numbers (in a fresh process: SoftHSM reads its
configuration once per process, and the bench makes its own throw-away token)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_bench_dns_and_hsm_groups() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "llmseal", "bench", "--quick", "--json", "--only", "dns"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    dns, hsm = out["dns"], out["hsm"]
    assert dns["verify_warm_dns_ops_per_s"] > 0 and dns["verify_keyset_ops_per_s"] > 0
    assert dns["warm_dns_vs_keyset"] > 0 and dns["cold_lookup_ms"] > 0
    # SoftHSM2 is a required system package here: the HSM numbers must be present.
    assert hsm["module"] and hsm["ed25519_sign_ops_per_s"] > 0 and hsm["p256_sign_ops_per_s"] > 0
    assert hsm["software_ed25519_sign_ops_per_s"] > 0 and hsm["issue_receipt_ops_per_s"] > 0
