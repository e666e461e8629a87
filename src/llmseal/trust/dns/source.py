"""Key discovery over DNS: a key source that reads ``v=llmsig1`` TXT records, with DNSSEC.

:class:`DnsKeySource` is a :class:`~llmseal.core.keyset.KeyResolver`: hand it to
:func:`~llmseal.core.verify.verify_receipt` like a key set. For a receipt's
``key_id`` it

1. finds the DNS name (the rule of :mod:`llmseal.trust.dns.record`, or the name given);
2. asks the configured resolver for the TXT RRset with its RRSIGs (DO and CD bits,
   RFC 4035 §3.2: the verifier validates, not the resolver);
3. with ``dnssec="required"`` (the default), authenticates the signing zone's
   DNSKEY RRset from the trust anchor — through DS records when the zone is
   below the anchor — then the TXT RRset, at the time the injected clock gives;
4. parses the one ``v=llmsig1`` record into a key entry (``r=`` makes it revoked).

Everything that is not a trustworthy key raises
:class:`~llmseal.errors.KeyLookupError` with a stable ``code`` (``not_in_zone``,
``dnssec_bogus``, ``dnssec_expired``, ``dnssec_unsigned``...), which verification
reports as ``unknown_key`` with that reason: fail closed. A resolver that cannot
be reached raises :class:`~llmseal.errors.NetworkError` (no verdict at all).

Answers are cached until their TTL runs out, never past the RRSIG expiration
(RFC 4035 §5.3.3); failures for ``negative_ttl`` seconds so a flood of receipts
with a bogus key id does not become a flood of queries. A warm hit costs one
dict lookup and a clock read.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Mapping
from typing import Literal

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY

from llmseal.core.keyset import KeyEntry
from llmseal.errors import ConfigError, KeyLookupError, KeySetError, NetworkError
from llmseal.trust.dns.dnssec import (
    TrustAnchor,
    authenticate_dnskeys,
    closest_anchor,
    validate_rrset,
)
from llmseal.trust.dns.record import (
    dns_name_for_key_id,
    is_key_id_alias,
    normalize_name,
    parse_record,
)

__all__ = ["DnsKeySource", "DnssecMode", "Query", "parse_nameserver"]

DnssecMode = Literal["required", "off"]
Query = Callable[[dns.name.Name, dns.rdatatype.RdataType], dns.message.Message]
"""Answers one DNS question (name, type) with a message; the default asks the resolver."""
_EDNS_PAYLOAD = 1232  # DNS flag day 2020: no IP fragmentation
_MAX_CHAIN = 8  # delegations followed below a trust anchor


def parse_nameserver(text: str | None) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT`` or ``[V6]:PORT`` (an IP address); None = the system's first."""
    if text is None:
        servers = dns.resolver.Resolver().nameservers
        if not servers:
            raise ConfigError("no DNS resolver configured; pass --resolver HOST:PORT")
        return str(servers[0]), 53
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise ConfigError(f"resolver {text!r} is not IP[:PORT]") from None
    if not 0 < number < 65536:
        raise ConfigError(f"resolver port {number} is out of range")
    return host, number


class DnsKeySource:
    """A key resolver backed by DNS TXT records, validated with DNSSEC."""

    def __init__(
        self,
        nameserver: str | None = None,
        *,
        trust_anchors: Mapping[dns.name.Name, TrustAnchor] | None = None,
        dnssec: DnssecMode = "required",
        name: str | None = None,
        timeout: float = 3.0,
        clock: Callable[[], float] = time.time,
        max_ttl: float = 86400.0,
        negative_ttl: float = 30.0,
        query: Query | None = None,
    ) -> None:
        if dnssec not in ("required", "off"):
            raise ConfigError(f"dnssec must be 'required' or 'off', not {dnssec!r}")
        if dnssec == "required" and not trust_anchors:
            raise ConfigError("DNSSEC is required but no trust anchor is configured")
        # ``query`` replaces the network: an evidence bundle replays the answers it
        # recorded (llmseal.bundle.dnschain), so no resolver is read then.
        self.host, self.port = ("-", 0) if query is not None else parse_nameserver(nameserver)
        self._ask: Query = query or self._query
        self.dnssec: DnssecMode = dnssec
        self._anchors = dict(trust_anchors or {})
        self._name = normalize_name(name) if name else None
        self._timeout = timeout
        self._clock = clock
        self._max_ttl = max_ttl
        self._negative_ttl = negative_ttl
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, KeyEntry | tuple[str, str]]] = {}
        self._zone_keys: dict[dns.name.Name, tuple[float, list[DNSKEY]]] = {}

    def dns_name(self, key_id: str) -> str:
        """The DNS name looked up for ``key_id``; KeyLookupError if there is none."""
        if is_key_id_alias(key_id):  # another spelling of a key id: never the same key
            raise KeyLookupError(
                f"key_id {key_id!r} is not in canonical form (lowercase DOMAIN without a "
                "final dot, one label each for MODEL and PERIOD)",
                code="noncanonical_key_id",
            )
        found = self._name or dns_name_for_key_id(key_id)
        if found is None:
            raise KeyLookupError(
                f"key_id {key_id!r} has no DNS name (the rule wants DOMAIN/MODEL/PERIOD; "
                "or give the name)",
                code="no_dns_name",
            )
        return found

    def resolve(self, key_id: str) -> KeyEntry | None:
        now = self._clock()
        hit = self._entries.get(key_id)
        if hit is None or now >= hit[0]:
            hit = self._refresh(key_id, now)
        value = hit[1]
        if isinstance(value, tuple):  # a cached verdict: raise a fresh exception each time
            raise KeyLookupError(value[0], code=value[1])
        return value

    def clear(self) -> None:
        """Forget every cached answer."""
        with self._lock:
            self._entries.clear()
            self._zone_keys.clear()

    def _refresh(self, key_id: str, now: float) -> tuple[float, KeyEntry | tuple[str, str]]:
        value: KeyEntry | tuple[str, str]
        try:
            value, ttl = self._lookup(key_id, now)
        except KeyLookupError as exc:
            value, ttl = (str(exc), exc.code), self._negative_ttl
        hit = (now + min(ttl, self._max_ttl), value)
        with self._lock:
            self._entries[key_id] = hit
        return hit

    def _lookup(self, key_id: str, now: float) -> tuple[KeyEntry, float]:
        name = dns.name.from_text(self.dns_name(key_id))
        answer = self._ask(name, dns.rdatatype.TXT)
        txt = answer.get_rrset(answer.answer, name, dns.rdataclass.IN, dns.rdatatype.TXT)
        if answer.rcode() == dns.rcode.NXDOMAIN or txt is None:
            raise KeyLookupError(
                f"no TXT record at {name}: the key is not in the zone", code="not_in_zone"
            )
        ttl = float(txt.ttl)
        if self.dnssec == "required":
            sigs = answer.get_rrset(
                answer.answer, name, dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.TXT
            )
            ttl = min(ttl, self._validate(txt, sigs, now))
        entry = _entry_from(txt, key_id, name, self.dnssec)
        return entry, ttl

    def _validate(self, rrset: dns.rrset.RRset, sigs: dns.rrset.RRset | None, now: float) -> float:
        """Authenticate ``rrset``; returns how long the result may be cached."""
        signers = [s.signer for s in sigs or () if closest_anchor(self._anchors, s.signer)]
        zone = signers[0] if signers else None
        if sigs and zone is None:
            raise KeyLookupError(
                f"{rrset.name} is signed by {sigs[0].signer}, which no trust anchor covers "
                f"(anchors: {', '.join(map(str, self._anchors))})",
                code="dnssec_bogus",
            )
        keys, keys_expire = self._keys_for(zone, now, 0) if zone else ([], now)
        validate_rrset(rrset, sigs, zone or rrset.name, keys, now=now)
        return min(_cache_bound(rrset, sigs, now), keys_expire - now)

    def _keys_for(self, zone: dns.name.Name, now: float, depth: int) -> tuple[list[DNSKEY], float]:
        """The authenticated zone keys of ``zone`` and until when they may be cached."""
        cached = self._zone_keys.get(zone)
        if cached is not None and now < cached[0]:
            return cached[1], cached[0]
        anchor = self._anchors.get(zone)
        expires = float("inf")
        if anchor is not None:
            ds, anchored = list(anchor.ds), list(anchor.dnskeys)
        else:
            ds, expires = self._authenticated_ds(zone, now, depth)
            anchored = []
        answer = self._ask(zone, dns.rdatatype.DNSKEY)
        dnskeys = answer.get_rrset(answer.answer, zone, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
        sigs = answer.get_rrset(
            answer.answer, zone, dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY
        )
        keys = authenticate_dnskeys(zone, dnskeys, sigs, ds=ds, anchors=anchored, now=now)
        if dnskeys is not None:  # always: authenticate_dnskeys refuses an empty set
            expires = min(expires, now + _cache_bound(dnskeys, sigs, now))
        with self._lock:
            self._zone_keys[zone] = (expires, keys)
        return keys, expires

    def _authenticated_ds(self, zone: dns.name.Name, now: float, depth: int) -> tuple[list, float]:  # type: ignore[type-arg]
        """The DS RRset of a zone below the anchor, validated by its parent (RFC 4035 §5.2)."""
        anchor = closest_anchor(self._anchors, zone)
        if anchor is None or depth >= _MAX_CHAIN:
            raise KeyLookupError(
                f"no chain of trust from a trust anchor to {zone}", code="dnssec_bogus"
            )
        answer = self._ask(zone, dns.rdatatype.DS)
        ds = answer.get_rrset(answer.answer, zone, dns.rdataclass.IN, dns.rdatatype.DS)
        sigs = answer.get_rrset(
            answer.answer, zone, dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.DS
        )
        if ds is None:
            raise KeyLookupError(
                f"no DS for {zone} in its parent: the chain of trust from {anchor.zone} is broken",
                code="dnssec_insecure",
            )
        parent = sigs[0].signer if sigs else anchor.zone
        if parent == zone or not zone.is_subdomain(parent):
            raise KeyLookupError(f"the DS of {zone} is signed by {parent}", code="dnssec_bogus")
        keys, expires = self._keys_for(parent, now, depth + 1)
        validate_rrset(ds, sigs, parent, keys, now=now, what="DS")
        return list(ds), min(expires, now + _cache_bound(ds, sigs, now))

    def ask(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        """One question to the configured resolver (DO and CD set, answer code checked)."""
        return self._query(name, rdtype)

    def _query(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        query = dns.message.make_query(name, rdtype, want_dnssec=True, payload=_EDNS_PAYLOAD)
        if self.dnssec == "required":
            query.flags |= dns.flags.CD  # RFC 4035 §3.2.2: pass bogus data through; we judge
        where = f"DNS resolver {self.host}:{self.port}"
        try:
            answer = dns.query.udp(query, self.host, timeout=self._timeout, port=self.port)
            if answer.flags & dns.flags.TC:  # RFC 7766: retry over TCP when truncated
                answer = dns.query.tcp(query, self.host, timeout=self._timeout, port=self.port)
        except dns.exception.Timeout:
            raise NetworkError(f"{where} did not answer {name} {rdtype.name} in time") from None
        except (OSError, dns.exception.DNSException) as exc:
            raise NetworkError(f"{where} failed for {name} {rdtype.name}: {exc}") from exc
        rcode = answer.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise NetworkError(
                f"{where} answered {dns.rcode.to_text(rcode)} for {name} {rdtype.name}"
            )
        return answer


def _entry_from(txt: dns.rrset.RRset, key_id: str, name: dns.name.Name, mode: str) -> KeyEntry:
    records = []
    for rdata in txt:
        try:
            text = b"".join(rdata.strings).decode("ascii")
            record = parse_record(text)
        except (UnicodeDecodeError, KeySetError) as exc:
            raise KeyLookupError(
                f"the TXT record at {name} is malformed: {exc}", code="bad_record"
            ) from exc
        if record is not None:
            records.append(record)
    if not records:
        raise KeyLookupError(f"no v=llmsig1 record among the TXT at {name}", code="not_in_zone")
    if len(records) > 1:
        raise KeyLookupError(
            f"{name} has {len(records)} v=llmsig1 records; one is allowed", code="bad_record"
        )
    status = "secure" if mode == "required" else "off"
    extra: dict[str, str] = {"source": "dns", "dns_name": name.to_text(), "dnssec": status}
    if "/" in key_id and dns_name_for_key_id(key_id) == name.to_text():
        # DNSSEC vouches for the zone, so the key speaks for that domain only.
        extra["bound_issuer"] = key_id.split("/", 1)[0].lower()
    return records[0].entry(key_id, **extra)


def _cache_bound(rrset: dns.rrset.RRset, sigs: dns.rrset.RRset | None, now: float) -> float:
    """RFC 4035 §5.3.3: no longer than the TTL, the RRSIG original TTL, or its expiration."""
    bounds = [float(rrset.ttl)]
    for sig in sigs or ():
        bounds += [float(sig.original_ttl), sig.expiration - now]
    return max(0.0, min(bounds))
