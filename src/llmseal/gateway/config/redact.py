"""Masking secrets in settings before they are printed or logged.

Settings name secrets rather than hold them (a PIN is read from the variable
``--pin-env`` names, private keys from files), but a URL may still carry one:
``postgresql://user:PASSWORD@host/db``, ``https://TOKEN@host``, ``?sslpassword=``,
``?token=``. Those parts become ``***``; so does anything that looks like key material.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "mask_secrets"]

MASK = "***"
# Query parameter names that carry credentials (libpq's password/sslpassword, API tokens...).
_SECRET_PARAM = re.compile(
    r"pass|pwd|secret|token|key|auth|sig|credential|session|cookie", re.IGNORECASE
)
_KEY_MATERIAL = re.compile(r"-----BEGIN [A-Z ]*-----|PRIVATE KEY", re.IGNORECASE)


def mask_secrets(value: str) -> str:
    """``value`` with passwords, tokens and key material replaced by ``***``."""
    if _KEY_MATERIAL.search(value):
        return MASK
    if "://" not in value:
        return value
    try:
        parts = urlsplit(value)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user, has_password, _ = userinfo.partition(":")
            if has_password:
                userinfo = f"{user}:{MASK}"
            elif parts.scheme in ("http", "https"):
                userinfo = MASK  # https://TOKEN@host: the user part is the credential
            netloc = f"{userinfo}@{host}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            masked = [(k, MASK if _SECRET_PARAM.search(k) else v) for k, v in pairs]
            query = urlencode(masked, safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:  # not parseable as a URL: show nothing of it
        return MASK
