"""Reading certificates, chains, CRLs and trust anchors — strictly, with limits.

A chain arrives beside a receipt from an untrusted party (a relay, a file), so
parsing is bounded (at most :data:`MAX_CHAIN` certificates of at most
:data:`MAX_CERT_BYTES` each) and every failure is a one-line
:class:`~llmseal.errors.CertificateError`, never a ``ValueError``.

Evidence shape (the gateway's ``receipt_evidence`` member, design.md "evidence
travels beside the receipt")::

    "receipt_evidence": {"x5c": ["-----BEGIN CERTIFICATE-----\\n...", ...]}

leaf first, then intermediates; each entry is one PEM certificate or, as in
RFC 7515 §4.1.6 ``x5c``, standard base64 of its DER.

The system trust store is read once per process (per set of paths): llm_sign
re-reads and re-parses ~144 roots on every verification (26-60 ms each).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import ssl
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from llmseal.errors import CertificateError

__all__ = [
    "MAX_CERT_BYTES",
    "MAX_CHAIN",
    "chain_from_evidence",
    "chain_to_pem",
    "load_anchor_file",
    "load_crl_file",
    "parse_chain",
    "parse_pem_bundle",
    "system_anchors",
]

MAX_CHAIN = 8
MAX_CERT_BYTES = 16 << 10
MAX_FILE_BYTES = 8 << 20
_BEGIN = "-----BEGIN CERTIFICATE-----"
_END = "-----END CERTIFICATE-----"


def parse_chain(entries: Any) -> tuple[x509.Certificate, ...]:
    """Parse a chain given as a list of PEM / base64-DER strings, or one PEM text.

    Raises:
        CertificateError: not a non-empty list of at most MAX_CHAIN certificates.
    """
    if isinstance(entries, bytes | str):
        return _bounded(parse_pem_bundle(entries, "certificate chain"))
    if not isinstance(entries, Sequence) or not entries:
        raise CertificateError("a certificate chain must be a non-empty list of certificates")
    if len(entries) > MAX_CHAIN:
        raise CertificateError(f"a certificate chain may hold at most {MAX_CHAIN} certificates")
    return tuple(_parse_entry(item, index) for index, item in enumerate(entries))


def _bounded(certs: list[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    if len(certs) > MAX_CHAIN:
        raise CertificateError(f"a certificate chain may hold at most {MAX_CHAIN} certificates")
    return tuple(certs)


def _parse_entry(item: Any, index: int) -> x509.Certificate:
    if not isinstance(item, str):
        raise CertificateError(f"certificate {index} of the chain is not a string")
    if len(item) > MAX_CERT_BYTES:
        raise CertificateError(f"certificate {index} of the chain is larger than 16 KiB")
    text = item.strip()
    if text.startswith(_BEGIN):
        certs = parse_pem_bundle(text, f"certificate {index} of the chain")
        if len(certs) != 1:
            raise CertificateError(f"entry {index} of the chain holds {len(certs)} certificates")
        return certs[0]
    try:
        der = base64.b64decode(text, validate=True)
        with _strict():
            return x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError, CryptographyDeprecationWarning) as exc:
        raise CertificateError(f"certificate {index} of the chain is not PEM or DER") from exc


def parse_pem_bundle(data: bytes | str, what: str) -> list[x509.Certificate]:
    """Every certificate of a PEM text (other PEM blocks are ignored)."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    if _BEGIN.encode() not in raw:
        raise CertificateError(f"{what} holds no PEM certificate")
    try:
        with _strict():
            return x509.load_pem_x509_certificates(raw)
    except (ValueError, CryptographyDeprecationWarning) as exc:
        raise CertificateError(f"{what} is not valid PEM: {_first_line(exc)}") from exc


@contextlib.contextmanager
def _strict() -> Iterator[None]:
    """Turn cryptography's "parsed, but RFC 5280 forbids this" warnings into refusals.

    A non-positive serial number is only a deprecation warning today (an error in a
    future cryptography); a certificate we would reject tomorrow is rejected now.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", CryptographyDeprecationWarning)
        yield


def chain_from_evidence(document: Any) -> list[str] | None:
    """The ``x5c`` list of a response's ``receipt_evidence`` (or of the evidence object).

    Returns None when there is no evidence; raises CertificateError when it is
    there but malformed.
    """
    if not isinstance(document, Mapping):
        return None
    evidence = document.get("receipt_evidence", document)
    if not isinstance(evidence, Mapping) or "x5c" not in evidence:
        return None
    x5c = evidence["x5c"]
    if not isinstance(x5c, list) or not all(isinstance(item, str) for item in x5c):
        raise CertificateError("receipt_evidence.x5c must be a list of certificate strings")
    return x5c


def chain_to_pem(chain: Sequence[x509.Certificate]) -> list[str]:
    """PEM strings, one per certificate: the ``x5c`` form the gateway emits."""
    from cryptography.hazmat.primitives.serialization import Encoding

    return [cert.public_bytes(Encoding.PEM).decode("ascii") for cert in chain]


def _read(path: str | Path, what: str) -> bytes:
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CertificateError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise CertificateError(f"{what} {path} is larger than 8 MiB")
    return data


def load_anchor_file(path: str | Path) -> list[x509.Certificate]:
    """Trust anchors from a PEM file (one or more certificates)."""
    return parse_pem_bundle(_read(path, "trust anchors"), f"trust anchors {path}")


def load_crl_file(path: str | Path) -> x509.CertificateRevocationList:
    """A CRL file, PEM or DER."""
    data = _read(path, "CRL")
    try:
        if b"-----BEGIN X509 CRL-----" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise CertificateError(f"CRL {path} is not a PEM or DER CRL: {_first_line(exc)}") from exc


def system_anchors() -> tuple[x509.Certificate, ...]:
    """The platform trust store (``ssl`` default verify paths), parsed once per process.

    Honours ``SSL_CERT_FILE``/``SSL_CERT_DIR`` like OpenSSL does; the result is
    cached per resolved pair of paths.

    Raises:
        CertificateError: no certificate found in the default paths.
    """
    paths = ssl.get_default_verify_paths()
    return _load_system(paths.cafile, paths.capath)


@functools.cache
def _load_system(cafile: str | None, capath: str | None) -> tuple[x509.Certificate, ...]:
    files: list[Path] = []
    if cafile:
        files.append(Path(cafile))
    if capath and Path(capath).is_dir():
        files.extend(sorted(p for p in Path(capath).iterdir() if p.is_file()))
    seen: set[bytes] = set()
    anchors: list[x509.Certificate] = []
    for path in files:
        try:
            with warnings.catch_warnings():
                # A few distrusted legacy roots have non-positive serials (RFC 5280
                # forbids them); cryptography warns but loads them. Not ours to fix.
                warnings.simplefilter("ignore")
                certs = x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError):
            continue  # hash symlinks to non-PEM files, unreadable entries: skip like OpenSSL
        for cert in certs:
            der = cert.tbs_certificate_bytes + cert.signature
            if der not in seen:
                seen.add(der)
                anchors.append(cert)
    if not anchors:
        raise CertificateError(f"no trust anchors found in {cafile} or {capath}")
    return tuple(anchors)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
