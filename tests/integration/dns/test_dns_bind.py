"""Key discovery through a real BIND ``named`` serving zones signed by ``dnssec-signzone``.

One ``named`` on a free loopback port serves every zone of this module:

* ``good.test``      signed; current, revoked (``r=``), P-256 keys and non-llmsig1 TXT;
* ``tampered.test``  signed, then the TXT record's key swapped for an attacker's;
* ``expired.test``   signed with an inception and expiration in 2020;
* ``unsigned.test``  never signed (no RRSIG at all);
* ``parent.test`` -> ``child.parent.test`` a delegation with a DS in the parent, and
  ``orphan.parent.test`` a signed child whose parent has no DS.

If ``named`` or the signing tools cannot run, the fixture raises: the tests fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dns.dnssec
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from dns.dnssectypes import Algorithm

from llmseal.bench._beds.named import NamedServer, Zone, make_zone, running_named
from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.core.keys import EcdsaP256Signer, Ed25519Signer, Signer
from llmseal.core.keyset import KeyEntry
from llmseal.core.sign import sign_exchange
from llmseal.core.verify import Status, Verification, verify_receipt
from llmseal.errors import KeyLookupError, NetworkError
from llmseal.trust.dns.dnssec import load_trust_anchors, parse_trust_anchors
from llmseal.trust.dns.record import zone_line
from llmseal.trust.dns.source import DnsKeySource

pytestmark = pytest.mark.slow

NOW = datetime.now(UTC).replace(microsecond=0)
ROTATED = NOW - timedelta(days=10)


@dataclass
class World:
    server: NamedServer
    zones: dict[str, Zone]
    signers: dict[str, Signer]
    attacker: Ed25519Signer
    tmp: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def source(self, zone: str, **kwargs: Any) -> DnsKeySource:
        anchor = self.zones[zone].dsset
        anchors = load_trust_anchors(anchor) if anchor else None
        kwargs.setdefault("dnssec", "required" if anchors else "off")
        return DnsKeySource(self.server.address, trust_anchors=anchors, **kwargs)


def _line(key_id: str, signer: Signer, *, rotated: datetime | None = None) -> str:
    entry = KeyEntry(key_id, signer.public_key())
    if rotated is not None:
        entry = entry.revoked(rotated)
    zone, model, period = key_id.split("/")
    return zone_line(f"{model}.{period}.models.{zone}", entry)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("dns")
    ed = Ed25519Signer.generate("good.test/m1/2026q1")
    old = Ed25519Signer.generate("good.test/m1/2025q4")
    p256 = EcdsaP256Signer.generate("good.test/p256/2026q1")
    attacker = Ed25519Signer.generate("attacker")
    signers: dict[str, Signer] = {s.key_id: s for s in (ed, old, p256)}
    good = make_zone(tmp, "good.test", [
        _line(ed.key_id, ed),
        _line(old.key_id, old, rotated=ROTATED),
        _line(p256.key_id, p256),
        'spf.models.good.test. IN TXT "v=spf1 -all"',
        f'*.wild.models.good.test. IN TXT "{_line(ed.key_id, ed).split(chr(34))[1]}"',
        'bad.2026q1.models.good.test. IN TXT "v=llmsig1; k=rsa; p=AAAA"',
        f'two.2026q1.models.good.test. IN TXT "{_line(ed.key_id, ed).split(chr(34))[1]}"',
        f'two.2026q1.models.good.test. IN TXT "{_line(old.key_id, old).split(chr(34))[1]}"',
    ])  # fmt: skip
    zones = {"good": good}
    for name in ("tampered", "expired", "unsigned", "child", "orphan"):
        signer = Ed25519Signer.generate(f"{name}.test/m1/2026q1")
        signers[name] = signer
    tampered = make_zone(
        tmp, "tampered.test", [_line("tampered.test/m1/2026q1", signers["tampered"])]
    )
    tampered.tamper(signers["tampered"].public_key().b64(), attacker.public_key().b64())
    zones["tampered"] = tampered
    zones["expired"] = make_zone(
        tmp, "expired.test", [_line("expired.test/m1/2026q1", signers["expired"])],
        inception="20200101000000", expiration="20200201000000",
    )  # fmt: skip
    zones["unsigned"] = make_zone(
        tmp, "unsigned.test", [_line("unsigned.test/m1/2026q1", signers["unsigned"])], signed=False
    )
    child = make_zone(
        tmp, "child.parent.test", [_line("child.parent.test/m1/2026q1", signers["child"])]
    )
    orphan = make_zone(
        tmp, "orphan.parent.test", [_line("orphan.parent.test/m1/2026q1", signers["orphan"])]
    )
    assert child.dsset is not None
    delegation = [
        "child.parent.test. IN NS ns1.parent.test.",
        *child.dsset.read_text().splitlines(),
        "orphan.parent.test. IN NS ns1.parent.test.",
    ]
    zones["parent"] = make_zone(tmp, "parent.test", delegation)
    zones["child"], zones["orphan"] = child, orphan
    with running_named(tmp, list(zones.values())) as server:
        yield World(server, zones, signers, attacker, tmp)


def _receipt(signer: Signer, key_id: str | None = None, at: datetime = NOW) -> dict[str, Any]:
    if key_id is not None:  # an attacker signs under someone else's key id
        signer = _Renamed(signer, key_id)
    return sign_exchange(signer, model_id="m", request=REQUEST, response=RESPONSE, at=at).to_dict()


class _Renamed:
    def __init__(self, inner: Signer, key_id: str) -> None:
        self.key_id = key_id
        self.algorithm = inner.algorithm
        self.public_key = inner.public_key
        self.sign = inner.sign


def _verify(receipt: dict[str, Any], source: DnsKeySource) -> Verification:
    return verify_receipt(receipt, source, prompt=REQUEST, output=RESPONSE)


def test_receipt_verifies_through_dnssec(world: World) -> None:
    signer = world.signers["good.test/m1/2026q1"]
    result = _verify(_receipt(signer), world.source("good"))
    assert result.status is Status.VALID, result.reasons
    assert result.key is not None
    assert result.key.extra["dns_name"] == "m1.2026q1.models.good.test."
    assert result.key.extra["dnssec"] == "secure"


def test_p256_key_through_dns(world: World) -> None:
    signer = world.signers["good.test/p256/2026q1"]
    result = _verify(_receipt(signer), world.source("good"))
    assert result.status is Status.VALID, result.reasons
    assert result.key is not None and result.key.public_key.algorithm == "ecdsa-p256"


def test_every_anchor_format_works(world: World) -> None:
    zone = world.zones["good"]
    assert zone.dsset is not None and zone.ksk is not None
    ds_line = zone.dsset.read_text().split()
    key_line = next(x for x in zone.ksk.read_text().splitlines() if not x.startswith(";")).split()
    bind = (
        "trust-anchors {\n"
        f'  good.test. static-ds {" ".join(ds_line[3:6])} "{"".join(ds_line[6:])}";\n'
        f'  good.test. static-key {" ".join(key_line[3:6])} "{"".join(key_line[6:])}";\n'
        "};\n"
    )
    signer = world.signers["good.test/m1/2026q1"]
    for anchors in (
        load_trust_anchors(zone.dsset),
        load_trust_anchors(zone.ksk),
        parse_trust_anchors(bind),
    ):
        source = DnsKeySource(world.server.address, trust_anchors=anchors)
        assert _verify(_receipt(signer), source).status is Status.VALID


def test_rotation_keeps_old_receipts_valid_and_revokes_new_ones(world: World) -> None:
    old = world.signers["good.test/m1/2025q4"]
    source = world.source("good")
    before = _verify(_receipt(old, at=ROTATED - timedelta(days=30)), source)
    assert before.status is Status.VALID, before.reasons
    after = _verify(_receipt(old, at=ROTATED + timedelta(days=1)), source)
    assert after.status is Status.REVOKED
    assert any("revoked since" in r for r in after.reasons)


def _unknown(result: Verification, code: str) -> str:
    assert result.status is Status.UNKNOWN_KEY, result
    assert len(result.reasons) == 1
    assert result.reasons[0].startswith(f"{code}: "), result.reasons
    return result.reasons[0]


def test_tampered_txt_record_is_bogus(world: World) -> None:
    # The attacker replaced the published key with its own and signs with it.
    forged = _receipt(world.attacker, "tampered.test/m1/2026q1")
    reason = _unknown(_verify(forged, world.source("tampered")), "dnssec_bogus")
    assert "m1.2026q1.models.tampered.test." in reason
    # The same forged receipt *would* pass if DNSSEC were off: that is the attack.
    assert _verify(forged, world.source("tampered", dnssec="off")).status is Status.VALID


def test_expired_rrsig_fails_now_and_passes_at_an_injected_time(world: World) -> None:
    signer = world.signers["expired"]
    receipt = _receipt(signer, "expired.test/m1/2026q1")
    reason = _unknown(_verify(receipt, world.source("expired")), "dnssec_expired")
    assert "expired at 2020-02-01T00:00:00Z" in reason
    then = datetime(2020, 1, 15, tzinfo=UTC).timestamp()
    in_window = world.source("expired", clock=lambda: then)
    assert _verify(receipt, in_window).status is Status.VALID
    before = datetime(2019, 12, 1, tzinfo=UTC).timestamp()
    early = world.source("expired", clock=lambda: before)
    _unknown(_verify(receipt, early), "dnssec_not_yet_valid")


def test_missing_rrsig_fails_closed(world: World) -> None:
    receipt = _receipt(world.signers["unsigned"], "unsigned.test/m1/2026q1")
    # Anchored at good.test's key: the verifier requires DNSSEC, the zone has none.
    good_anchor = world.zones["good"].dsset
    assert good_anchor is not None
    anchors = load_trust_anchors(good_anchor)
    source = DnsKeySource(world.server.address, trust_anchors=anchors)
    _unknown(_verify(receipt, source), "dnssec_unsigned")
    # --dnssec off accepts it, and says so.
    result = _verify(receipt, world.source("unsigned", dnssec="off"))
    assert result.status is Status.VALID
    assert result.key is not None and result.key.extra["dnssec"] == "off"


def test_key_not_in_the_zone(world: World) -> None:
    stranger = Ed25519Signer.generate("good.test/m9/2026q1")
    reason = _unknown(_verify(_receipt(stranger), world.source("good")), "not_in_zone")
    assert "m9.2026q1.models.good.test." in reason
    other = _receipt(world.attacker, "good.test/spf")  # a name with only non-llmsig1 TXT
    _unknown(_verify(other, world.source("good")), "not_in_zone")


def test_malformed_and_ambiguous_records(world: World) -> None:
    signer = world.signers["good.test/m1/2026q1"]
    _unknown(_verify(_receipt(signer, "good.test/bad/2026q1"), world.source("good")), "bad_record")
    _unknown(_verify(_receipt(signer, "good.test/two/2026q1"), world.source("good")), "bad_record")


def test_wildcard_answers_are_refused(world: World) -> None:
    # *.wild.models.good.test holds a real key; a name it synthesizes must not resolve.
    signer = world.signers["good.test/m1/2026q1"]
    receipt = _receipt(signer, "good.test/anything/wild")
    reason = _unknown(_verify(receipt, world.source("good")), "dnssec_bogus")
    assert "wildcard" in reason


def test_wrong_trust_anchor_is_bogus(world: World) -> None:
    stranger = dns.dnssec.make_dnskey(
        ed25519.Ed25519PrivateKey.generate().public_key(), Algorithm.ED25519, flags=257
    )
    anchors = parse_trust_anchors(f"good.test. IN DNSKEY {stranger}\n")
    source = DnsKeySource(world.server.address, trust_anchors=anchors)
    reason = _unknown(
        _verify(_receipt(world.signers["good.test/m1/2026q1"]), source), "dnssec_bogus"
    )
    assert "matches the trust anchor" in reason


def test_signed_by_a_zone_outside_the_anchor(world: World) -> None:
    anchor = world.zones["good"].dsset
    assert anchor is not None
    source = DnsKeySource(world.server.address, trust_anchors=load_trust_anchors(anchor))
    receipt = _receipt(world.signers["tampered"], "tampered.test/m1/2026q1")
    assert "no trust anchor covers" in _unknown(_verify(receipt, source), "dnssec_bogus")


def test_chain_of_trust_through_a_delegation(world: World) -> None:
    source = world.source("parent")
    receipt = _receipt(world.signers["child"], "child.parent.test/m1/2026q1")
    assert _verify(receipt, source).status is Status.VALID
    orphan = _receipt(world.signers["orphan"], "orphan.parent.test/m1/2026q1")
    _unknown(_verify(orphan, source), "dnssec_insecure")


def test_explicit_dns_name_overrides_the_rule(world: World) -> None:
    signer = Ed25519Signer.generate("issuer-key-7")  # no DNS name by the rule
    source = world.source("good")
    _unknown(_verify(_receipt(signer), source), "no_dns_name")
    ed = world.signers["good.test/m1/2026q1"]
    named = world.source("good", name="m1.2026q1.models.good.test")
    assert _verify(_receipt(ed, "issuer-key-7"), named).status is Status.VALID


def test_cache_by_ttl_with_an_injected_clock(tmp_path: Path) -> None:
    signer = Ed25519Signer.generate("cache.test/m1/2026q1")
    zone = make_zone(tmp_path, "cache.test", [_line(signer.key_id, signer)])
    assert zone.dsset is not None
    now = [NOW.timestamp()]
    with running_named(tmp_path, [zone]) as server:
        source = DnsKeySource(
            server.address,
            trust_anchors=load_trust_anchors(zone.dsset),
            clock=lambda: now[0],
            timeout=0.5,
        )
        receipt = _receipt(signer)
        assert _verify(receipt, source).status is Status.VALID
        with pytest.raises(KeyLookupError):
            source.resolve("cache.test/m2/2026q1")
    # named is gone: the negative cache (30 s) still answers...
    now[0] += 29
    with pytest.raises(KeyLookupError):
        source.resolve("cache.test/m2/2026q1")
    now[0] += 270  # ...and within the TTL (300 s in the zone) the positive one does too...
    assert _verify(receipt, source).status is Status.VALID
    now[0] += 2  # ...and past it the source has to ask again, and cannot.
    with pytest.raises(NetworkError, match=r"did not answer|failed"):
        source.resolve(signer.key_id)


# --- the command line -------------------------------------------------------


def test_keys_dns_record_cli(cli: Callable[..., Any], tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    made = cli(
        "keys", "new", "example.test/m1/2026q1", "--dir", keys, "--at", "2026-01-01T00:00:00Z"
    )
    assert made.status == 0, made.stderr
    assert cli("keys", "new", "p/2026", "--dir", keys, "--algorithm", "ecdsa-p256").status == 0
    entry = json.loads((keys / "keys.json").read_text())["keys"][0]
    out = cli("keys", "dns-record", "example.test/m1/2026q1", "--dir", keys)
    assert out.status == 0, out.stderr
    assert out.stdout == (
        f'm1.2026q1.models.example.test. IN TXT "v=llmsig1; k=ed25519; p={entry["public_key"]}"\n'
    )
    p256 = cli("keys", "dns-record", "p/2026", "--dir", keys, "--name", "p.models.example.test")
    assert p256.stdout.startswith('p.models.example.test. IN TXT "v=llmsig1; k=ecdsa-p256; p=')
    no_name = cli("keys", "dns-record", "p/2026", "--dir", keys)
    assert no_name.status == 2 and "--name" in no_name.stderr
    assert cli("keys", "dns-record", "nope", "--dir", keys).status == 2
    bad = cli("keys", "dns-record", "p/2026", "--dir", keys, "--name", "a..b")
    assert bad.status == 2 and bad.stderr.count("\n") == 1
    done = cli(
        "keys", "revoke", "example.test/m1/2026q1", "--dir", keys, "--at", "2026-05-01T00:00:00Z"
    )
    assert done.status == 0, done.stderr
    revoked = cli("keys", "dns-record", "example.test/m1/2026q1", "--dir", keys, "--ttl", "60")
    assert revoked.stdout.startswith("m1.2026q1.models.example.test. 60 IN TXT")
    assert revoked.stdout.endswith('; r=2026-05-01T00:00:00Z"\n')


def test_verify_cli_through_dns(cli: Callable[..., Any], world: World, tmp_path: Path) -> None:
    good = world.zones["good"].dsset
    signer = world.signers["good.test/m1/2026q1"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_receipt(signer)))
    base = ("verify", path, "--dns", "--resolver", world.server.address)
    ok = cli(*base, "--trust-anchor", good, "--json")
    assert ok.status == 0, ok.stderr
    assert ok.json()["key_source"]["dnssec"] == "secure"
    human = cli(*base, "--trust-anchor", good)
    assert "m1.2026q1.models.good.test. (DNSSEC secure)" in human.stdout
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(_receipt(world.attacker, "tampered.test/m1/2026q1")))
    bogus = cli("verify", forged, "--dns", "--resolver", world.server.address,
                "--trust-anchor", world.zones["tampered"].dsset, "--json")  # fmt: skip
    assert bogus.status == 1
    assert bogus.json()["status"] == "unknown_key"
    assert bogus.json()["reasons"][0].startswith("dnssec_bogus: ")


def test_verify_cli_usage_errors(cli: Callable[..., Any], world: World, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_receipt(world.signers["good.test/m1/2026q1"])))
    for args in (
        (),  # neither --keys nor --dns
        ("--dns", "--resolver", world.server.address),  # required DNSSEC, no anchor
        ("--resolver", world.server.address),  # DNS option without --dns
        ("--dns", "--resolver", "dns.example:53", "--dnssec", "off"),
        ("--dns", "--resolver", world.server.address, "--trust-anchor", tmp_path / "none"),
    ):
        result = cli("verify", path, *args)
        assert result.status == 2, (args, result.stdout)
        assert "Traceback" not in result.stderr


def test_verify_cli_keys_first_then_dns(
    cli: Callable[..., Any], world: World, tmp_path: Path
) -> None:
    signer = world.signers["good.test/m1/2026q1"]
    other = Ed25519Signer.generate("local-only")
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [KeyEntry(other.key_id, other.public_key()).to_dict()]}))
    good = world.zones["good"].dsset
    for receipt in (_receipt(signer), _receipt(other)):
        path = tmp_path / "r.json"
        path.write_text(json.dumps(receipt))
        result = cli("verify", path, "--keys", keys, "--dns", "--resolver",
                     world.server.address, "--trust-anchor", good)  # fmt: skip
        assert result.status == 0, result.stdout
