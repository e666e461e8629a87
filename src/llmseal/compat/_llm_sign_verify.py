"""Parsing an ``llm_sign`` envelope and checking its blocks (notes §2, steps 1 and 4-6).

Each check of llm_sign's ``verify_chain`` is kept (shape, links, block-type
order, signatures, payload pins) and the gaps are closed: every block must
name the pinned issuer and the leaf's key id, and the visible response (and
the request, when given) is pinned to the last output (input) block.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmseal.compat import _llm_sign_wire as wire
from llmseal.errors import ContentError, InputError
from llmseal.trust.x509.chain import ChainFailure, ValidatedChain

if TYPE_CHECKING:
    from llmseal.compat.llm_sign import LlmSignStatus

__all__ = ["Envelope", "check_blocks", "parse_envelope"]

MAX_BLOCKS = 256
_ORDER: dict[
    str, set[str | None]
] = {  # block type -> types allowed right before it (None: chain start)
    wire.INPUT: {None, wire.OUTPUT, wire.TOOL_RESULT},
    wire.OUTPUT: {wire.INPUT},
    wire.TOOL_RESULT: {wire.OUTPUT, wire.TOOL_RESULT},
}


@dataclass(frozen=True, slots=True)
class Envelope:
    blocks: tuple[wire.Block, ...]
    signatures: tuple[bytes, ...]
    chain: list[str]


def parse_envelope(response: Any) -> Envelope | None:
    """The envelope of ``response``, None if it has none; InputError if malformed."""
    if not isinstance(response, Mapping):
        raise InputError("an llm_sign response must be a JSON object")
    envelope = response.get("llm_sign")
    if envelope is None:
        return None
    if not isinstance(envelope, Mapping) or not isinstance(envelope.get("artifact"), Mapping):
        raise InputError("llm_sign must be an object with an 'artifact' object")
    artifact = envelope["artifact"]
    _check_protocol(artifact)
    platform = artifact.get("platform", "openai-compatible")
    if not isinstance(platform, str) or platform.lower().replace("_", "-") not in _PLATFORMS:
        raise InputError(f"llm_sign platform {platform!r} is not supported (chat completions only)")
    entries = artifact.get("chain", artifact.get("signed_blocks"))
    if not isinstance(entries, list) or not 0 < len(entries) <= MAX_BLOCKS:
        raise InputError(f"llm_sign artifact chain must be a list of 1-{MAX_BLOCKS} blocks")
    common = artifact.get("common", {})
    if not isinstance(common, Mapping):
        raise InputError("llm_sign artifact 'common' must be an object")
    blocks, signatures = [], []
    for item in entries:
        if not isinstance(item, Mapping):
            raise InputError("llm_sign chain entries must be objects")
        blocks.append(wire.Block.from_wire(item.get("block"), common))
        signatures.append(wire.unb64url(item.get("signature"), "signature"))
    chain = envelope.get("certificate_chain", artifact.get("certificate_chain"))
    if not isinstance(chain, list) or not chain or not all(isinstance(c, str) for c in chain):
        raise InputError("llm_sign certificate_chain must be a non-empty list of PEM strings")
    return Envelope(tuple(blocks), tuple(signatures), chain)


_PLATFORMS = frozenset(
    {"openai-compatible", "openai", "chat-completions", "chat-completion", "vllm"}
    | {"vllm-openai", "vllm-chat"}
)


def _check_protocol(artifact: Mapping[str, Any]) -> None:
    protocol = artifact.get("protocol")
    if isinstance(protocol, Mapping):
        needed = protocol.get("min_reader_version")
        if isinstance(needed, int) and needed > 1:
            raise InputError(f"llm_sign protocol version {needed} is newer than this reader (1)")


def check_blocks(
    envelope: Envelope,
    validated: ValidatedChain,
    name: str,
    *,
    response: Mapping[str, Any],
    request: Mapping[str, Any] | None,
) -> tuple[LlmSignStatus | None, list[str], ChainFailure | None]:
    """(status, reasons, failure code) of the block checks; status None when all pass."""
    from llmseal.compat.llm_sign import LlmSignStatus

    untrusted: list[str] = []
    tampered: list[str] = []
    failure = None
    blocks = envelope.blocks
    for block in blocks:
        if block.issuer != name:
            untrusted.append(f"seq {block.seq}: issuer {block.issuer!r} is not {name!r}")
        if block.key_id != validated.key_id:
            failure = ChainFailure.KEY_MISMATCH
            untrusted.append(f"seq {block.seq}: key_id is not the leaf's ({validated.key_id})")
    tampered.extend(_structure(blocks))
    for block, signature in zip(blocks, envelope.signatures, strict=True):
        if not wire.verify_digest(validated.public_key, block.suite_id, signature, block.digest()):
            tampered.append(f"seq {block.seq}: signature does not verify with the leaf key")
    tampered.extend(_pins(blocks, response, request))
    if untrusted:
        return LlmSignStatus.UNTRUSTED, untrusted + tampered, failure
    if tampered:
        return LlmSignStatus.TAMPERED, tampered, None
    return None, [], None


def _structure(blocks: tuple[wire.Block, ...]) -> list[str]:
    problems: list[str] = []
    previous: wire.Block | None = None
    for block in blocks:
        allowed = _ORDER.get(block.type)
        if allowed is None:
            problems.append(f"seq {block.seq}: unsupported block type {block.type!r}")
        elif (previous.type if previous else None) not in allowed:
            problems.append(f"seq {block.seq}: a {block.type} block cannot come here")
        if previous is None:
            if block.prev_block_digest is not None:
                problems.append(f"seq {block.seq}: the first block links to a previous one")
        else:
            if block.seq != previous.seq + 1:
                problems.append(f"seq {block.seq}: sequence gap after {previous.seq}")
            if block.suite_id != previous.suite_id:
                problems.append(f"seq {block.seq}: suite_id changes within the chain")
            link = block.prev_block_digest
            if link is None or not hmac.compare_digest(link, previous.digest()):
                problems.append(f"seq {block.seq}: prev_block_digest does not match")
        previous = block
    if blocks[-1].type != wire.OUTPUT:
        problems.append("the chain does not end with a provider_output block")
    return problems


def _pins(
    blocks: tuple[wire.Block, ...],
    response: Mapping[str, Any],
    request: Mapping[str, Any] | None,
) -> list[str]:
    """Pin the visible response (always) and the request (when given) to the last blocks."""
    problems: list[str] = []
    pins: list[tuple[str, wire.Profile, Any, str]] = [
        (wire.OUTPUT, wire.CHAT_OUTPUT, response, "response")
    ]
    if request is not None:
        pins.append((wire.INPUT, wire.CHAT_INPUT, request, "request"))
    for kind, profile, body, what in pins:
        last = next((b for b in reversed(blocks) if b.type == kind), None)
        if last is None:
            problems.append(f"no {kind} block to pin the {what} to")
            continue
        try:
            digest = profile.digest(last.suite_id, body)
        except ContentError as exc:
            if what == "request":
                raise
            problems.append(f"the {what} body cannot be what was signed: {exc}")
            continue
        if last.profile_id != profile.profile_id or not hmac.compare_digest(
            digest, last.payload_digest
        ):
            problems.append(f"seq {last.seq}: the {what} does not match its payload digest")
    return problems
