"""Which HTTP header fields cross the gateway, in each direction.

Every field is either on an allow-list (passed on) or dropped; nothing passes
because nobody thought of it. A request field that reaches the upstream can
change how the upstream frames its answer (``Expect: 100-continue`` made an
upstream send an interim response that a pooled connection then delivered to
the next caller), and a response field that reaches the caller is something the
receipt does not cover, so both lists are short and each entry has a reason.

Requests (caller -> upstream), allowed:

* ``content-type``, ``accept``: what the body is and what the caller reads;
* ``authorization``, ``x-api-key``: the upstream's own credentials (vLLM
  ``--api-key``, Anthropic-style keys), which the gateway does not check;
* ``openai-organization``, ``openai-project``, ``openai-beta``,
  ``anthropic-version``, ``anthropic-beta``: API selection the upstream may need;
* ``user-agent``, ``x-request-id``, ``traceparent``, ``tracestate``: correlation.

The gateway writes ``host``, ``content-length`` and ``accept-encoding:
identity`` itself (it hashes the answer, so it must arrive unencoded). An
operator may forward more (``GatewayConfig.forward_headers``), never one of
:data:`REQUEST_NEVER`.

Responses (upstream -> caller), allowed: ``content-type`` (passed through
routes only; sealed answers get the gateway's own), ``cache-control``,
``retry-after``, ``retry-after-ms`` (the SDKs' retry timing), ``x-request-id``,
``request-id``, ``openai-processing-ms``, ``openai-version``, and fields starting
with ``x-ratelimit-`` or ``anthropic-ratelimit-``. The gateway adds
``content-length``, ``x-receipt-id`` and, on streams, ``cache-control`` and
``x-accel-buffering``; the ASGI server adds ``date`` and ``server``.
Sealed streams carry none of the upstream's fields: only the gateway's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "GATEWAY_REQUEST",
    "GATEWAY_RESPONSE",
    "REQUEST_ALLOWED",
    "REQUEST_NEVER",
    "RESPONSE_ALLOWED",
    "RESPONSE_ALLOWED_PREFIXES",
    "RESPONSE_NEVER",
    "check_forward_headers",
    "request_headers",
    "response_headers",
]

Headers = list[tuple[bytes, bytes]]

REQUEST_ALLOWED: frozenset[bytes] = frozenset(
    {
        b"content-type",
        b"accept",
        b"authorization",
        b"x-api-key",
        b"openai-organization",
        b"openai-project",
        b"openai-beta",
        b"anthropic-version",
        b"anthropic-beta",
        b"user-agent",
        b"x-request-id",
        b"traceparent",
        b"tracestate",
    }
)

# RFC 9110 §7.6.1 connection-specific fields, framing the gateway redoes, and
# fields that ask the upstream for a different exchange than the one sealed.
REQUEST_NEVER: frozenset[bytes] = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"expect",  # RFC 9110 §10.1.1: invites a 100 (Continue) interim response
        b"host",
        b"content-length",
        b"content-encoding",  # the body is hashed as the JSON it is, not decoded
        b"accept-encoding",  # replaced by identity
        b"range",
        b"if-range",
        b"if-match",
        b"if-none-match",
        b"if-modified-since",
        b"if-unmodified-since",
        b"x-receipt-request",  # for the gateway, not the upstream
        b"x-receipt-parents",  # signed into the receipt (llmseal.bundle.declare)
        b"x-receipt-commit",  # salted commitments (llmseal.bundle.commit)
        b"cookie",
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-proto",
        b"via",
    }
)

GATEWAY_REQUEST: frozenset[bytes] = frozenset({b"host", b"content-length", b"accept-encoding"})
"""Request fields the gateway writes itself."""

RESPONSE_ALLOWED: frozenset[bytes] = frozenset(
    {
        b"content-type",
        b"cache-control",
        b"retry-after",
        b"retry-after-ms",
        b"x-request-id",
        b"request-id",
        b"openai-processing-ms",
        b"openai-version",
    }
)
RESPONSE_ALLOWED_PREFIXES: tuple[bytes, ...] = (b"x-ratelimit-", b"anthropic-ratelimit-")

RESPONSE_NEVER: frozenset[bytes] = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",  # recomputed for what is delivered
        b"content-encoding",  # a sealed answer is delivered as the bytes that were hashed
        b"date",
        b"server",
        b"set-cookie",  # state the receipt does not cover
        b"x-receipt-id",  # the gateway's own field: an upstream cannot name the receipt
    }
)

GATEWAY_RESPONSE: frozenset[bytes] = frozenset(
    {b"content-type", b"content-length", b"x-receipt-id", b"cache-control", b"x-accel-buffering"}
)
"""Response fields the gateway writes itself."""

_TOKEN = re.compile(r"\A[a-z0-9!#$%&'*+.^_`|~-]+\Z")  # RFC 9110 §5.6.2, lowercased


def check_forward_headers(names: Iterable[str]) -> frozenset[bytes]:
    """Validate the operator's extra request fields; ValueError names a bad one."""
    out: set[bytes] = set()
    for name in names:
        lowered = name.strip().lower()
        if not _TOKEN.match(lowered):
            raise ValueError(f"{name!r} is not an HTTP field name")
        if lowered.encode() in REQUEST_NEVER:
            raise ValueError(f"{lowered!r} is never forwarded to the upstream")
        out.add(lowered.encode())
    return frozenset(out)


def request_headers(headers: Iterable[tuple[bytes, bytes]], allowed: frozenset[bytes]) -> Headers:
    """The caller's fields that go to the upstream; ``allowed`` is the allow-list plus extras."""
    out = [(k, v) for k, v in headers if k in allowed]
    out.append((b"accept-encoding", b"identity"))
    return out


def response_headers(headers: Iterable[tuple[bytes, bytes]], *, sealed: bool) -> Headers:
    """The upstream's fields that go to the caller (a sealed answer sets its own type)."""
    return [
        (k, v)
        for k, v in headers
        if (k in RESPONSE_ALLOWED and not (sealed and k == b"content-type"))
        or k.startswith(RESPONSE_ALLOWED_PREFIXES)
    ]
