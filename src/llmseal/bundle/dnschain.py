"""A key's DNSSEC chain, recorded once and validated offline later (RFC 9102 in spirit).

RFC 9102 serializes, for a TLS server, every RRset and RRSIG from the root down
to a TLSA record so a client validates without asking DNS. A bundle does the same
for a receipt key's ``v=llmsig1`` TXT record: :class:`DnsRecorder` wraps the
questions a :class:`~llmseal.trust.dns.source.DnsKeySource` asks while it validates the
key live (the TXT RRset, the zone's DNSKEY RRset, DS RRsets up to the anchor), and
keeps each answer's records with their RRSIGs::

    "dnssec": {"name": "smollm2.2026q4._llmsig.lab.example.",
               "answers": [{"name": "...", "type": "TXT",
                            "records": ["<owner> <ttl> IN TXT \\"v=llmsig1; ...\\"",
                                        "<owner> <ttl> IN RRSIG TXT 15 ..."]}, ...]}

:func:`replay_source` answers the same questions from those records, so the
unchanged validator runs against them: from the *verifier's* trust anchor, at the
time the verifier chooses (the receipt's proven time, else its ``issued_at``).
A record that was changed, a chain that ends in a key the anchor does not know,
or an RRSIG that had expired by then fails exactly as it would live.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zonefile

from llmseal.errors import BundleError
from llmseal.trust.dns.dnssec import TrustAnchor
from llmseal.trust.dns.source import DnsKeySource, Query

__all__ = ["DnsRecorder", "replay_source"]

_MAX_ANSWERS = 32
_MAX_RECORDS = 64


class DnsRecorder:
    """A :data:`~llmseal.trust.dns.source.Query` that asks ``upstream`` and keeps every answer."""

    def __init__(self, upstream: Query) -> None:
        self._upstream = upstream
        self.answers: list[dict[str, Any]] = []

    def __call__(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        message = self._upstream(name, rdtype)
        lines: list[str] = []
        for rrset in message.answer:
            covers = rrset.covers if rrset.rdtype == dns.rdatatype.RRSIG else rrset.rdtype
            if rrset.name == name and covers == rdtype:
                lines += rrset.to_text().splitlines()
        self.answers.append({"name": name.to_text(), "type": rdtype.name, "records": lines})
        return message

    def chain(self, name: str) -> dict[str, Any]:
        """The bundle member: the TXT name and every recorded answer."""
        return {"name": name, "answers": list(self.answers)}


def replay_source(
    chain: Mapping[str, Any],
    anchors: Mapping[dns.name.Name, TrustAnchor],
    *,
    at: datetime,
) -> DnsKeySource:
    """A DNSSEC key source that answers from ``chain`` and validates at ``at``.

    Raises:
        BundleError: the recorded chain is not the shape this module writes.
    """
    answers = _parse(chain)

    def ask(name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        message = dns.message.Message()
        for rrset in answers.get((name, rdtype), ()):
            found = message.find_rrset(
                message.answer, rrset.name, rrset.rdclass, rrset.rdtype, rrset.covers, create=True
            )
            found.update(rrset)  # type: ignore[no-untyped-call]
        return message  # nothing recorded: an empty answer (NOERROR, no data)

    stamp = at.timestamp()
    return DnsKeySource(trust_anchors=anchors, query=ask, clock=lambda: stamp)


def _parse(chain: Mapping[str, Any]) -> dict[tuple[dns.name.Name, int], list[dns.rrset.RRset]]:
    answers = chain.get("answers")
    if not isinstance(answers, list) or len(answers) > _MAX_ANSWERS:
        raise BundleError(f"evidence 'dnssec' needs 'answers', an array of at most {_MAX_ANSWERS}")
    out: dict[tuple[dns.name.Name, int], list[dns.rrset.RRset]] = {}
    for answer in answers:
        if not isinstance(answer, Mapping):
            raise BundleError("each recorded DNS answer is an object")
        records = answer.get("records")
        if not isinstance(records, list) or not all(isinstance(r, str) for r in records):
            raise BundleError("a recorded DNS answer's 'records' are zone-file lines")
        if len(records) > _MAX_RECORDS:
            raise BundleError(f"a recorded DNS answer holds at most {_MAX_RECORDS} records")
        try:
            name = dns.name.from_text(str(answer.get("name")))
            rdtype = dns.rdatatype.from_text(str(answer.get("type")))
            rrsets = dns.zonefile.read_rrsets("\n".join(records), default_ttl=0, rdclass=None)
        except (dns.exception.DNSException, ValueError) as exc:
            raise BundleError(f"a recorded DNS answer is not DNS records: {exc}") from exc
        # Only records of the question itself are answers to it.
        out[name, rdtype] = [
            r
            for r in rrsets
            if r.name == name
            and r.rdclass == dns.rdataclass.IN
            and (r.covers if r.rdtype == dns.rdatatype.RRSIG else r.rdtype) == rdtype
        ]
    return out
