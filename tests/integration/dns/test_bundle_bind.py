"""A DNSSEC-keyed receipt's bundle, recorded from a real BIND and verified after it stopped.

``parent.test`` (the verifier's trust anchor) delegates to ``lab.parent.test``,
which publishes the key; the bundle carries the TXT, the child's DNSKEY, its DS
in the parent and the parent's DNSKEY, all as ``dnssec-signzone`` signed them.
The RRSIGs of ``lab.parent.test`` end two hours from now, so a receipt whose
proven time (a witness quorum's cosignature) is three hours from now is judged
against an expired chain, whatever its ``issued_at`` says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from llmseal.bench._beds.named import make_zone, running_named
from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry
from llmseal.core.sign import sign_exchange
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.trust.dns.record import zone_line
from tests.bundle_helpers import Log

pytestmark = pytest.mark.slow
KEY_ID = "lab.parent.test/m1/2026q4"
NOW = datetime.now(UTC).replace(microsecond=0)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y%m%d%H%M%S")


def test_a_dnssec_bundle_verifies_after_bind_is_gone(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    signer = Ed25519Signer.generate(KEY_ID)
    record = zone_line("m1.2026q4.models.lab.parent.test", KeyEntry(KEY_ID, signer.public_key()))
    child = make_zone(tmp_path, "lab.parent.test", [record],
                      inception=_stamp(NOW - timedelta(days=1)),
                      expiration=_stamp(NOW + timedelta(hours=2)))  # fmt: skip
    assert child.dsset is not None
    parent = make_zone(tmp_path, "parent.test", [
        "lab.parent.test. IN NS ns1.parent.test.", *child.dsset.read_text().splitlines()
    ])  # fmt: skip
    assert parent.dsset is not None
    receipt = sign_exchange(signer, model_id="m1", request=REQUEST, response=RESPONSE, at=NOW,
                            claims={"issuer": "lab.parent.test"})  # fmt: skip
    witnesses = tuple(CosignatureSigner.generate(f"w{i}.example") for i in range(2))
    log = Log()
    late = log.prove(receipt, witnesses, at=NOW + timedelta(hours=3))
    (tmp_path / "late.tlog-proof").write_text(late)
    (tmp_path / "witnesses.policy").write_text(_policy_text(log, witnesses))
    response = tmp_path / "answer.json"
    response.write_text(json.dumps({**RESPONSE, "receipt": receipt.to_dict()}))
    (tmp_path / "request.json").write_text(json.dumps(REQUEST))
    out, late_out = tmp_path / "dns.bundle.json", tmp_path / "late.bundle.json"
    with running_named(tmp_path, [parent, child]) as server:
        for target, extra in (
            (out, ()),
            (late_out, ("--proof", str(tmp_path / "late.tlog-proof"))),
        ):
            made = cli("bundle", "create", response, "--request", tmp_path / "request.json",
                       "--dns", "--resolver", server.address, "--trust-anchor", parent.dsset,
                       "--out", target, *extra)  # fmt: skip
            assert made.status == 0, made.stderr
    # named is stopped: everything below is offline.
    answers = json.loads(out.read_text())["items"][0]["evidence"]["dnssec"]["answers"]
    assert [(a["name"], a["type"]) for a in answers] == [
        ("m1.2026q4.models.lab.parent.test.", "TXT"), ("lab.parent.test.", "DS"),
        ("parent.test.", "DNSKEY"), ("lab.parent.test.", "DNSKEY"),
    ]  # fmt: skip
    ok = cli("bundle", "verify", out, "--trust-anchor", parent.dsset, "--json")
    assert ok.status == 0, ok.stdout
    assert ok.json()["items"][0]["key_source"] == "dnssec"
    # The same bundle with a key swapped into the TXT record: bogus.
    data = json.loads(out.read_text())
    txt = data["items"][0]["evidence"]["dnssec"]["answers"][0]["records"]
    theirs = Ed25519Signer.generate(KEY_ID).public_key().b64()
    assert signer.public_key().b64() in txt[0]
    txt[0] = txt[0].replace(signer.public_key().b64(), theirs)
    tampered = tmp_path / "tampered.bundle.json"
    tampered.write_text(json.dumps(data))
    bad = cli("bundle", "verify", tampered, "--trust-anchor", parent.dsset, "--json")
    assert bad.status == 1 and "dnssec_bogus" in " ".join(bad.json()["failures"])
    # Proven (by the witness quorum) three hours from now: the RRSIGs had expired by then.
    later = (NOW + timedelta(hours=4)).isoformat()
    judged = cli("bundle", "verify", late_out, "--trust-anchor", parent.dsset, "--json",
                 "--witness-policy", tmp_path / "witnesses.policy",
                 "--log-vkey", log.vkey, "--at", later)  # fmt: skip
    assert judged.status == 1, judged.stdout
    assert "dnssec_expired" in " ".join(judged.json()["failures"])
    # Without the witness policy the receipt is judged at issued_at: within the window.
    plain = cli("bundle", "verify", late_out, "--trust-anchor", parent.dsset, "--json")
    assert plain.status == 0, plain.stdout


def _policy_text(log: Log, witnesses: tuple[CosignatureSigner, ...]) -> str:
    lines = [f"log {log.vkey}"]
    lines += [f"witness w{i} {w.vkey()}" for i, w in enumerate(witnesses)]
    return "\n".join([*lines, "group q 2 w0 w1", "quorum q"]) + "\n"
