"""llmseal: signed, verifiable receipts for LLM responses.

Every response an issuer serves through llmseal carries a receipt (Attested
AI-Assisted Work v0.3): request hash, response hash, model, time, nonce and key
id, signed with Ed25519 over RFC 8785 canonical JSON. Anyone verifies it offline::

    from llmseal import KeySet, verify_receipt
    keys = KeySet.from_json(open("keys.json", "rb").read())
    result = verify_receipt(receipt, keys, prompt=request_body, output=response_body)
    result.raise_for_status()   # fail closed
"""

from __future__ import annotations

from importlib import metadata as _metadata

from llmseal.core.canonical import canonicalize
from llmseal.core.hashing import StreamHasher, hash_json, hash_response
from llmseal.core.keys import EcdsaP256Signer, Ed25519Signer, PublicKey, Signer
from llmseal.core.keyset import KeyEntry, KeyResolver, KeySet
from llmseal.core.receipt import Receipt
from llmseal.core.sign import issue_receipt, sign_exchange
from llmseal.core.verify import Status, Verification, verify_hashes, verify_receipt
from llmseal.errors import (
    BindingError,
    CanonicalizationError,
    ConfigError,
    ContentError,
    Error,
    InputError,
    KeyManagementError,
    KeySetError,
    MalformedReceiptError,
    NetworkError,
    PolicyError,
    ReceiptRequiredError,
    ReplayError,
    StoreError,
    VerificationError,
)


def _installed_version() -> str:
    """The version pip installed (pyproject.toml is its one source)."""
    try:
        return _metadata.version("llmseal")
    except _metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
        return "0+unknown"


__version__ = _installed_version()

__all__ = [
    "BindingError",
    "CanonicalizationError",
    "ConfigError",
    "ContentError",
    "EcdsaP256Signer",
    "Ed25519Signer",
    "Error",
    "InputError",
    "KeyEntry",
    "KeyManagementError",
    "KeyResolver",
    "KeySet",
    "KeySetError",
    "MalformedReceiptError",
    "NetworkError",
    "PolicyError",
    "PublicKey",
    "Receipt",
    "ReceiptRequiredError",
    "ReplayError",
    "Signer",
    "Status",
    "StoreError",
    "StreamHasher",
    "Verification",
    "VerificationError",
    "__version__",
    "canonicalize",
    "hash_json",
    "hash_response",
    "issue_receipt",
    "sign_exchange",
    "verify_hashes",
    "verify_receipt",
]
