"""A lab's model-certificate authority on disk: ``llmseal ca``.

Layout (seed 000, "root CA → intermediate → leaf")::

    DIR/                          mode 0700
      ca.json                     domain, organisation, issued certificates, revocations
      root.pem   root.key         the root (keep root.key offline once set up), 0600 key
      intermediate.pem/.key       the "Model Signing Authority" that signs leaves and CRLs
      crl.pem                     the latest CRL of the intermediate (``ca crl``)
      models/<model>/<serial>/
        cert.pem                  the leaf
        chain.pem                 leaf + intermediate: what travels beside receipts (x5c)
        key.pem                   the leaf key, 0600

Private keys are created with ``O_EXCL`` mode 0600 and never overwritten;
``ca.json`` and ``crl.pem`` are replaced atomically; an exclusive ``flock``
serializes concurrent runs. Nothing here reads the clock: every time is ``at=``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from llmseal.core import _time
from llmseal.core.canonical import loads
from llmseal.errors import ConfigError, ContentError, KeyManagementError
from llmseal.trust.keydir import (
    KeyDirectory,
    locked_directory,
    private_key_pem,
    read_private_key,
    write_atomic,
    write_private,
)
from llmseal.trust.x509 import profile
from llmseal.trust.x509.pem import load_anchor_file

__all__ = ["CertificateAuthority", "IssuedCertificate"]

_REASONS = {flag.value: flag for flag in x509.ReasonFlags}


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """A leaf issued by ``ca issue`` and where its files are."""

    model: str
    serial: str
    key_id: str
    dns_names: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    directory: Path

    @property
    def cert_path(self) -> Path:
        return self.directory / "cert.pem"

    @property
    def chain_path(self) -> Path:
        return self.directory / "chain.pem"

    @property
    def key_path(self) -> Path:
        return self.directory / "key.pem"


class CertificateAuthority:
    """The CA directory of one lab."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @property
    def root_path(self) -> Path:
        """The root certificate: what verifiers pin as their trust anchor."""
        return self.path / "root.pem"

    @property
    def intermediate_path(self) -> Path:
        return self.path / "intermediate.pem"

    @property
    def crl_path(self) -> Path:
        return self.path / "crl.pem"

    @property
    def state_path(self) -> Path:
        return self.path / "ca.json"

    # -- setup ------------------------------------------------------------

    def init(
        self,
        *,
        domain: str,
        org: str,
        at: datetime,
        root_days: int = profile.ROOT_DAYS,
        intermediate_days: int = profile.INTERMEDIATE_DAYS,
    ) -> None:
        """Create the root and the intermediate; refuses a directory that has a CA."""
        domain = profile.check_dns_name(domain)
        if not org.strip():
            raise ConfigError("the organisation name must not be empty")
        with self._locked():
            if self.state_path.exists():
                raise KeyManagementError(f"{self.path} already holds a CA")
            root_key = ec.generate_private_key(ec.SECP256R1())
            root = profile.build_root(root_key, org=org, at=at, days=root_days)
            key = ec.generate_private_key(ec.SECP256R1())
            inter = profile.build_intermediate(
                key, root, root_key, org=org, at=at, days=intermediate_days
            )
            write_private(self.path / "root.key", private_key_pem(root_key))
            write_private(self.path / "intermediate.key", private_key_pem(key))
            write_atomic(self.root_path, _pem(root))
            write_atomic(self.intermediate_path, _pem(inter))
            state = {"version": 1, "domain": domain, "org": org, "crl_number": 0}
            self._save(state | {"certificates": [], "revocations": []})

    # -- leaves -----------------------------------------------------------

    def issue(
        self,
        model: str,
        *,
        at: datetime,
        dns_names: Sequence[str] = (),
        days: int = profile.LEAF_DAYS,
        algorithm: str = "ecdsa-p256",
        keydir: KeyDirectory | None = None,
    ) -> IssuedCertificate:
        """Issue a leaf for ``model`` with a fresh key (default name ``<model>.models.<domain>``).

        With ``keydir`` the leaf key is also added to that key directory under its
        ``spki-sha256:`` key id, so ``llmseal sign`` / the gateway can sign with it.
        """
        if not model or any(ch in model for ch in "/\\\x00") or model.startswith("."):
            raise ConfigError(f"model name {model!r} cannot be a directory name")
        with self._locked():
            state = self._state()
            names = list(dns_names) or [profile.model_dns_name(model, state["domain"])]
            key = _leaf_key(algorithm)
            inter_key = self._ca_key("intermediate")
            leaf = profile.build_leaf(
                key.public_key(),
                self.intermediate(),
                inter_key,
                model=model,
                org=state["org"],
                dns_names=names,
                at=at,
                days=days,
            )
            serial = format(leaf.serial_number, "x")
            directory = self.path / "models" / model / serial
            directory.mkdir(mode=0o700, parents=True)
            write_private(directory / "key.pem", private_key_pem(key))
            write_atomic(directory / "cert.pem", _pem(leaf))
            write_atomic(directory / "chain.pem", _pem(leaf) + _pem(self.intermediate()))
            issued = IssuedCertificate(
                model=model,
                serial=serial,
                key_id=profile.spki_key_id(key.public_key()),
                dns_names=tuple(profile.check_dns_name(n) for n in names),
                not_before=leaf.not_valid_before_utc,
                not_after=leaf.not_valid_after_utc,
                directory=directory,
            )
            state["certificates"].append(_record(issued))
            self._save(state)
        if keydir is not None:
            keydir.import_key(issued.key_id, key, at=leaf.not_valid_before_utc)
        return issued

    def certificates(self) -> list[dict[str, Any]]:
        """The issued leaves as recorded in ``ca.json`` (oldest first), with ``revoked_at``."""
        state = self._state()
        revoked = {r["serial"]: r["revoked_at"] for r in state["revocations"]}
        return [
            record | {"revoked_at": revoked.get(record["serial"])}
            for record in state["certificates"]
        ]

    # -- revocation -------------------------------------------------------

    def revoke(
        self,
        target: str,
        *,
        at: datetime,
        reason: str | None = None,
        compromised_since: datetime | None = None,
        crl_days: int = 7,
    ) -> profile.Revocation:
        """Revoke a leaf (by serial, or a model's newest leaf) and publish a new CRL."""
        if reason is not None and reason not in _REASONS:
            raise ConfigError(f"unknown CRL reason {reason!r}; one of {sorted(_REASONS)}")
        with self._locked():
            state = self._state()
            record = _find(state["certificates"], target)
            if any(r["serial"] == record["serial"] for r in state["revocations"]):
                raise KeyManagementError(f"certificate {record['serial']} is already revoked")
            entry = {
                "serial": record["serial"],
                "revoked_at": _time.format_utc(at),
                "reason": reason,
                "compromised_since": (
                    _time.format_utc(compromised_since) if compromised_since else None
                ),
            }
            state["revocations"].append(entry)
            self._save(state)
        self.publish_crl(at=at, days=crl_days)
        return _revocation(entry)

    def publish_crl(self, *, at: datetime, days: int = 7, out: Path | None = None) -> Path:
        """Sign a CRL of all revoked leaves with the intermediate; write ``crl.pem`` or ``out``."""
        with self._locked():
            state = self._state()
            state["crl_number"] += 1
            crl = profile.build_crl(
                self.intermediate(),
                self._ca_key("intermediate"),
                [_revocation(r) for r in state["revocations"]],
                at=at,
                number=state["crl_number"],
                days=days,
            )
            self._save(state)
            target = out or self.crl_path
            write_atomic(target, crl.public_bytes(serialization.Encoding.PEM))
            return target

    # -- reading ----------------------------------------------------------

    def root(self) -> x509.Certificate:
        return load_anchor_file(self.root_path)[0]

    def intermediate(self) -> x509.Certificate:
        return load_anchor_file(self.intermediate_path)[0]

    def info(self) -> dict[str, Any]:
        state = self._state()
        return {"domain": state["domain"], "org": state["org"]}

    def _ca_key(self, name: str) -> ec.EllipticCurvePrivateKey:
        key = read_private_key(self.path / f"{name}.key")
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyManagementError(f"{name}.key is not an ECDSA P-256 key")
        return key

    def _state(self) -> dict[str, Any]:
        try:
            data = loads(self.state_path.read_bytes())
        except FileNotFoundError:
            raise KeyManagementError(f"{self.path} is not a CA directory (run: ca init)") from None
        except (OSError, ContentError) as exc:
            raise KeyManagementError(f"cannot read {self.state_path}: {exc}") from exc
        if not isinstance(data, dict) or data.get("version") != 1:
            raise KeyManagementError(f"{self.state_path} is not a version 1 CA state file")
        return data

    def _save(self, state: dict[str, Any]) -> None:
        write_atomic(self.state_path, orjson.dumps(state, option=orjson.OPT_INDENT_2) + b"\n")

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return locked_directory(self.path)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _leaf_key(algorithm: str) -> profile.LeafKey:
    if algorithm == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ConfigError(f"unsupported leaf algorithm {algorithm!r} (ecdsa-p256 or ed25519)")


def _record(issued: IssuedCertificate) -> dict[str, Any]:
    return {
        "model": issued.model,
        "serial": issued.serial,
        "key_id": issued.key_id,
        "dns_names": list(issued.dns_names),
        "not_before": _time.format_utc(issued.not_before),
        "not_after": _time.format_utc(issued.not_after),
        "directory": str(issued.directory),
    }


def _find(records: list[dict[str, Any]], target: str) -> dict[str, Any]:
    lowered = target.lower().removeprefix("0x")
    by_serial = [r for r in records if r["serial"] == lowered]
    if by_serial:
        return by_serial[0]
    by_model = [r for r in records if r["model"] == target]
    if by_model:
        return by_model[-1]
    raise KeyManagementError(f"no certificate with serial or model {target!r}")


def _revocation(entry: dict[str, Any]) -> profile.Revocation:
    since = entry.get("compromised_since")
    reason = entry.get("reason")
    return profile.Revocation(
        serial=int(entry["serial"], 16),
        revoked_at=_time.parse_lenient(entry["revoked_at"]),
        reason=_REASONS[reason] if reason else None,
        compromised_since=_time.parse_lenient(since) if since else None,
    )
