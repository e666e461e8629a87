"""The DNS key source against in-process signed zones: binding, DNSSEC, caching, errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dns.name
import pytest

from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry
from llmseal.core.policy import Policy
from llmseal.core.sign import issue_receipt
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import ConfigError, KeyLookupError, NetworkError
from llmseal.trust.dns.record import format_record
from llmseal.trust.dns.source import DnsKeySource, parse_nameserver
from tests.dns_zones import NOW, Zone, ZoneServer

HEX = "ab" * 32
AT = datetime.fromtimestamp(NOW, UTC)


@pytest.fixture
def server() -> Iterator[ZoneServer]:
    with ZoneServer() as running:
        yield running


def _publish(server: ZoneServer, zone: Zone, key_id: str, **options: object) -> Ed25519Signer:
    signer = Ed25519Signer.generate(key_id)
    domain, model, period = key_id.split("/")
    record = format_record(KeyEntry(key_id, signer.public_key()))
    server.txt(zone, f"{model}.{period}.models.{domain}.", record, **options)  # type: ignore[arg-type]
    return signer


def _source(server: ZoneServer, zone: Zone, **options: object) -> DnsKeySource:
    clock = options.pop("clock", lambda: NOW)
    return DnsKeySource(server.address, trust_anchors=zone.anchor(), clock=clock, **options)  # type: ignore[arg-type]


def test_a_dns_key_speaks_only_for_its_own_domain(server: ZoneServer) -> None:
    attacker = server.zone("attacker.test.")
    signer = _publish(server, attacker, "attacker.test/m1/2026q1")
    source = _source(server, attacker)
    entry = source.resolve(signer.key_id)
    assert entry is not None and entry.bound_issuer == "attacker.test"
    assert entry.extra["dnssec"] == "secure"
    assert entry.extra["dns_name"] == "m1.2026q1.models.attacker.test."
    policy = Policy()
    for claim, admitted in (("victim.test", False), ("attacker.test", True),
                            ("api.attacker.test", True), ("evilattacker.test", False)):  # fmt: skip
        receipt = issue_receipt(signer, model_id="m", prompt_hash=HEX, output_hash=HEX, at=AT,
                                claims={"issuer": claim})  # fmt: skip
        result = verify_receipt(receipt, source)
        assert result.status is Status.VALID
        failures = policy.check(result, at=AT).failures
        assert (failures == ()) is admitted, (claim, failures)
        if not admitted:
            assert failures[0].startswith(f"issuers: the receipt claims issuer {claim!r}")


def test_a_fixed_name_binds_no_issuer(server: ZoneServer) -> None:
    zone = server.zone("example.test.")
    signer = _publish(server, zone, "example.test/m1/2026q1")
    source = _source(server, zone, name="m1.2026q1.models.example.test")
    entry = source.resolve("any-key-id")
    assert entry is not None and entry.public_key == signer.public_key()
    assert entry.bound_issuer is None
    assert source.dns_name("whatever") == "m1.2026q1.models.example.test."


def test_a_receipt_signed_by_another_key_is_tampered(server: ZoneServer) -> None:
    zone = server.zone("example.test.")
    _publish(server, zone, "example.test/m1/2026q1")
    impostor = Ed25519Signer.generate("example.test/m1/2026q1")
    receipt = issue_receipt(impostor, model_id="m", prompt_hash=HEX, output_hash=HEX, at=AT)
    assert verify_receipt(receipt, _source(server, zone)).status is Status.TAMPERED


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("missing", "not_in_zone"),
        ("other-txt", "not_in_zone"),
        ("unsigned", "dnssec_unsigned"),
        ("expired", "dnssec_expired"),
        ("bad-record", "bad_record"),
        ("two-records", "bad_record"),
        ("foreign-signer", "dnssec_bogus"),
        ("unsigned-zone", "dnssec_unsigned"),
    ],
)
def test_every_untrustworthy_answer_is_an_unknown_key(
    server: ZoneServer, setup: str, code: str
) -> None:
    zone = server.zone("example.test.", signed=setup != "unsigned-zone")
    owner = "m1.2026q1.models.example.test."
    record = format_record(KeyEntry("k", Ed25519Signer.generate("k").public_key()))
    if setup == "other-txt":
        server.txt(zone, owner, "v=spf1 -all")
    elif setup in ("unsigned", "expired", "unsigned-zone"):
        options: dict[str, Any] = {"signed": False} if setup == "unsigned" else {}
        if setup == "expired":
            options = {"start": NOW - 7200, "end": NOW - 60}
        server.txt(zone, owner, record, **options)
    elif setup == "bad-record":
        server.txt(zone, owner, "v=llmsig1; k=rsa; p=AAAA")
    elif setup == "two-records":
        server.txt(zone, owner, record, record.replace("k=ed25519", "k=ed25519 "))
    elif setup == "foreign-signer":
        server.txt(Zone("elsewhere.test."), owner, record)
    source = _source(server, zone)
    with pytest.raises(KeyLookupError) as info:
        source.resolve("example.test/m1/2026q1")
    assert info.value.code == code, str(info.value)
    receipt = issue_receipt(Ed25519Signer.generate("example.test/m1/2026q1"), model_id="m",
                            prompt_hash=HEX, output_hash=HEX, at=AT)  # fmt: skip
    result = verify_receipt(receipt, source)
    assert result.status is Status.UNKNOWN_KEY and code in result.reasons[0]


def test_a_key_id_without_a_dns_name(server: ZoneServer) -> None:
    zone = server.zone("example.test.")
    for key_id in ("plain-key", "nodot/m1/2026q1", "a.test/m1/2026q1/extra"):
        with pytest.raises(KeyLookupError) as info:
            _source(server, zone).resolve(key_id)
        assert info.value.code == "no_dns_name"
    assert server.queries == {}  # refused before any query


def test_answers_are_cached_by_ttl_and_failures_by_negative_ttl(server: ZoneServer) -> None:
    zone = server.zone("example.test.")
    signer = _publish(server, zone, "example.test/m1/2026q1", ttl=60)
    now = [NOW]
    source = _source(server, zone, clock=lambda: now[0], negative_ttl=10)
    txt = ("m1.2026q1.models.example.test.", "TXT")
    for _ in range(3):
        assert source.resolve(signer.key_id) is not None
    assert server.queries[txt] == 1 and server.queries["example.test.", "DNSKEY"] == 1
    now[0] += 59
    source.resolve(signer.key_id)
    assert server.queries[txt] == 1
    now[0] += 1
    source.resolve(signer.key_id)
    assert server.queries[txt] == 2
    missing = ("x.2026q1.models.example.test.", "TXT")
    for _ in range(2):
        with pytest.raises(KeyLookupError):
            source.resolve("example.test/x/2026q1")
    assert server.queries[missing] == 1
    now[0] += 10
    with pytest.raises(KeyLookupError):
        source.resolve("example.test/x/2026q1")
    assert server.queries[missing] == 2
    source.clear()
    source.resolve(signer.key_id)
    assert server.queries[txt] == 3 and server.queries["example.test.", "DNSKEY"] == 2


def test_cache_never_outlives_the_signature(server: ZoneServer) -> None:
    zone = server.zone("example.test.")
    signer = _publish(server, zone, "example.test/m1/2026q1", ttl=3600, end=NOW + 30)
    now = [NOW]
    source = _source(server, zone, clock=lambda: now[0])
    source.resolve(signer.key_id)
    now[0] += 31
    with pytest.raises(KeyLookupError) as info:
        source.resolve(signer.key_id)
    assert info.value.code == "dnssec_expired"
    assert server.queries["m1.2026q1.models.example.test.", "TXT"] == 2


def test_a_child_zone_is_trusted_through_its_parents_ds(server: ZoneServer) -> None:
    parent = server.zone("parent.test.")
    child = server.zone("child.parent.test.")
    orphan = server.zone("orphan.parent.test.")
    server.delegate(parent, child)
    signer = _publish(server, child, "child.parent.test/m1/2026q1")
    lone = _publish(server, orphan, "orphan.parent.test/m1/2026q1")
    source = _source(server, parent)
    entry = source.resolve(signer.key_id)
    assert entry is not None and entry.public_key == signer.public_key()
    assert entry.bound_issuer == "child.parent.test"
    with pytest.raises(KeyLookupError) as info:
        source.resolve(lone.key_id)
    assert info.value.code == "dnssec_insecure"


def test_dnssec_off_reads_unsigned_records(server: ZoneServer) -> None:
    zone = server.zone("example.test.", signed=False)
    signer = _publish(server, zone, "example.test/m1/2026q1", signed=False)
    source = DnsKeySource(server.address, dnssec="off", clock=lambda: NOW)
    entry = source.resolve(signer.key_id)
    assert entry is not None and entry.extra["dnssec"] == "off"
    assert ("example.test.", "DNSKEY") not in server.queries


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="no trust anchor"):
        DnsKeySource("127.0.0.1:53")
    with pytest.raises(ConfigError, match="must be 'required' or 'off'"):
        DnsKeySource("127.0.0.1:53", dnssec="maybe")  # type: ignore[arg-type]


def test_an_unreachable_resolver_is_a_network_error() -> None:
    with ZoneServer() as gone:
        address = gone.address
    source = DnsKeySource(address, dnssec="off", timeout=0.2)
    with pytest.raises(NetworkError, match=f"DNS resolver {address}"):
        source.resolve("example.test/m1/2026q1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5300", ("::1", 5300)),
        ("[::1]", ("::1", 53)),
        ("::1", ("::1", 53)),
    ],
)
def test_parse_nameserver(text: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize("text", ["ns.example:53", "127.0.0.1:0", "127.0.0.1:65536", "1.2.3.4:x"])
def test_bad_nameservers(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_nameserver(text)


def _chain(server: ZoneServer, depth: int) -> tuple[Zone, Zone]:
    """A trust anchor zone and a zone ``depth`` delegations below it, each with a DS."""
    anchor = parent = server.zone("deep.test.")
    for level in range(depth):
        child = server.zone(f"l{level}.{parent.origin}")
        server.delegate(parent, child)
        parent = child
    return anchor, parent


@pytest.mark.parametrize(("depth", "trusted"), [(1, True), (8, True), (9, False)])
def test_a_chain_of_trust_has_at_most_eight_delegations(
    server: ZoneServer, depth: int, trusted: bool
) -> None:
    anchor, leaf = _chain(server, depth)
    domain = leaf.origin.to_text(omit_final_dot=True)
    signer = _publish(server, leaf, f"{domain}/m1/2026q1")
    source = _source(server, anchor)
    if trusted:
        entry = source.resolve(signer.key_id)
        assert entry is not None and entry.public_key == signer.public_key()
        assert server.queries[leaf.origin.to_text(), "DS"] == 1
        return
    with pytest.raises(KeyLookupError) as info:
        source.resolve(signer.key_id)
    assert info.value.code == "dnssec_bogus"
    assert "no chain of trust from a trust anchor to" in str(info.value)


def _child(server: ZoneServer) -> tuple[Zone, Zone, Ed25519Signer]:
    parent = server.zone("parent.test.")
    child = server.zone("child.parent.test.")
    return parent, child, _publish(server, child, "child.parent.test/m1/2026q1")


def _ds(child: Zone) -> Any:
    import dns.dnssec
    import dns.rrset

    return dns.rrset.from_rdata(
        child.origin, 3600, dns.dnssec.make_ds(child.origin, child.key, "SHA256")
    )


@pytest.mark.parametrize(
    ("signed_by", "code", "message"),
    [
        ("nobody", "dnssec_unsigned", "the DS record at child.parent.test. has no RRSIG"),
        ("child", "dnssec_bogus", "the DS of child.parent.test. is signed by child.parent.test."),
        ("stranger", "dnssec_bogus", "the DS of child.parent.test. is signed by stranger.test."),
        ("expired", "dnssec_expired", "the RRSIG over the DS record at child.parent.test. expired"),
        ("missing", "dnssec_insecure",
         "no DS for child.parent.test. in its parent: the chain of trust from parent.test. is "
         "broken"),
    ],
)  # fmt: skip
def test_a_ds_that_does_not_come_from_the_parent_breaks_the_chain(
    server: ZoneServer, signed_by: str, code: str, message: str
) -> None:
    parent, child, signer = _child(server)
    ds = _ds(child)
    if signed_by == "nobody":
        server.put(ds)
    elif signed_by == "child":
        server.put(ds, child.sign(ds))
    elif signed_by == "stranger":
        server.put(ds, Zone("stranger.test.").sign(ds))
    elif signed_by == "expired":
        server.put(ds, parent.sign(ds, start=NOW - 7200, end=NOW - 60))
    with pytest.raises(KeyLookupError) as info:
        _source(server, parent).resolve(signer.key_id)
    assert info.value.code == code
    assert str(info.value).startswith(message), str(info.value)


def test_zone_keys_are_cached_no_longer_than_the_ds_signature(server: ZoneServer) -> None:
    parent, child, signer = _child(server)
    ds = _ds(child)
    server.put(ds, parent.sign(ds, end=NOW + 30))
    now = [NOW]
    source = _source(server, parent, clock=lambda: now[0])
    txt = ("m1.2026q1.models.child.parent.test.", "TXT")
    source.resolve(signer.key_id)
    now[0] += 29
    source.resolve(signer.key_id)  # everything still cached
    assert server.queries[txt] == 1 and server.queries["child.parent.test.", "DS"] == 1
    now[0] += 2
    with pytest.raises(KeyLookupError) as info:  # the DS signature ran out: re-checked
        source.resolve(signer.key_id)
    assert info.value.code == "dnssec_expired" and server.queries[txt] == 2
    assert server.queries["child.parent.test.", "DS"] == 2


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no TXT record at m1.2026q1.models.example.test.: the key is not in the zone"),
        ("other-txt", "no v=llmsig1 record among the TXT at m1.2026q1.models.example.test."),
        ("bad-record", "the TXT record at m1.2026q1.models.example.test. is malformed: "
                       "unsupported key type k='rsa'"),
        ("two-records", "m1.2026q1.models.example.test. has 2 v=llmsig1 records; one is allowed"),
    ],
)  # fmt: skip
def test_record_problems_are_named(server: ZoneServer, setup: str, message: str) -> None:
    zone = server.zone("example.test.")
    owner = "m1.2026q1.models.example.test."
    record = format_record(KeyEntry("k", Ed25519Signer.generate("k").public_key()))
    texts = {"other-txt": ["v=spf1 -all"], "bad-record": ["v=llmsig1; k=rsa; p=AAAA"],
             "two-records": [record, record.replace("k=ed25519", "k=ed25519 ")]}  # fmt: skip
    if setup in texts:
        server.txt(zone, owner, *texts[setup])
    with pytest.raises(KeyLookupError) as info:
        _source(server, zone).resolve("example.test/m1/2026q1")
    assert str(info.value) == message


def test_the_entry_names_the_receipt_key_id(server: ZoneServer) -> None:
    zone = server.zone("example.test.")
    signer = _publish(server, zone, "example.test/m1/2026q1")
    entry = _source(server, zone).resolve("example.test/m1/2026q1")
    assert entry is not None and entry.key_id == "example.test/m1/2026q1"
    assert entry.bound_issuer == "example.test" and entry.public_key == signer.public_key()
    with pytest.raises(KeyLookupError, match="not in canonical form"):
        _source(server, zone).resolve("Example.Test/m1/2026q1")


def test_a_zero_ttl_is_not_cached_and_the_answer_ttl_counts(server: ZoneServer) -> None:
    zone = server.zone("example.test.")
    signer = _publish(server, zone, "example.test/m1/2026q1", ttl=0)
    source = _source(server, zone)
    txt = ("m1.2026q1.models.example.test.", "TXT")
    source.resolve(signer.key_id)
    source.resolve(signer.key_id)
    assert server.queries[txt] == 2
    # A resolver hands out the record with its TTL counted down below the signed one.
    other = server.zone("other.test.")
    key_id = "other.test/m1/2026q1"
    signed = _publish(server, other, key_id, ttl=300)
    name = ("m1.2026q1.models.other.test.", "TXT")
    [rrset, sigs] = server.records[dns_name(name[0]), 16]
    rrset.ttl = 60
    now = [NOW]
    counted = _source(server, other, clock=lambda: now[0])
    counted.resolve(signed.key_id)
    now[0] += 59
    counted.resolve(signed.key_id)
    assert server.queries[name] == 1
    now[0] += 1
    counted.resolve(signed.key_id)
    assert server.queries[name] == 2 and sigs[0].original_ttl == 300


def dns_name(text: str) -> dns.name.Name:
    return dns.name.from_text(text)
