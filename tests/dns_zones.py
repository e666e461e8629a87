"""DNSSEC-signed zones served in-process (dnspython signs, a UDP thread answers).

The fast twin of the BIND fixture in ``tests/integration/dns``: the same wire
protocol on a loopback port the kernel picks (bound once, never raced), zones
signed with Ed25519 keys made here, so the DNS key source's unit tests run in
milliseconds. Every query is counted, so caching is observable.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from typing import Any

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
from cryptography.hazmat.primitives.asymmetric import ed25519
from dns.rdtypes.ANY.DNSKEY import DNSKEY

from llmseal.trust.dns.dnssec import TrustAnchor

NOW = float(int(time.time()))


class Zone:
    def __init__(self, origin: str) -> None:
        self.origin = dns.name.from_text(origin)
        self.private = ed25519.Ed25519PrivateKey.generate()
        self.key: DNSKEY = dns.dnssec.make_dnskey(self.private.public_key(), "ED25519", flags=257)

    def sign(self, rrset: dns.rrset.RRset, *, start: float = NOW - 3600,
             end: float = NOW + 86400) -> dns.rrset.RRset:  # fmt: skip
        sig = dns.dnssec.sign(
            rrset, self.private, self.origin, self.key, inception=start, expiration=end
        )
        return dns.rrset.from_rdata(rrset.name, rrset.ttl, sig)

    def anchor(self) -> dict[dns.name.Name, TrustAnchor]:
        return {self.origin: TrustAnchor(self.origin, dnskeys=(self.key,))}


class ZoneServer:
    """Answers from ``records``: (name, type) -> the RRsets of the answer section."""

    def __init__(self) -> None:
        self.records: dict[tuple[dns.name.Name, int], list[dns.rrset.RRset]] = {}
        self.queries: Counter[tuple[str, str]] = Counter()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def zone(self, origin: str, *, signed: bool = True) -> Zone:
        zone = Zone(origin)
        keys = dns.rrset.from_rdata(zone.origin, 3600, zone.key)
        self.put(keys, zone.sign(keys) if signed else None)
        return zone

    def put(self, rrset: dns.rrset.RRset, sigs: dns.rrset.RRset | None = None) -> None:
        self.records[rrset.name, rrset.rdtype] = [rrset] + ([sigs] if sigs is not None else [])

    def txt(self, zone: Zone, owner: str, *texts: str, ttl: int = 300,
            signed: bool = True, **sign: Any) -> dns.rrset.RRset:  # fmt: skip
        rrset = dns.rrset.from_text_list(owner, ttl, "IN", "TXT", [f'"{t}"' for t in texts])
        self.put(rrset, zone.sign(rrset, **sign) if signed else None)
        return rrset

    def delegate(self, parent: Zone, child: Zone) -> None:
        ds = dns.rrset.from_rdata(
            child.origin, 3600, dns.dnssec.make_ds(child.origin, child.key, "SHA256")
        )
        self.put(ds, parent.sign(ds))

    def _serve(self) -> None:
        while True:
            data, peer = self._sock.recvfrom(65535)
            if self._stop:
                return
            query = dns.message.from_wire(data)
            question = query.question[0]
            self.queries[question.name.to_text(), dns.rdatatype.to_text(question.rdtype)] += 1
            answer = dns.message.make_response(query)
            found = self.records.get((question.name, question.rdtype))
            if found is None:
                known = any(name == question.name for name, _ in self.records)
                answer.set_rcode(dns.rcode.NOERROR if known else dns.rcode.NXDOMAIN)
            else:
                answer.answer.extend(found)
            self._sock.sendto(answer.to_wire(), peer)

    def __enter__(self) -> ZoneServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as waker:
            waker.sendto(b"", self._sock.getsockname())
        self._thread.join(timeout=10)
        self._sock.close()
