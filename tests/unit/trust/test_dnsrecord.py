"""The v=llmsig1 TXT record format, the name rule and trust-anchor files (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import dns.dnssec
import dns.name
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from dns.dnssectypes import Algorithm
from dns.rdtypes.ANY.DNSKEY import DNSKEY

from llmseal.core.keys import EcdsaP256Signer, Ed25519Signer
from llmseal.core.keyset import KeyEntry
from llmseal.errors import ConfigError, KeyLookupError, KeySetError
from llmseal.trust.dns.dnssec import closest_anchor, parse_trust_anchors
from llmseal.trust.dns.record import (
    dns_name_for_key_id,
    format_record,
    normalize_name,
    parse_record,
    zone_line,
)
from llmseal.trust.dns.source import DnsKeySource, parse_nameserver


@pytest.mark.parametrize(
    ("key_id", "name"),
    [
        ("anthropic.com/claude-opus-4/2025q1", "claude-opus-4.2025q1.models.anthropic.com."),
        ("Example.TEST/M1/2026Q1", None),  # an alias of example.test/m1/2026q1 (issue 9)
        ("anthropic.com/claude-opus-4", "claude-opus-4.models.anthropic.com."),
        ("lab/2026q2", None),  # a one-label "domain" is no domain
        ("bench-key", None),
        ("example.com/a b/2026", None),
        ("example.com/m/2026/extra", None),
        ("example.com/-bad/2026", None),
        ("example.com/" + "x" * 64 + "/2026", None),
    ],
)
def test_name_rule(key_id: str, name: str | None) -> None:
    assert dns_name_for_key_id(key_id) == name


def test_record_round_trip_ed25519_and_p256() -> None:
    for signer in (Ed25519Signer.generate("a"), EcdsaP256Signer.generate("b")):
        entry = KeyEntry(signer.key_id, signer.public_key())
        text = format_record(entry)
        record = parse_record(text)
        assert record is not None
        assert record.public_key == signer.public_key()
        assert record.rotated_at is None
        assert record.entry("a").status == "active"
    assert "k=ecdsa-p256" in text


def test_zone_line_is_the_seed_format() -> None:
    signer = Ed25519Signer.generate("x")
    entry = KeyEntry("x", signer.public_key())
    line = zone_line("claude-opus-4.models.anthropic.com", entry)
    assert line == (
        "claude-opus-4.models.anthropic.com. IN TXT "
        f'"v=llmsig1; k=ed25519; p={signer.public_key().b64()}"'
    )
    assert zone_line("a.example.", entry, ttl=60).startswith("a.example. 60 IN TXT ")


def test_revoked_record_carries_rotated_at() -> None:
    signer = Ed25519Signer.generate("x")
    at = datetime(2026, 3, 1, tzinfo=UTC)
    entry = KeyEntry("x", signer.public_key()).revoked(at)
    text = format_record(entry)
    assert text.endswith("; r=2026-03-01T00:00:00Z")
    parsed = parse_record(text)
    assert parsed is not None and parsed.rotated_at == at
    back = parsed.entry("x")
    assert back.status == "revoked"
    assert not back.revoked_as_of(datetime(2026, 2, 28, tzinfo=UTC))
    assert back.revoked_as_of(at)
    # Revoked with no time on record: revoked for every receipt (fail closed).
    forever = KeyEntry("x", signer.public_key(), "revoked")
    assert format_record(forever).endswith("r=1970-01-01T00:00:00Z")


def test_tag_names_follow_rfc_6376() -> None:
    key = Ed25519Signer.generate("x").public_key().b64()
    with pytest.raises(KeySetError):  # tag-name = ALPHA *ALNUMPUNC: no '-'
        parse_record(f"v=llmsig1; p={key}; x-future=1")


@pytest.mark.parametrize(
    "text",
    ["v=spf1 -all", "", "p=abc; v=llmsig1", "v=llmsig2; p=abc", "hello world"],
)
def test_other_txt_records_are_not_ours(text: str) -> None:
    assert parse_record(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "v=llmsig1; k=rsa; p=AAAA",
        "v=llmsig1; k=ed25519",
        "v=llmsig1; k=ed25519; p=",
        "v=llmsig1; p=not-base64!",
        "v=llmsig1; p=AAAA",  # 3 bytes is no Ed25519 key
        "v=llmsig1; p=AAAA; p=AAAA",
        "v=llmsig1; garbage",
        "v=llmsig1; p={key}; r=yesterday",
    ],
)
def test_malformed_records_are_refused(text: str) -> None:
    key = Ed25519Signer.generate("x").public_key().b64()
    with pytest.raises(KeySetError):
        parse_record(text.format(key=key))


def test_unknown_tags_are_ignored() -> None:
    key = Ed25519Signer.generate("x").public_key().b64()
    record = parse_record(f"v=llmsig1 ; k=ed25519 ;p = {key} ; n=future_note;")
    assert record is not None and record.public_key.b64() == key


@pytest.mark.parametrize("bad", ["", "a..b", "-a.b", "a_b.c", "x" * 64 + ".c"])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(KeySetError):
        normalize_name(bad)


def _dnskey(flags: int = 257) -> DNSKEY:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    return dns.dnssec.make_dnskey(public, Algorithm.ED25519, flags=flags)


def test_trust_anchor_formats() -> None:
    zone = dns.name.from_text("example.test.")
    key = _dnskey()
    ds = dns.dnssec.make_ds(zone, key, "SHA256")
    dsset = f"example.test.\t\tIN DS {ds.to_text()}\n"
    keyfile = f"; This is a key-signing key\n; Created: now\nexample.test. IN DNSKEY {key}\n"
    b64 = key.to_text().split(" ", 3)[3].replace(" ", "")
    digest = ds.to_text().split(" ", 3)[3].replace(" ", "")
    bind = (
        "trust-anchors {\n"
        f'  example.test. static-key 257 3 15 "{b64}";\n'
        f'  "example.test" initial-ds {ds.key_tag} 15 2 "{digest}";\n'
        "};\n"
    )
    old_bind = f'trusted-keys {{ example.test. 257 3 15 "{b64}"; }};'
    assert parse_trust_anchors(dsset)[zone].ds == (ds,)
    assert parse_trust_anchors(keyfile)[zone].dnskeys == (key,)
    both = parse_trust_anchors(bind)[zone]
    assert both.dnskeys == (key,) and both.ds == (ds,)
    assert parse_trust_anchors(old_bind)[zone].dnskeys == (key,)


@pytest.mark.parametrize(
    "text",
    ["", "; only a comment\n", "example.test. IN A 127.0.0.1\n", "not a record at all\n"],
)
def test_unusable_trust_anchor_files(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_trust_anchors(text, source="anchor.txt")


def test_closest_anchor_is_the_deepest_zone() -> None:
    text = (
        f"test. IN DNSKEY {_dnskey()}\nexample.test. IN DNSKEY {_dnskey()}\n"
        f"other.test. IN DNSKEY {_dnskey()}\n"
    )
    anchors = parse_trust_anchors(text)
    found = closest_anchor(anchors, dns.name.from_text("m.models.example.test."))
    assert found is not None and found.zone == dns.name.from_text("example.test.")
    assert closest_anchor(anchors, dns.name.from_text("example.org.")) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:5353", ("127.0.0.1", 5353)), ("10.0.0.1", ("10.0.0.1", 53)),
     ("[::1]:53", ("::1", 53)), ("::1", ("::1", 53))],
)  # fmt: skip
def test_nameserver_syntax(text: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize("text", ["dns.google:53", "127.0.0.1:0", "127.0.0.1:x", "1.2.3.4:70000"])
def test_bad_nameservers(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_nameserver(text)


def test_dnssec_required_needs_an_anchor() -> None:
    with pytest.raises(ConfigError, match="trust anchor"):
        DnsKeySource("127.0.0.1:53")
    with pytest.raises(ConfigError):
        DnsKeySource("127.0.0.1:53", dnssec="maybe", trust_anchors=None)  # type: ignore[arg-type]


def test_key_id_without_dns_name_is_unknown_not_an_error() -> None:
    source = DnsKeySource("127.0.0.1:9", dnssec="off")
    with pytest.raises(KeyLookupError) as caught:
        source.resolve("bench-key")
    assert caught.value.code == "no_dns_name"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v=llmsig1; k=rsa; p=AAAA", "unsupported key type k='rsa'"),
        ("v=llmsig1; k=ed25519", "the record has no public key (p=)"),
        ("v=llmsig1; p=", "the record has no public key (p=)"),
        ("v=llmsig1; p=AAAA; bad tag", "malformed tag 'bad tag' in a v=llmsig1 record"),
        ("v=llmsig1; p=AAAA; 1x=2", "malformed tag '1x=2' in a v=llmsig1 record"),
        ("v=llmsig1; p=AAAA; p=BBBB", "tag p= appears twice in a v=llmsig1 record"),
        ("v=llmsig1; p={key}; r=soon", "r= is not an RFC 3339 time: 'soon'"),
    ],
)
def test_malformed_records_say_what_is_wrong(text: str, message: str) -> None:
    from llmseal.core.keys import Ed25519Signer
    from llmseal.errors import KeySetError
    from llmseal.trust.dns.record import parse_record

    key = Ed25519Signer.generate("k").public_key().b64()
    with pytest.raises(KeySetError) as info:
        parse_record(text.replace("{key}", key))
    assert str(info.value) == message


def test_the_version_tag_may_hold_blanks_but_must_come_first() -> None:
    from llmseal.core.keys import Ed25519Signer
    from llmseal.trust.dns.record import parse_record

    key = Ed25519Signer.generate("k").public_key()
    for text in (f"v = llmsig1; p={key.b64()}", f"v=\tllmsig1 ;p={key.b64()};"):
        record = parse_record(text)
        assert record is not None and record.entry("kid").public_key == key
        assert record.entry("kid").key_id == "kid"
    for other in (f"p={key.b64()}; v=llmsig1", "v=llmsig2; p=AAAA", "", ";", "v=llmsig1x"):
        assert parse_record(other) is None, other
