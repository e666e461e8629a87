"""llm_sign 0.2.0 wire format, implemented from its description (shared/notes/llm_sign.md).

§1.2 primitives: ``text = 0x01 || len64 || utf8``, ``uint64 = 0x02 || be64``,
``bytes = 0x03 || len64 || b``, ``null = 0x04``, ``field = text(name) || value``.
§1.3 digests::

    payload_digest = SHA256(text("llm-sign.payload.v1") || text(suite) || text(profile)
                            || bytes(canonical_payload))
    block_digest   = SHA256(text("llm-sign.block.v1") || text(suite) || bytes(encode_block))

§1.4 canonical JSON is CPython's ``json.dumps(sort_keys=True, separators=(",",":"),
ensure_ascii=False, allow_nan=False)`` — not RFC 8785 — over a whitelist
projection of the body (§1.7). §1.5 suites sign the 32-byte block digest.

Parsing is stricter than llm_sign's reader: members must have their JSON types
(no ``"seq": "0"``), base64url must be canonical and unpadded, so one artifact
has one accepted spelling.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from llmseal.errors import ContentError, InputError

__all__ = [
    "CHAT_INPUT",
    "CHAT_OUTPUT",
    "INPUT",
    "OUTPUT",
    "SUITES",
    "Block",
    "Profile",
    "b64url",
    "canonical_json",
    "payload_digest",
    "sign_digest",
    "suite_for_key",
    "unb64url",
    "verify_digest",
]

INPUT = "provider_received_input"
OUTPUT = "provider_output"
TOOL_RESULT = "tool_result"
ED25519 = "sha256-ed25519-v1"
ECDSA_P256 = "sha256-ecdsa-p256-v1"
RSA_PSS = "sha256-rsa-pss-v1"
SUITES = (ED25519, ECDSA_P256, RSA_PSS)
_IDENT = re.compile(r"\A[\x21-\x7e]{1,128}\Z")
_B64URL = re.compile(r"\A[A-Za-z0-9_-]*\Z")


def _text(value: str) -> bytes:
    data = value.encode("utf-8")
    return b"\x01" + len(data).to_bytes(8, "big") + data


def _bytes(value: bytes) -> bytes:
    return b"\x03" + len(value).to_bytes(8, "big") + value


_PAYLOAD_TAG = _text("llm-sign.payload.v1")
_BLOCK_TAG = _text("llm-sign.block.v1")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(value: Any, what: str) -> bytes:
    """Strict unpadded base64url; InputError otherwise."""
    if not isinstance(value, str) or not _B64URL.match(value) or len(value) % 4 == 1:
        raise InputError(f"llm_sign {what} is not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"llm_sign {what} is not unpadded base64url") from exc
    if b64url(raw) != value:
        raise InputError(f"llm_sign {what} is not canonical base64url")
    return raw


def canonical_json(value: Any) -> bytes:
    """llm_sign's canonical JSON (§1.4); ContentError for what it refuses."""
    _check_json(value, 0)
    try:
        text = json.dumps(
            value, ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
        )
    except (TypeError, ValueError, RecursionError) as exc:
        raise ContentError(f"llm_sign canonical JSON: {exc}") from exc
    return text.encode("utf-8")


def _check_json(value: Any, depth: int) -> None:
    if depth > 256:
        raise ContentError("llm_sign canonical JSON: nesting too deep")
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ContentError("llm_sign canonical JSON: non-finite number")
        return
    if isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ContentError("llm_sign canonical JSON: object keys must be strings")
            _check_json(item, depth + 1)
        return
    raise ContentError(f"llm_sign canonical JSON: unsupported type {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Profile:
    """A payload profile (§1.7): which top-level members are signed."""

    profile_id: str
    include: frozenset[str]
    exclude: frozenset[str]
    required: frozenset[str]

    def canonical(self, body: Any) -> bytes:
        """Project ``body`` like ``project_openai_chat_*`` (drop unknown members); encode."""
        if not isinstance(body, Mapping):
            raise ContentError(f"{self.profile_id}: the body must be a JSON object")
        missing = self.required.difference(body)
        if missing:
            raise ContentError(f"{self.profile_id}: missing {', '.join(sorted(missing))}")
        return canonical_json({k: body[k] for k in sorted(self.include) if k in body})

    def digest(self, suite_id: str, body: Any) -> bytes:
        return payload_digest(suite_id, self.profile_id, self.canonical(body))


CHAT_INPUT = Profile(
    "openai.chat-completions.input.v1",
    frozenset(
        (
            "audio", "frequency_penalty", "function_call", "functions", "logit_bias",
            "max_completion_tokens", "max_tokens", "messages", "modalities", "model", "n",
            "parallel_tool_calls", "prediction", "presence_penalty", "reasoning_effort",
            "response_format", "seed", "stop", "temperature", "tool_choice", "tools", "top_p",
            "web_search_options",
        )
    ),
    frozenset(("metadata", "service_tier", "store", "stream", "stream_options", "user")),
    frozenset(("messages", "model")),
)  # fmt: skip
CHAT_OUTPUT = Profile(
    "openai.chat-completions.output.v1",
    frozenset(("choices", "model", "response_format")),
    frozenset(
        (
            "created", "id", "input_user", "metadata", "object", "request_id", "seed",
            "service_tier", "system_fingerprint", "tool_choice", "usage",
        )
    ),
    frozenset(("choices", "model")),
)  # fmt: skip


def payload_digest(suite_id: str, profile_id: str, canonical: bytes) -> bytes:
    data = _PAYLOAD_TAG + _text(suite_id) + _text(profile_id) + _bytes(canonical)
    return hashlib.sha256(data).digest()


@dataclass(frozen=True, slots=True)
class Block:
    """One signed block's metadata (§1.3 ``encode_block``)."""

    suite_id: str
    seq: int
    issuer: str
    key_id: str
    type: str
    profile_id: str
    prev_block_digest: bytes | None
    payload_digest: bytes
    version: str = "1"

    def encode(self) -> bytes:
        prev = b"\x04" if self.prev_block_digest is None else _bytes(self.prev_block_digest)
        return b"".join(
            (
                _text("version") + _text(self.version),
                _text("suite_id") + _text(self.suite_id),
                _text("seq") + b"\x02" + self.seq.to_bytes(8, "big"),
                _text("issuer") + _text(self.issuer),
                _text("key_id") + _text(self.key_id),
                _text("type") + _text(self.type),
                _text("profile_id") + _text(self.profile_id),
                _text("prev_block_digest") + prev,
                _text("payload_digest") + _bytes(self.payload_digest),
            )
        )

    def digest(self) -> bytes:
        data = _BLOCK_TAG + _text(self.suite_id) + _bytes(self.encode())
        return hashlib.sha256(data).digest()

    def to_wire(self) -> dict[str, Any]:
        """The per-block members the signer emits once ``common`` holds the rest."""
        prev = self.prev_block_digest
        return {
            "seq": self.seq,
            "type": self.type,
            "profile_id": self.profile_id,
            "prev_block_digest": None if prev is None else b64url(prev),
            "payload_digest": b64url(self.payload_digest),
        }

    @classmethod
    def from_wire(cls, data: Any, common: Mapping[str, Any]) -> Block:
        """Merge ``common`` under the block's own members (§1.1) and check every member."""
        if not isinstance(data, Mapping):
            raise InputError("llm_sign chain entry 'block' must be an object")
        merged = {**common, **data}
        seq = merged.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 1 << 64:
            raise InputError("llm_sign block 'seq' must be an unsigned 64-bit integer")
        if merged.get("version") != "1":
            raise InputError("llm_sign block 'version' must be \"1\"")
        names = ("suite_id", "issuer", "key_id", "type", "profile_id")
        idents = [merged.get(n) for n in names]
        for name, value in zip(names, idents, strict=True):
            if not isinstance(value, str) or not _IDENT.match(value):
                raise InputError(f"llm_sign block '{name}' must be 1-128 printable ASCII")
        suite_id, issuer, key_id, kind, profile_id = (str(v) for v in idents)
        prev = merged.get("prev_block_digest")
        return cls(
            suite_id=suite_id,
            seq=seq,
            issuer=issuer,
            key_id=key_id,
            type=kind,
            profile_id=profile_id,
            prev_block_digest=None if prev is None else _digest32(prev, "prev_block_digest"),
            payload_digest=_digest32(merged.get("payload_digest"), "payload_digest"),
        )


def _digest32(value: Any, what: str) -> bytes:
    raw = unb64url(value, what)
    if len(raw) != 32:
        raise InputError(f"llm_sign {what} must be 32 bytes")
    return raw


def suite_for_key(key: Any) -> str | None:
    """The suite id for a public or private key, or None if llm_sign has none for it."""
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return ED25519
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return ECDSA_P256 if isinstance(key.curve, ec.SECP256R1) else None
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return RSA_PSS
    return None


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def sign_digest(key: Any, digest: bytes) -> bytes:
    """Sign a block digest (§1.5): Ed25519 raw, ECDSA/RSA-PSS over the prehashed digest."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(digest)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(digest, _pss(), utils.Prehashed(hashes.SHA256()))
    raise InputError("llm_sign signs with Ed25519, ECDSA P-256 or RSA keys only")


def verify_digest(key: Any, suite_id: str, signature: bytes, digest: bytes) -> bool:
    """True iff ``signature`` is ``suite_id``'s signature of ``digest`` by ``key``."""
    if suite_for_key(key) != suite_id or not signature:
        return False
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, digest, _pss(), utils.Prehashed(hashes.SHA256()))
        else:  # pragma: no cover - suite_for_key covers every type above
            return False
    except (InvalidSignature, ValueError):
        return False
    return True
