"""DNSSEC for key discovery: trust anchors, and judging an RRset against its RRSIGs.

A verifier that finds keys through DNS must not trust whoever answers on port 53,
so every TXT record is validated (RFC 4035 §5) from a configured trust anchor:

* a **trust anchor** is a DS or DNSKEY record set for one zone, read from a file
  in the usual formats — zone-file lines as ``dnssec-signzone`` writes them
  (``dsset-<zone>.``), ``dnssec-keygen``'s ``K<zone>.+015+<tag>.key``, or BIND's
  ``trust-anchors { <zone> static-key|initial-key|static-ds|initial-ds ...; };``
  (also ``trusted-keys``/``managed-keys``);
* :func:`authenticate_dnskeys` accepts a zone's DNSKEY RRset when it is signed by
  a key that matches the anchor or the DS set from the parent (RFC 4035 §5.2);
* :func:`validate_rrset` checks an RRset against its RRSIGs and the zone's
  authenticated keys at a given time, and says *why* when it fails: a stable
  ``code`` on :class:`~llmseal.errors.KeyLookupError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dns.dnssec
import dns.exception
import dns.name
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zonefile
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.RRSIG import RRSIG
from dns.rdtypes.dnskeybase import Flag

from llmseal.errors import ConfigError, KeyLookupError

__all__ = [
    "TrustAnchor",
    "authenticate_dnskeys",
    "closest_anchor",
    "load_trust_anchors",
    "parse_trust_anchors",
    "validate_rrset",
]

# BIND named.conf anchors: `name static-key 257 3 15 "base64";` (trust-anchors,
# managed-keys) and the older `name 257 3 15 "base64";` (trusted-keys).
_BIND_ANCHOR = re.compile(
    r'"?([A-Za-z0-9._-]+)"?\s+(?:(static-key|initial-key|static-ds|initial-ds)\s+)?'
    r'(\d+)\s+(\d+)\s+(\d+)\s+"([^"]+)"\s*;'
)
_BIND_BLOCK = re.compile(r"\b(trust-anchors|trusted-keys|managed-keys)\s*\{(.*?)\}\s*;", re.S)
_ZONE_FLAG = int(Flag.ZONE)
_REVOKE_FLAG = int(Flag.REVOKE)


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """What the verifier trusts a priori for one zone: DS records, DNSKEYs, or both."""

    zone: dns.name.Name
    ds: tuple[DS, ...] = ()
    dnskeys: tuple[DNSKEY, ...] = ()


def load_trust_anchors(path: str | Path) -> dict[dns.name.Name, TrustAnchor]:
    """Read a trust-anchor file; ConfigError when it cannot be used."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read trust anchor {path}: {exc}") from exc
    return parse_trust_anchors(text, source=str(path))


def parse_trust_anchors(
    text: str, *, source: str = "trust anchor"
) -> dict[dns.name.Name, TrustAnchor]:
    """Parse DS/DNSKEY anchors from zone-file lines or a BIND ``trust-anchors`` block."""
    blocks = _BIND_BLOCK.findall(text)
    lines = [_bind_to_zone_line(m) for _, body in blocks for m in _BIND_ANCHOR.finditer(body)]
    zone_text = "\n".join(lines) if blocks else text
    try:
        rrsets = dns.zonefile.read_rrsets(zone_text, default_ttl=0, rdclass=None)
    except (dns.exception.DNSException, ValueError) as exc:
        raise ConfigError(f"{source}: not DS/DNSKEY records: {exc}") from exc
    found: dict[dns.name.Name, tuple[list[DS], list[DNSKEY]]] = {}
    for rrset in rrsets:
        ds, keys = found.setdefault(rrset.name, ([], []))
        if rrset.rdtype == dns.rdatatype.DS:
            ds.extend(rrset)
        elif rrset.rdtype == dns.rdatatype.DNSKEY:
            keys.extend(rrset)
        else:
            raise ConfigError(f"{source}: {rrset.name} {rrset.rdtype.name} is not a DS or DNSKEY")
    if not found:
        raise ConfigError(f"{source}: no DS or DNSKEY record")
    return {zone: TrustAnchor(zone, tuple(ds), tuple(k)) for zone, (ds, k) in found.items()}


def _bind_to_zone_line(match: re.Match[str]) -> str:
    name, kind, a, b, c, data = match.groups()
    name = name if name.endswith(".") else name + "."
    rdtype = "DS" if kind and kind.endswith("-ds") else "DNSKEY"
    return f"{name} IN {rdtype} {a} {b} {c} {data}"


def closest_anchor(
    anchors: Mapping[dns.name.Name, TrustAnchor], name: dns.name.Name
) -> TrustAnchor | None:
    """The anchor of the deepest zone that contains ``name``."""
    best: TrustAnchor | None = None
    for zone, anchor in anchors.items():
        if name.is_subdomain(zone) and (best is None or zone.is_subdomain(best.zone)):
            best = anchor
    return best


def authenticate_dnskeys(
    zone: dns.name.Name,
    dnskeys: dns.rrset.RRset | None,
    sigs: dns.rrset.RRset | None,
    *,
    ds: Iterable[DS] = (),
    anchors: Iterable[DNSKEY] = (),
    now: float,
) -> list[DNSKEY]:
    """Accept ``zone``'s DNSKEY RRset iff an anchored key signs it (RFC 4035 §5.2).

    Returns the zone keys of the set: the keys that may sign the zone's data.

    Raises:
        KeyLookupError: no DNSKEY, no key matching the DS/anchor, or a bad signature.
    """
    if dnskeys is None or len(dnskeys) == 0:
        raise KeyLookupError(f"zone {zone} publishes no DNSKEY", code="dnssec_bogus")
    ds, anchors = list(ds), list(anchors)
    entry = [
        key
        for key in dnskeys
        if key.flags & _ZONE_FLAG  # RFC 4034 §2.1.1: only zone keys verify RRSIGs
        and not key.flags & _REVOKE_FLAG  # RFC 5011 §2.1: a revoked key is no anchor
        and (key in anchors or any(_ds_matches(zone, key, d) for d in ds))
    ]
    if not entry:
        raise KeyLookupError(
            f"no DNSKEY of {zone} matches the trust anchor (DS or DNSKEY)", code="dnssec_bogus"
        )
    validate_rrset(dnskeys, sigs, zone, entry, now=now, what="DNSKEY")
    return [key for key in dnskeys if key.flags & _ZONE_FLAG]


def _ds_matches(zone: dns.name.Name, key: DNSKEY, ds: DS) -> bool:
    if key.algorithm != ds.algorithm or dns.dnssec.key_id(key) != ds.key_tag:
        return False
    try:
        return bool(dns.dnssec.make_ds(zone, key, ds.digest_type) == ds)
    except (dns.exception.UnsupportedAlgorithm, dns.exception.DeniedByPolicy, ValueError):
        return False  # e.g. a SHA-1 DS the default policy refuses (RFC 9904)


def validate_rrset(
    rrset: dns.rrset.RRset,
    sigs: dns.rrset.RRset | None,
    zone: dns.name.Name,
    keys: Sequence[DNSKEY],
    *,
    now: float,
    what: str = "TXT",
) -> None:
    """Check ``rrset`` against its RRSIGs by ``zone``'s ``keys`` at time ``now``.

    Raises:
        KeyLookupError: ``dnssec_unsigned`` (no RRSIG), ``dnssec_expired``,
            ``dnssec_not_yet_valid`` or ``dnssec_bogus`` (the signature does not
            verify: the data was changed, or signed by a key the zone does not have).
    """
    name = rrset.name
    if sigs is None or len(sigs) == 0:
        raise KeyLookupError(
            f"the {what} record at {name} has no RRSIG (unsigned zone, or the signature "
            "was stripped)",
            code="dnssec_unsigned",
        )
    if not name.is_subdomain(zone):
        raise KeyLookupError(f"{name} is outside the zone {zone}", code="dnssec_bogus")
    # RFC 4034 §3.1.3: an RRSIG whose Labels field is smaller than the owner name's
    # label count (root not counted) signs a wildcard. Accepting that would also need
    # the NSEC proof that the exact name does not exist (RFC 4035 §5.3.4), which we
    # do not check, so such answers are refused: a key is published at its own name.
    exact = [s for s in sigs if s.labels == len(name) - 1]
    if not exact:
        raise KeyLookupError(
            f"the {what} record at {name} was synthesized from a wildcard; "
            "keys must be published at their own name",
            code="dnssec_bogus",
        )
    keyset = dns.rdataset.from_rdata_list(0, keys)
    try:
        dns.dnssec.validate(
            rrset, dns.rrset.from_rdata_list(name, 0, exact), {zone: keyset}, now=now
        )
        return
    except (dns.exception.ValidationFailure, dns.exception.UnsupportedAlgorithm):
        pass
    raise _classify(name, what, [s for s in exact if s.signer == zone], now)


def _classify(name: dns.name.Name, what: str, sigs: list[RRSIG], now: float) -> KeyLookupError:
    if sigs and all(s.expiration < now for s in sigs):
        until = _iso(max(s.expiration for s in sigs))
        return KeyLookupError(
            f"the RRSIG over the {what} record at {name} expired at {until}",
            code="dnssec_expired",
        )
    if sigs and all(s.inception > now for s in sigs):
        since = _iso(min(s.inception for s in sigs))
        return KeyLookupError(
            f"the RRSIG over the {what} record at {name} is not valid before {since}",
            code="dnssec_not_yet_valid",
        )
    return KeyLookupError(
        f"the RRSIG over the {what} record at {name} does not verify with the zone's keys "
        "(the record was altered, or signed by a key the zone does not have)",
        code="dnssec_bogus",
    )


def _iso(posix: int) -> str:
    return datetime.fromtimestamp(posix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
