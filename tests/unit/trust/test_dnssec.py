"""DNSSEC judgement in-process (dnspython signs): anchors, revoked keys, zone boundaries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from llmseal.errors import KeyLookupError
from llmseal.trust.dns.dnssec import (
    TrustAnchor,
    authenticate_dnskeys,
    closest_anchor,
    parse_trust_anchors,
    validate_rrset,
)

NOW = float(int(time.time()))
ZONE = dns.name.from_text("example.test.")
KSK, ZSK, REVOKE = 257, 256, 0x80


def _key(flags: int) -> tuple[ed25519.Ed25519PrivateKey, DNSKEY]:
    private = ed25519.Ed25519PrivateKey.generate()
    return private, dns.dnssec.make_dnskey(private.public_key(), "ED25519", flags=flags)


def _sign(
    rrset: dns.rrset.RRset, private: ed25519.Ed25519PrivateKey, key: DNSKEY,
    signer: dns.name.Name = ZONE, *, start: float = NOW - 3600, end: float = NOW + 3600,
) -> dns.rrset.RRset:  # fmt: skip
    sig = dns.dnssec.sign(rrset, private, signer, key, inception=start, expiration=end)
    return dns.rrset.from_rdata(rrset.name, rrset.ttl, sig)


def _txt(owner: str, text: str = "v=llmsig1; k=ed25519; p=AAAA") -> dns.rrset.RRset:
    return dns.rrset.from_text(owner, 300, "IN", "TXT", f'"{text}"')


def _dnskeys(*keys: DNSKEY) -> dns.rrset.RRset:
    return dns.rrset.from_rdata_list(ZONE, 300, list(keys))


def test_an_anchored_key_authenticates_the_zone_keys() -> None:
    ksk_private, ksk = _key(KSK)
    _, zsk = _key(ZSK)
    keys = _dnskeys(ksk, zsk)
    sigs = _sign(keys, ksk_private, ksk)
    assert authenticate_dnskeys(ZONE, keys, sigs, anchors=[ksk], now=NOW) == [ksk, zsk]
    ds = dns.dnssec.make_ds(ZONE, ksk, "SHA256")
    assert authenticate_dnskeys(ZONE, keys, sigs, ds=[ds], now=NOW) == [ksk, zsk]


@pytest.mark.parametrize("how", ["dnskey", "ds"])
def test_a_key_with_the_rfc5011_revoke_flag_is_no_anchor(how: str) -> None:
    private, revoked = _key(KSK | REVOKE)
    keys = _dnskeys(revoked)
    sigs = _sign(keys, private, revoked)
    anchor = {"anchors": [revoked]} if how == "dnskey" else {
        "ds": [dns.dnssec.make_ds(ZONE, revoked, "SHA256")]
    }  # fmt: skip
    with pytest.raises(KeyLookupError, match="matches the trust anchor") as info:
        authenticate_dnskeys(ZONE, keys, sigs, now=NOW, **anchor)
    assert info.value.code == "dnssec_bogus"


def test_only_zone_keys_count() -> None:
    private, not_a_zone_key = _key(0)
    keys = _dnskeys(not_a_zone_key)
    with pytest.raises(KeyLookupError, match="matches the trust anchor"):
        authenticate_dnskeys(
            ZONE, keys, _sign(keys, private, not_a_zone_key), anchors=[not_a_zone_key], now=NOW
        )
    ksk_private, ksk = _key(KSK)
    keys = _dnskeys(ksk, not_a_zone_key)
    sigs = _sign(keys, ksk_private, ksk)
    assert authenticate_dnskeys(ZONE, keys, sigs, anchors=[ksk], now=NOW) == [ksk]


def test_no_dnskey_or_a_wrong_anchor_is_bogus() -> None:
    private, ksk = _key(KSK)
    _, stranger = _key(KSK)
    keys = _dnskeys(ksk)
    for dnskeys in (None, dns.rrset.RRset(ZONE, dns.rdataclass.IN, dns.rdatatype.DNSKEY)):
        with pytest.raises(KeyLookupError, match="publishes no DNSKEY"):
            authenticate_dnskeys(ZONE, dnskeys, None, anchors=[ksk], now=NOW)
    with pytest.raises(KeyLookupError, match="matches the trust anchor"):
        authenticate_dnskeys(ZONE, keys, _sign(keys, private, ksk), anchors=[stranger], now=NOW)
    both = _dnskeys(ksk, stranger)  # the anchored key is listed but the signature is not its
    with pytest.raises(KeyLookupError, match="does not verify") as info:
        authenticate_dnskeys(ZONE, both, _sign(both, *_key(KSK)), anchors=[ksk], now=NOW)
    assert info.value.code == "dnssec_bogus"


@pytest.mark.parametrize(
    "owner", ["victim.example.", "evilexample.test.", "example.test.evil.", "test."]
)
def test_an_rrset_outside_the_signing_zone_is_bogus(owner: str) -> None:
    private, key = _key(ZSK)
    txt = _txt(owner)
    sigs = _sign(txt, private, key)  # validly signed by example.test.'s key
    with pytest.raises(KeyLookupError, match=f"outside the zone {ZONE}") as info:
        validate_rrset(txt, sigs, ZONE, [key], now=NOW)
    assert info.value.code == "dnssec_bogus"


def test_validate_rrset_codes() -> None:
    private, key = _key(ZSK)
    owner = "m.2026q1.models.example.test."
    txt = _txt(owner)
    validate_rrset(txt, _sign(txt, private, key), ZONE, [key], now=NOW)
    cases = {
        "dnssec_unsigned": (None, "has no RRSIG"),
        "dnssec_expired": (_sign(txt, private, key, start=NOW - 7200, end=NOW - 1), "expired at"),
        "dnssec_not_yet_valid": (
            _sign(txt, private, key, start=NOW + 60, end=NOW + 7200),
            "is not valid before",
        ),
        "dnssec_bogus": (_sign(_txt(owner, "other"), private, key), "does not verify"),
    }
    for code, (sigs, message) in cases.items():
        with pytest.raises(KeyLookupError, match=message) as info:
            validate_rrset(txt, sigs, ZONE, [key], now=NOW)
        assert info.value.code == code
    with pytest.raises(KeyLookupError, match="does not verify"):
        validate_rrset(txt, _sign(txt, private, key), ZONE, [_key(ZSK)[1]], now=NOW)


def test_a_wildcard_answer_is_refused() -> None:
    private, key = _key(ZSK)
    wild = _txt("*.models.example.test.")
    sigs = _sign(wild, private, key)
    synthesized = _txt("m.models.example.test.")
    expanded = dns.rrset.from_rdata_list(synthesized.name, 300, list(sigs))
    with pytest.raises(KeyLookupError, match="synthesized from a wildcard"):
        validate_rrset(synthesized, expanded, ZONE, [key], now=NOW)


def test_closest_anchor_is_the_deepest_containing_zone() -> None:
    names = ["test.", "example.test.", "sub.example.test.", "other.test."]
    anchors = {dns.name.from_text(n): TrustAnchor(dns.name.from_text(n)) for n in names}
    for name, expected in (
        ("a.sub.example.test.", "sub.example.test."),
        ("b.example.test.", "example.test."),
        ("evilexample.test.", "test."),
        ("example.com.", None),
    ):
        found = closest_anchor(anchors, dns.name.from_text(name))
        assert (found.zone.to_text() if found else None) == expected, name


def test_parse_trust_anchor_formats() -> None:
    _, key = _key(KSK)
    ds = dns.dnssec.make_ds(ZONE, key, "SHA256")
    zone_lines = parse_trust_anchors(f"example.test. IN DS {ds}\nexample.test. IN DNSKEY {key}")
    assert zone_lines[ZONE].ds == (ds,) and zone_lines[ZONE].dnskeys == (key,)
    data = key.to_text().split(" ", 3)
    bind = (
        f'trust-anchors {{ example.test. static-key {data[0]} {data[1]} {data[2]} "{data[3]}";\n'
        f'"example.test" initial-ds {ds.key_tag} {ds.algorithm} {ds.digest_type} '
        f'"{ds.digest.hex()}"; }};'
    )
    parsed = parse_trust_anchors(bind)
    assert parsed[ZONE].dnskeys == (key,) and parsed[ZONE].ds == (ds,)
    from llmseal.errors import ConfigError

    for text, message in (
        ("example.test. IN A 127.0.0.1", "is not a DS or DNSKEY"),
        ("", "no DS or DNSKEY record"),
        ("example.test. IN DS nonsense", "not DS/DNSKEY records"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_trust_anchors(text)


def test_a_ds_anchor_must_be_the_digest_of_a_published_key() -> None:
    ksk_private, ksk = _key(KSK)
    _, other = _key(KSK)
    keys = _dnskeys(ksk)
    sigs = _sign(keys, ksk_private, ksk)
    wrong_key = dns.dnssec.make_ds(ZONE, other, "SHA256")
    sha1 = dns.dnssec.make_ds(ZONE, ksk, "SHA1", policy=dns.dnssec.allow_all_policy)
    right = dns.dnssec.make_ds(ZONE, ksk, "SHA256")
    # Same key tag and algorithm, another digest: a DS for a different key with a lucky tag.
    forged_digest = dns.rdata.from_text(
        "IN", "DS", f"{right.key_tag} {right.algorithm} 2 {'00' * 32}"
    )
    assert isinstance(forged_digest, DS)
    for ds in (wrong_key, sha1, forged_digest):
        with pytest.raises(KeyLookupError, match="matches the trust anchor") as info:
            authenticate_dnskeys(ZONE, keys, sigs, ds=[ds], now=NOW)
        assert info.value.code == "dnssec_bogus", ds
    assert authenticate_dnskeys(ZONE, keys, sigs, ds=[sha1, right], now=NOW) == [ksk]


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time zone is not UTC (messages must still say UTC)."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_signature_time_boundaries(tokyo: None) -> None:
    private, key = _key(ZSK)
    txt = _txt("m.models.example.test.")
    # Valid from inception to expiration, both inclusive (RFC 4034 §3.1.5).
    at_start = _sign(txt, private, key, start=NOW, end=NOW + 60)
    validate_rrset(txt, at_start, ZONE, [key], now=NOW)
    at_end = _sign(txt, private, key, start=NOW - 60, end=NOW)
    validate_rrset(txt, at_end, ZONE, [key], now=NOW)
    late = _sign(txt, private, key, start=NOW - 60, end=NOW - 1)
    with pytest.raises(KeyLookupError) as info:
        validate_rrset(txt, late, ZONE, [key], now=NOW)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - 1))
    assert info.value.code == "dnssec_expired"
    assert str(info.value) == (
        f"the RRSIG over the TXT record at m.models.example.test. expired at {stamp}"
    )
    early = _sign(txt, private, key, start=NOW + 1, end=NOW + 60)
    with pytest.raises(KeyLookupError) as info:
        validate_rrset(txt, early, ZONE, [key], now=NOW, what="DNSKEY")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW + 1))
    assert info.value.code == "dnssec_not_yet_valid"
    assert str(info.value) == (
        f"the RRSIG over the DNSKEY record at m.models.example.test. is not valid before {stamp}"
    )
    with pytest.raises(KeyLookupError) as info:
        validate_rrset(txt, _sign(txt, *_key(ZSK)), ZONE, [key], now=NOW)
    assert str(info.value) == (
        "the RRSIG over the TXT record at m.models.example.test. does not verify with the "
        "zone's keys (the record was altered, or signed by a key the zone does not have)"
    )


def test_trust_anchor_files(tmp_path: Path) -> None:
    from llmseal.errors import ConfigError
    from llmseal.trust.dns.dnssec import load_trust_anchors

    _, key = _key(KSK)
    path = tmp_path / "anchor.txt"
    path.write_text(f"example.test. 3600 IN DNSKEY {key}\n")
    assert load_trust_anchors(path)[ZONE].dnskeys == (key,)
    path.write_text("example.test. IN A 127.0.0.1\n")
    with pytest.raises(ConfigError) as info:
        load_trust_anchors(path)
    assert str(info.value) == f"{path}: example.test. A is not a DS or DNSKEY"
    with pytest.raises(ConfigError, match=f"cannot read trust anchor {tmp_path / 'none'}: "):
        load_trust_anchors(tmp_path / "none")
    with pytest.raises(ConfigError) as info:
        parse_trust_anchors("")
    assert str(info.value) == "trust anchor: no DS or DNSKEY record"


def test_dnssec_messages_and_codes() -> None:
    private, ksk = _key(KSK)
    with pytest.raises(KeyLookupError) as info:
        authenticate_dnskeys(ZONE, None, None, anchors=[ksk], now=NOW)
    assert (info.value.code, str(info.value)) == (
        "dnssec_bogus", "zone example.test. publishes no DNSKEY"
    )  # fmt: skip
    keys = _dnskeys(ksk)
    with pytest.raises(KeyLookupError) as info:  # the DNSKEY set signed by another key
        authenticate_dnskeys(ZONE, keys, _sign(keys, *_key(KSK)), anchors=[ksk], now=NOW)
    assert str(info.value).startswith("the RRSIG over the DNSKEY record at example.test. does")
    txt = _txt("m.models.example.test.")
    with pytest.raises(KeyLookupError) as info:
        validate_rrset(txt, None, ZONE, [ksk], now=NOW)
    assert (info.value.code, str(info.value)) == (
        "dnssec_unsigned",
        "the TXT record at m.models.example.test. has no RRSIG (unsigned zone, or the "
        "signature was stripped)",
    )
    wild = _sign(_txt("*.models.example.test."), private, ksk)
    expanded = dns.rrset.from_rdata_list(txt.name, 300, list(wild))
    with pytest.raises(KeyLookupError) as info:
        validate_rrset(txt, expanded, ZONE, [ksk], now=NOW)
    assert (info.value.code, str(info.value)) == (
        "dnssec_bogus",
        "the TXT record at m.models.example.test. was synthesized from a wildcard; keys must "
        "be published at their own name",
    )
    with pytest.raises(KeyLookupError) as info:
        validate_rrset(_txt("x.other.test."), None, ZONE, [ksk], now=NOW)
    assert info.value.code == "dnssec_unsigned"  # unsigned is said before the zone check
