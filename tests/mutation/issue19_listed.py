import subprocess, sys, pathlib
M = [
 ("keyset: suffix match without the dot", "src/llmseal/core/keyset.py", 'claim.endswith("." + bound)', 'claim.endswith(bound)', "tests/unit/core/test_keyset.py"),
 ("keyset: unknown status treated as active", "src/llmseal/core/keyset.py", '''        if status not in ("active", "revoked"):
            raise KeySetError(f"key {key_id!r}: status must be 'active' or 'revoked'")''', '''        if status != "revoked":
            status = "active"''', "tests/unit/core/test_keyset.py"),
 ("keyset: duplicate key_id, later shadows", "src/llmseal/core/keyset.py", '''            if entry.key_id in by_id:
                raise KeySetError(f"key set lists key_id {entry.key_id!r} twice")''', "", "tests/unit/core/test_keyset.py"),
 ("keys: non-canonical base64 accepted", "src/llmseal/core/keys.py", "if len(raw) != SIGNATURE_LENGTH or canonical != text:", "if len(raw) != SIGNATURE_LENGTH:", "tests/unit/core/test_verify.py"),
 ("policy: revoked/unknown_key admitted", "src/llmseal/core/policy.py", "if result.status is not Status.VALID:", "if result.status is Status.TAMPERED:", "tests/unit/core/test_policy.py"),
 ("policy: key_ids prefix match", "src/llmseal/core/policy.py", "receipt.key_id not in self.key_ids", "not any(receipt.key_id.startswith(k) for k in self.key_ids)", "tests/unit/core/test_policy.py"),
 ("verifier: endpoint claim ignored", "src/llmseal/client/verifier.py", "if claimed_endpoint != endpoint:", "if False:", "tests/unit/client/test_verifier.py"),
 ("verifier: expect_issuer met by absent claim", "src/llmseal/client/verifier.py", "if self.expect.issuer is not None and issuer != self.expect.issuer:", "if self.expect.issuer is not None and issuer is not None and issuer != self.expect.issuer:", "tests/unit/client/test_verifier.py"),
 ("verifier: stripped receipt only fails on 200", "src/llmseal/client/verifier.py", "if self.require_receipt and status < 400:", "if self.require_receipt and status == 200:", "tests/unit/client/test_verifier.py"),
 ("verifier: path prefix never verified", "src/llmseal/client/verifier.py", "if path.endswith(endpoint):", "if path == endpoint:", "tests/unit/client/test_verifier.py"),
 ("stream: content after receipt+[DONE]", "src/llmseal/client/stream.py", '''            if self.result is not None:
                raise BindingError("the stream continued after its receipt")''', "", "tests/unit/client/test_stream.py"),
 ("stream: Anthropic event type injection", "src/llmseal/client/stream.py", "if not isinstance(kind, str) or not kind.isidentifier():", "if not isinstance(kind, str):", "tests/unit/client/test_stream.py"),
 ("dns: key vouches for any issuer", "src/llmseal/trust/dns.py", '''        extra["bound_issuer"] = key_id.split("/", 1)[0].lower()''', "        pass", "tests/unit/trust/test_dns.py"),
 ("dnssec: REVOKE-flagged anchor accepted", "src/llmseal/trust/dnssec.py", "and not key.flags & _REVOKE_FLAG", "", "tests/unit/trust/test_dnssec.py"),
 ("dnssec: owner outside the signing zone", "src/llmseal/trust/dnssec.py", "if not name.is_subdomain(zone):", "if False:", "tests/unit/trust/test_dnssec.py"),
]
for title, path, old, new, test in M:
    p = pathlib.Path(path); orig = p.read_text()
    assert orig.count(old) == 1, title
    p.write_text(orig.replace(old, new))
    try:
        r = subprocess.run([".venv/bin/pytest", "-q", "-x", "-p", "no:cacheprovider", test], capture_output=True, text=True)
        failed = [l for l in r.stdout.splitlines() if l.startswith("FAILED")]
        print(f"{'KILLED' if r.returncode else 'SURVIVED'}: {title}: {failed[0][7:] if failed else ''}")
    finally:
        p.write_text(orig)
