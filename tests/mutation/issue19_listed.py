"""Apply each mutant issue 19 lists, run the test file meant to kill it, restore the source.

    .venv/bin/python tests/mutation/issue19_listed.py

Prints KILLED (and the first failing test) or SURVIVED per mutant; exits 1 if any survived.
The source file is restored even when interrupted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CORE, CLIENT, TRUST = "src/llmseal/core/", "src/llmseal/client/", "src/llmseal/trust/"
UNIT = "tests/unit/"
MUTANTS = [
    ("key bound to example.com accepted for evilexample.com", CORE + "keyset.py",
     'claim.endswith("." + bound)', "claim.endswith(bound)", UNIT + "core/test_keyset.py"),
    ("unknown key status treated as active", CORE + "keyset.py",
     'if status not in ("active", "revoked"):\n            raise KeySetError(',
     'if status != "revoked":\n            status = "active"\n        if False:\n            (',
     UNIT + "core/test_keyset.py"),
    ("key_id listed twice, the later entry shadows", CORE + "keyset.py",
     "if entry.key_id in by_id:", "if False:", UNIT + "core/test_keyset.py"),
    ("valid signature spelled non-canonically accepted", CORE + "keys.py",
     "or canonical != text:", ":", UNIT + "core/test_verify.py"),
    ("policy admits revoked and unknown_key", CORE + "policy.py",
     "if result.status is not Status.VALID:", "if result.status is Status.TAMPERED:",
     UNIT + "core/test_policy.py"),
    ("key_ids = ['k1'] matches k10 and k1-evil", CORE + "policy.py",
     "receipt.key_id not in self.key_ids",
     "not any(receipt.key_id.startswith(k) for k in self.key_ids)", UNIT + "core/test_policy.py"),
    ("signed endpoint of another route accepted", CLIENT + "failures.py",
     "if claimed_endpoint != endpoint:", "if False:", UNIT + "client/test_verifier.py"),
    ("expect_issuer met by a receipt without issuer", CLIENT + "failures.py",
     "is not None and issuer != expect.issuer:",
     "is not None and issuer is not None and issuer != expect.issuer:",
     UNIT + "client/test_verifier.py"),
    ("stripped receipt relayed as 201/203/3xx", CLIENT + "verifier.py",
     "self.require_receipt and status < 400:", "self.require_receipt and status == 200:",
     UNIT + "client/test_verifier.py"),
    ("base URL with a path prefix never verified", CLIENT + "verifier.py",
     "if path.endswith(endpoint):", "if path == endpoint:", UNIT + "client/test_verifier.py"),
    ("content after the receipt and [DONE]", CLIENT + "stream.py",
     "if self._done:\n", "if False:\n", UNIT + "client/test_stream.py"),
    ("content after the receipt (no [DONE] yet)", CLIENT + "stream.py",
     "        if self.result is not None:\n            raise BindingError(\"the stream continued",
     "        if False:\n            raise BindingError(\"the stream continued",
     UNIT + "client/test_stream.py"),
    ("Anthropic event type with a newline", CLIENT + "stream.py",
     "or not _EVENT_NAME.fullmatch(kind):", ":", UNIT + "client/test_stream.py"),
    ("DNS key for attacker.example vouches for victim.example", TRUST + "dns/source.py",
     'extra["bound_issuer"] = ', "_ = ", UNIT + "trust/test_dns.py"),
    ("DNSKEY with the RFC 5011 REVOKE flag as anchor", TRUST + "dns/dnssec.py",
     "and not key.flags & _REVOKE_FLAG", "", UNIT + "trust/test_dnssec.py"),
    ("RRset owner outside the signing zone", TRUST + "dns/dnssec.py",
     "if not name.is_subdomain(zone):", "if False:", UNIT + "trust/test_dnssec.py"),
]  # fmt: skip


def run(title: str, path: str, old: str, new: str, test: str) -> bool:
    source = Path(path)
    original = source.read_text()
    if original.count(old) != 1:
        raise SystemExit(f"{title}: the code to mutate is gone from {path}; update this list")
    source.write_text(original.replace(old, new))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        source.write_text(original)
    failed = [line[7:] for line in done.stdout.splitlines() if line.startswith("FAILED ")]
    killed = done.returncode == 1 and bool(failed)
    print(
        f"{'KILLED' if killed else 'SURVIVED'}: {title}"
        + (f"\n    by {failed[0]}" if killed else "")
    )
    return killed


if __name__ == "__main__":
    results = [run(*mutant) for mutant in MUTANTS]
    print(f"{sum(results)} of {len(results)} listed mutants killed")
    sys.exit(0 if all(results) else 1)
