"""Speak llm_sign 0.2.0 both ways, and close its gaps when verifying (seed 003).

* :class:`LlmSignIssuer` produces the ``llm_sign`` member of a chat completion
  that ``llm_sign.client.verify_openai_response(resp, trust_anchors=[ca],
  expected_host=HOST, request=req)`` accepts: a two-block chain (request,
  response) signed with a certificate key, the chain PEMs beside it.
* :func:`verify_llm_sign` checks such a response with our
  :class:`~llmseal.trust.x509.chain.ChainValidator` (trust store loaded once, chains
  cached) and closes the gaps of llm_sign's own client (notes §7):

  - the expected issuer is **pinned by the verifier**; the artifact's claim
    must equal it and the leaf must be valid for it (a relay with its own
    certificate fails, gap 1) — with no pin the result is ``unpinned``;
  - the signed ``key_id`` must be the leaf's SPKI key id (gap 5);
  - a response without an envelope is ``missing``, a failure (gap 6);
  - the request is bound when the caller supplies it (gap 2).

  llm_sign artifacts carry no signing time, so the chain is validated at the
  ``at`` the caller passes (the CLI: now).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from llmseal.compat import _llm_sign_wire as wire
from llmseal.errors import ChainValidationError, KeyManagementError
from llmseal.trust.keydir import read_private_key
from llmseal.trust.x509.chain import ChainFailure, ChainValidator, ValidatedChain
from llmseal.trust.x509.pem import chain_to_pem, parse_pem_bundle
from llmseal.trust.x509.profile import spki_key_id

__all__ = ["LlmSignIssuer", "LlmSignStatus", "LlmSignVerification", "verify_llm_sign"]

SCHEMA = "llm-sign.artifact.v1"


class LlmSignIssuer:
    """Signs chat completion exchanges in llm_sign's format with a certificate key."""

    def __init__(
        self, chain: Sequence[x509.Certificate], private_key: Any, *, issuer: str | None = None
    ) -> None:
        if not chain:
            raise KeyManagementError("the llm_sign certificate chain is empty")
        leaf = chain[0]
        der = serialization.Encoding.DER
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        if private_key.public_key().public_bytes(der, spki) != leaf.public_key().public_bytes(
            der, spki
        ):
            raise KeyManagementError("the llm_sign key does not match the leaf certificate")
        suite = wire.suite_for_key(private_key)
        if suite is None:
            raise KeyManagementError("llm_sign signs with Ed25519, ECDSA P-256 or RSA keys only")
        self.suite_id = suite
        self.issuer = issuer or _first_dns_name(leaf)
        self.key_id = spki_key_id(leaf.public_key())
        self.chain_pem = chain_to_pem(chain)
        self._key = private_key

    @classmethod
    def from_files(
        cls, chain_pem_path: str | Path, key_path: str | Path, *, issuer: str | None = None
    ) -> LlmSignIssuer:
        """Leaf-first PEM chain file and its 0600 PEM key (Ed25519 or P-256)."""
        try:
            data = Path(chain_pem_path).read_bytes()
        except OSError as exc:
            raise KeyManagementError(f"cannot read {chain_pem_path}: {exc.strerror}") from exc
        chain = parse_pem_bundle(data, str(chain_pem_path))
        return cls(chain, read_private_key(Path(key_path)), issuer=issuer)

    def envelope(self, request: Mapping[str, Any], response: Mapping[str, Any]) -> dict[str, Any]:
        """The value of the response's ``llm_sign`` member for this exchange.

        Members outside llm_sign's profiles (``receipt``, vendor extensions) are
        left out of what is signed, exactly as its client projects them.

        Raises:
            ContentError: the bodies are not a chat completion request/response
                (no ``messages``/``choices``/``model``, or not JSON values).
        """
        first = self._block(0, wire.INPUT, wire.CHAT_INPUT, request, None)
        second = self._block(1, wire.OUTPUT, wire.CHAT_OUTPUT, response, first[0].digest())
        chain = [
            {"block": b.to_wire(), "signature": wire.b64url(sig)} for b, sig in (first, second)
        ]
        artifact = {
            "schema": SCHEMA,
            "protocol": {"version": 1, "min_reader_version": 1},
            "platform": "openai-compatible",
            "common": {
                "version": "1",
                "suite_id": self.suite_id,
                "issuer": self.issuer,
                "key_id": self.key_id,
            },
            "chain": chain,
        }
        return {
            "artifact": artifact,
            "certificate_chain": list(self.chain_pem),
            "artifact_hash": wire.b64url(second[0].digest()),
        }

    def _block(
        self, seq: int, kind: str, profile: wire.Profile, body: Any, prev: bytes | None
    ) -> tuple[wire.Block, bytes]:
        block = wire.Block(
            suite_id=self.suite_id,
            seq=seq,
            issuer=self.issuer,
            key_id=self.key_id,
            type=kind,
            profile_id=profile.profile_id,
            prev_block_digest=prev,
            payload_digest=profile.digest(self.suite_id, body),
        )
        return block, wire.sign_digest(self._key, block.digest())

    def __repr__(self) -> str:  # never show key material
        return f"LlmSignIssuer(issuer={self.issuer!r}, key_id={self.key_id!r})"


def _first_dns_name(leaf: x509.Certificate) -> str:
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    names = [n for n in (san.get_values_for_type(x509.DNSName) if san else []) if "*" not in n]
    if not names:
        raise KeyManagementError("the leaf certificate has no (non-wildcard) DNS name")
    return names[0]


class LlmSignStatus(StrEnum):
    """Outcome of :func:`verify_llm_sign`; only ``valid`` is a success."""

    VALID = "valid"
    MISSING = "missing"  # no envelope where one is required
    UNTRUSTED = "untrusted"  # chain, name, key binding or issuer claim refused
    REVOKED = "revoked"
    TAMPERED = "tampered"  # a signature, link or payload digest does not match
    UNPINNED = "unpinned"  # cryptographically fine, but no expected issuer was given


@dataclass(frozen=True, slots=True)
class LlmSignVerification:
    """The verdict on one llm_sign response. Truthy iff ``valid``."""

    status: LlmSignStatus
    reasons: tuple[str, ...] = ()
    issuer: str | None = None
    key_id: str | None = None
    failure: ChainFailure | None = None
    chain: ValidatedChain | None = None
    request_checked: bool = False

    def __bool__(self) -> bool:
        return self.status is LlmSignStatus.VALID

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status.value,
            "format": "llm_sign",
            "issuer": self.issuer,
            "key_id": self.key_id,
            "content_checked": ["prompt", "output"] if self.request_checked else ["output"],
            "reasons": list(self.reasons),
        }
        if self.failure is not None or self.chain is not None:
            out["x509"] = {"chain": self.failure or "ok"}
            if self.chain is not None:
                out["x509"].update(self.chain.describe())
        return out


def verify_llm_sign(
    response: Mapping[str, Any],
    validator: ChainValidator,
    *,
    at: datetime,
    issuer: str | None = None,
    request: Mapping[str, Any] | None = None,
) -> LlmSignVerification:
    """Verify a chat completion carrying an ``llm_sign`` envelope.

    Raises:
        InputError: the envelope is there but malformed, or uses a protocol
            version or platform this reader does not implement.
    """
    from llmseal.compat._llm_sign_verify import check_blocks, parse_envelope

    envelope = parse_envelope(response)
    if envelope is None:
        return LlmSignVerification(
            LlmSignStatus.MISSING, ("the response has no llm_sign envelope",)
        )
    claimed = envelope.blocks[0].issuer
    name = issuer or claimed
    key_id = envelope.blocks[0].key_id
    try:
        validated = validator.validate(envelope.chain, name=name, at=at)
        revoked_at = validator.revocations.revoked_at(validated.path)
    except ChainValidationError as exc:
        reason = f"certificate chain rejected ({exc.failure}): {exc}"
        return LlmSignVerification(
            LlmSignStatus.UNTRUSTED, (reason,), claimed, key_id, ChainFailure(exc.failure)
        )
    status, reasons, failure = check_blocks(
        envelope, validated, name, response=response, request=request
    )
    if revoked_at is not None and revoked_at <= at:
        status, failure = LlmSignStatus.REVOKED, ChainFailure.REVOKED
        reasons = [f"the leaf certificate is revoked since {revoked_at.isoformat()}", *reasons]
    elif status is None and issuer is None:
        status = LlmSignStatus.UNPINNED
        reasons = [f"signed by {claimed!r}, but no expected issuer was pinned (--issuer)"]
    return LlmSignVerification(
        status or LlmSignStatus.VALID,
        tuple(reasons),
        claimed,
        key_id,
        failure,
        validated,
        request_checked=request is not None,
    )
